"""Staff API with the runbooks' paths (/api/admin/trimp-*): settings, recalculation, statistics,
performance, method comparison and schema status."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.params import int_param
from core.errors import NotFoundError, ServiceError
from core.jobs import job_cancel
from core.models import Job
from core.permissions import IsStaff
from rollout.selectors import flag_changes, flag_overview_for
from training import selectors, services
from training.comparison import trimp_comparison
from training.config import current_settings, settings_dict
from training.models import TrimpSettingsChange
from training.recalculation import JOB_KIND, recalculation_start
from training.scoring import FLAG_NAME
from training.serializers import ComparisonSerializer, RecalculateSerializer, SettingsUpdateSerializer


class StaffView(APIView):
    permission_classes = [IsStaff]


def _flag_status() -> dict[str, Any] | None:
    overview = flag_overview_for(FLAG_NAME)
    return overview.as_dict() if overview else None


def _settings_body() -> dict[str, Any]:
    row = current_settings()
    changes = TrimpSettingsChange.objects.select_related("actor").order_by("-created_at", "-id")[:10]
    return {
        "settings": settings_dict(row),
        "updated_at": row.updated_at,
        "flag": _flag_status(),
        "flag_history": [
            {"created_at": change.at, "actor": change.actor, "reason": change.reason}
            for change in flag_changes(FLAG_NAME, limit=10)
        ],
        "recent_changes": [
            {
                "created_at": c.created_at,
                "actor": c.actor.username if c.actor else None,
                "reason": c.reason,
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ],
    }


class TrimpSettingsView(StaffView):
    """``GET``: the TRIMP settings, the flag's per-cohort state and recent changes. ``PUT``: change any of
    the settings (``reason`` recommended); answers whether a recalculation is recommended."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(_settings_body())

    @extend_schema(request=dict, responses={200: dict})
    def put(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ServiceError("validation_error", "send a JSON object of settings")
        meta = SettingsUpdateSerializer(data={"reason": request.data.get("reason", "")})
        meta.is_valid(raise_exception=True)
        changes = {key: value for key, value in request.data.items() if key != "reason"}
        if isinstance(changes.get("settings"), dict):  # also accept the GET shape back
            changes = changes["settings"]
        result = services.trimp_settings_update(
            actor=request.user, changes=changes, reason=meta.validated_data["reason"]
        )
        return Response(
            {
                **_settings_body(),
                "changed": result.change is not None,
                "recalculation_recommended": result.recalculation_recommended,
            }
        )


def _job_summary(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "status": job.status,
        "params": job.params,
        "progress": {"done": job.progress_done, "total": job.progress_total, "fraction": job.progress_fraction},
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "created_by": job.created_by.username if job.created_by else None,
    }


class RecalculateView(StaffView):
    """``POST``: start a recalculation (``scope`` all | athlete | since, ``athlete_id``, ``since``,
    ``dry_run``, ``reason``) → 202 with the job id. ``GET``: recent recalculation jobs."""

    @extend_schema(request=RecalculateSerializer, responses={202: dict})
    def post(self, request: Request) -> Response:
        payload = RecalculateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        job = recalculation_start(
            actor=request.user,
            athlete_id=values.get("athlete_id"),
            since=values.get("since"),
            dry_run=values["dry_run"],
            reason=values["reason"],
            trigger="api",
        )
        return Response(
            {
                "job_id": job.pk,
                "status": job.status,
                "dry_run": values["dry_run"],
                "status_url": f"/api/admin/trimp-recalculate/{job.pk}",
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(operation_id="admin_trimp_recalculate_list", responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response({"jobs": [_job_summary(job) for job in selectors.recalculation_jobs()]})


class RecalculationStatusView(StaffView):
    """``GET``: progress, ETA, counts, errors and (for a dry run) the comparison report. ``DELETE``: cancel."""

    def _job(self, job_id: int) -> Job:
        job = Job.objects.filter(pk=job_id, kind=JOB_KIND).first()
        if job is None:
            raise NotFoundError("not_found", f"Recalculation job {job_id} was not found.")
        return job

    @extend_schema(responses={200: dict})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(selectors.recalculation_status(self._job(job_id)))

    @extend_schema(responses={200: dict})
    def delete(self, request: Request, job_id: int) -> Response:
        job = self._job(job_id)
        cancelled = job_cancel(job=job)
        job.refresh_from_db()
        return Response({"job_id": job.pk, "cancelled": cancelled, "status": job.status})


class CalculationStatsView(StaffView):
    """Counts by method and reason, errors by code, recent errors."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response({"calculation_stats": selectors.calculation_stats(), "flag": _flag_status()})


class PerformanceMetricsView(StaffView):
    """Calculation durations per method, success rate, throughput (``hours``, default 24), recalculations."""

    @extend_schema(parameters=[OpenApiParameter("hours", int)], responses={200: dict})
    def get(self, request: Request) -> Response:
        hours = int_param(request.query_params, "hours", default=24, minimum=1, maximum=24 * 90) or 24
        return Response({"performance_metrics": selectors.performance_metrics(hours=hours)})


class ComparisonView(StaffView):
    """Stream vs average-HR TRIMP for ``activity_ids`` or a ``sample`` (optionally of ``athlete_id`` /
    ``since``): per-activity values and the distribution of the differences."""

    @extend_schema(request=ComparisonSerializer, responses={200: dict})
    def post(self, request: Request) -> Response:
        payload = ComparisonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        return Response(
            trimp_comparison(
                activity_ids=values.get("activity_ids"),
                sample=values.get("sample"),
                athlete_id=values.get("athlete_id"),
                since=values.get("since"),
                seed=values["seed"],
            )
        )


class SchemaStatusView(StaffView):
    """Tables, columns and indexes of the training models, present or missing."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        report = selectors.trimp_schema_status()
        return Response(report, status=status.HTTP_200_OK)
