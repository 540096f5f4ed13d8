"""Readiness API: sessions, check-ins, baselines, the athlete's model and ``recommendations/generate``.

Ownership from ``core.permissions``: an athlete acts for themselves, a coach for linked athletes, staff for
anyone; others answer 404 in the error shape. The SSE stream lives in ``stream.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.params import int_param, uuid_param, validated
from core.errors import NotFoundError, ServiceError
from core.permissions import athlete_for_user, can_access_athlete
from planning.readiness import engine, selectors, services
from planning.readiness.model import phase_for
from planning.readiness.recommend import CheckInValues
from planning.readiness.serializers import (
    BaselineInput,
    BaselineOutput,
    CheckInInput,
    CheckInOutput,
    CheckInUpdate,
    SessionInput,
    SessionOutput,
    SessionUpdate,
)


def prepare_request(user: Any, data: Any) -> engine.Context:
    """Validate a check-in body, resolve the athlete (404 when not visible) and load the engine context."""
    if not isinstance(data, dict):
        raise ServiceError("validation_error", "The body must be a JSON object.")
    values = validated(CheckInInput, data)
    athlete = athlete_for_user(user, values.get("user_id") or values.get("athlete_id"))
    checkin = CheckInValues(
        sleep_hours=values["sleep_hours"],
        energy_level=values["energy_level"],
        stress_level=values["stress_level"],
        soreness=values.get("soreness"),
        motivation=values.get("motivation"),
        pain_reported=values.get("pain_reported", False),
    )
    return engine.load_context(athlete=athlete, checkin=checkin, day=values.get("date") or timezone.localdate())


class GenerateView(APIView):
    """``POST``: the pre-session answer as one JSON document (the stream's events by name)."""

    @extend_schema(request=CheckInInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        events = engine.answer(prepare_request(request.user, request.data))
        return Response({"events": [name for name, _ in events], **dict(events)})


def _athlete_filter(request: Request, queryset: Any, field: str = "athlete") -> Any:
    athlete_id = int_param(request.query_params, "athlete", minimum=1)
    return queryset if athlete_id is None else queryset.filter(**{f"{field}_id": athlete_id})


class SessionListView(generics.ListAPIView):
    """``GET``: sessions you may see (``?athlete=``, ``?plan_job=<job_id>`` for the sessions linked to one plan).
    ``POST``: create one (planned, or completed with a quality; linked to a plan session with ``plan_job_id`` and
    ``plan_day``)."""

    serializer_class = SessionOutput

    def get_queryset(self) -> Any:
        sessions = _athlete_filter(self.request, selectors.sessions_visible(self.request.user))
        plan_job_id = uuid_param(self.request.query_params, "plan_job")
        return sessions if plan_job_id is None else sessions.filter(plan_job_id=plan_job_id)

    @extend_schema(
        parameters=[
            OpenApiParameter("athlete", int, description="only this athlete's sessions"),
            OpenApiParameter("plan_job", OpenApiTypes.UUID, description="only the sessions linked to this plan job"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SessionInput, responses={201: SessionOutput})
    def post(self, request: Request) -> Response:
        values = validated(SessionInput, request.data)
        athlete = athlete_for_user(request.user, values.pop("athlete_id", None))
        session = services.session_create(athlete=athlete, actor=request.user, **values)
        return Response(SessionOutput(session).data, status=status.HTTP_201_CREATED)


class SessionDetailView(APIView):
    """``GET``/``PATCH`` one session (completing it updates the athlete's model after commit)."""

    def _get(self, request: Request, pk: int) -> Any:
        session = selectors.sessions_visible(request.user).filter(pk=pk).first()
        if session is None:
            raise NotFoundError("not_found", f"Session {pk} was not found.")
        return session

    @extend_schema(responses={200: SessionOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(SessionOutput(self._get(request, pk)).data)

    @extend_schema(request=SessionUpdate, responses={200: SessionOutput})
    def patch(self, request: Request, pk: int) -> Response:
        session = self._get(request, pk)
        values = validated(SessionUpdate, request.data)
        values.pop("athlete_id", None)
        session = services.session_update(session=session, actor=request.user, **values)
        return Response(SessionOutput(session).data)


class CheckInListView(generics.ListAPIView):
    """``GET``: check-ins you may see (``?athlete=``). ``POST``: record one."""

    serializer_class = CheckInOutput

    def get_queryset(self) -> Any:
        return _athlete_filter(self.request, selectors.checkins_visible(self.request.user))

    @extend_schema(request=CheckInInput, responses={201: CheckInOutput})
    def post(self, request: Request) -> Response:
        values = validated(CheckInInput, request.data)
        athlete = athlete_for_user(request.user, values.pop("user_id", None) or values.pop("athlete_id", None))
        values.pop("athlete_id", None)
        checkin = services.checkin_create(
            athlete=athlete, day=values.pop("date", None) or timezone.localdate(), **values
        )
        return Response(CheckInOutput(checkin).data, status=status.HTTP_201_CREATED)


class CheckInDetailView(APIView):
    """``GET``/``PATCH`` one check-in."""

    def _get(self, request: Request, pk: int) -> Any:
        checkin = selectors.checkins_visible(request.user).filter(pk=pk).first()
        if checkin is None:
            raise NotFoundError("not_found", f"Check-in {pk} was not found.")
        return checkin

    @extend_schema(responses={200: CheckInOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(CheckInOutput(self._get(request, pk)).data)

    @extend_schema(request=CheckInUpdate, responses={200: CheckInOutput})
    def patch(self, request: Request, pk: int) -> Response:
        checkin = self._get(request, pk)
        values = validated(CheckInUpdate, request.data)
        for key in ("user_id", "athlete_id"):
            values.pop(key, None)
        return Response(CheckInOutput(services.checkin_update(checkin=checkin, **values)).data)


class BaselineListView(generics.ListAPIView):
    """``GET``: baselines you may see. ``POST``: create or replace the athlete's baseline (one per athlete)."""

    serializer_class = BaselineOutput

    def get_queryset(self) -> Any:
        return _athlete_filter(self.request, selectors.baselines_visible(self.request.user), field="user")

    @extend_schema(request=BaselineInput, responses={201: BaselineOutput, 200: BaselineOutput})
    def post(self, request: Request) -> Response:
        values = validated(BaselineInput, request.data)
        athlete = athlete_for_user(request.user, values.pop("athlete_id", None))
        baseline, created = services.baseline_upsert(athlete=athlete, **values)
        return Response(
            BaselineOutput(baseline).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class BaselineDetailView(APIView):
    """``GET``/``PATCH`` one baseline."""

    def _get(self, request: Request, pk: int) -> Any:
        baseline = selectors.baselines_visible(request.user).filter(pk=pk).first()
        if baseline is None:
            raise NotFoundError("not_found", f"Baseline {pk} was not found.")
        return baseline

    @extend_schema(responses={200: BaselineOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(BaselineOutput(self._get(request, pk)).data)

    @extend_schema(request=BaselineInput, responses={200: BaselineOutput})
    def patch(self, request: Request, pk: int) -> Response:
        baseline = self._get(request, pk)
        values = validated(BaselineInput, request.data)
        values.pop("athlete_id", None)
        baseline, _ = services.baseline_upsert(athlete=baseline.user, **values)
        return Response(BaselineOutput(baseline).data)


class AthleteModelView(APIView):
    """``GET``: the athlete's model — phase, coefficients in plain words, sessions included, trained at."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, athlete_id: int) -> Response:
        if not can_access_athlete(request.user, athlete_id):
            raise NotFoundError("athlete_not_found", f"Athlete {athlete_id} was not found.")
        _, population = engine.cached_rules_and_population()
        output = selectors.stored_output(athlete_id, population.version)
        sessions = output.sessions if output else 0
        phase = phase_for(
            sessions,
            learning_at=settings.READINESS_LEARNING_SESSIONS,
            personalized_at=settings.READINESS_PERSONALIZED_SESSIONS,
        )
        beta = output.beta if output is not None else population.mu
        return Response(
            {
                "athlete_id": athlete_id,
                "phase": phase,
                "model_version": population.version,
                "population_source": population.source,
                "predicts_from": "population" if phase == "cold_start" or output is None else "personal",
                "sessions_included": sessions,
                "trained_at": output.trained_at if output else None,
                "coefficients": engine.describe_coefficients(beta),
                "population_coefficients": engine.describe_coefficients(population.mu),
                "residual_sd": round(population.sigma2**0.5, 4),
            }
        )
