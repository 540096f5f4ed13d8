"""Planning API: request a plan (a job), read a plan job, list the movement library."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.params import validated
from core.errors import NotFoundError, ServiceError
from core.permissions import is_staff_user, scope_to_user
from planning.models import Movement, PlanJob
from planning.serializers import (
    MovementQuerySerializer,
    MovementSerializer,
    PlanGenerateSerializer,
    PlanJobAcceptedSerializer,
    PlanJobSerializer,
)
from planning.services.plans import plan_job_request

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A retried request with the same key returns the same job.",
)


class PlanGenerateView(APIView):
    @extend_schema(
        request=PlanGenerateSerializer,
        responses={202: PlanJobAcceptedSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Queue a training plan (the runbook's POST /api/plans/generate)",
    )
    def post(self, request: Request) -> Response:
        data = validated(PlanGenerateSerializer, request.data)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 200:
            raise ServiceError("validation_error", "Idempotency-Key is longer than 200 characters.")
        plan_job, _ = plan_job_request(requester=request.user, data=data, idempotency_key=key)
        body = PlanJobAcceptedSerializer({"jobId": plan_job.job_id, "status": plan_job.status}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PlanJobView(APIView):
    @extend_schema(
        responses={200: PlanJobSerializer}, summary="A plan job: status, resultData {plan, scoring?}, timings"
    )
    def get(self, request: Request, job_id: Any) -> Response:
        visible = scope_to_user(PlanJob.objects.select_related("core_job"), request.user, field="user")
        plan_job = visible.filter(pk=job_id).first()
        if plan_job is None:
            raise NotFoundError("plan_job_not_found", f"Plan job {job_id} was not found.")
        return Response(PlanJobSerializer(plan_job).data)


class MovementListView(generics.ListAPIView):
    serializer_class = MovementSerializer

    @extend_schema(parameters=[MovementQuerySerializer], summary="The movement library (published unless staff ask)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        query = validated(MovementQuerySerializer, self.request.query_params)
        wanted = query.get("status", Movement.Status.PUBLISHED)
        if wanted != Movement.Status.PUBLISHED and not is_staff_user(self.request.user):
            raise ServiceError("permission_denied", "Only staff may list draft or archived movements.", status=403)
        movements = Movement.objects.filter(status=wanted).order_by("name")
        if "pattern" in query:
            movements = movements.filter(pattern=query["pattern"])
        if "level" in query:
            movements = movements.filter(level=query["level"])
        if "equipment" in query:
            ids = [pk for pk, needs in movements.values_list("pk", "equipment") if query["equipment"] in (needs or [])]
            movements = movements.filter(pk__in=ids)  # JSON containment differs between SQLite and PostgreSQL
        return movements
