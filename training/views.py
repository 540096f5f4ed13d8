"""Athlete-facing training API: activities (upload, list, detail, stream, delete), HR profiles, training load.

Ownership comes from ``core.permissions``: what a user may not see answers 404.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import BoundedJSONParser
from core.errors import NotFoundError, ServiceError
from core.permissions import athlete_for_user
from training import selectors, services
from training.config import current_settings
from training.engine import INVALID_HR_DATA
from training.load_window import load_window
from training.models import Activity
from training.serializers import (
    ActivityDetailSerializer,
    ActivityFilterSerializer,
    ActivitySerializer,
    ActivityUploadSerializer,
    HeartRateProfileInputSerializer,
    HeartRateProfileSerializer,
    StreamQuerySerializer,
    TrainingLoadQuerySerializer,
)
from training.streams import downsample


def _dates(params: Any) -> dict[str, Any]:
    """Query parameters with ``from``/``to`` renamed (they are Python keywords) for the serializers."""
    data = {key: params.get(key) for key in params}
    for short, long in (("from", "date_from"), ("to", "date_to")):
        if short in data:
            data[long] = data.pop(short)
    return data


def _too_large(limit: int, size: int | None = None) -> ServiceError:
    message = f"upload is larger than the limit of {limit} bytes" if size is None else f"file is {size} bytes"
    return ServiceError(
        INVALID_HR_DATA,
        f"{message}; the limit is {limit} bytes",
        details={"reason": "too_large", "limit": limit},
        status=413,
    )


def _visible_activity(request: Request, pk: int) -> Activity:
    activity = selectors.activities_visible(request.user).filter(pk=pk).first()
    if activity is None:
        raise NotFoundError("not_found", f"Activity {pk} was not found.")
    return activity


class ActivityListView(generics.ListAPIView):
    """``GET``: activities you may see (filters ``athlete``, ``from``, ``to``, ``sport``, ``method``).
    ``POST``: upload one activity — multipart ``file`` (FIT, TCX, GPX, JSON streams; gzip allowed) or a JSON
    body with ``streams`` in Strava's shape and ``start``. 201 when created, 200 when the same file was
    already imported; 409 ``duplicate_activity`` (with the stored activity) when the same session is already
    there from another file; 400/413 with code ``TRIMP_001`` for an unreadable file, nothing stored.
    ``notices`` (code + message) say when the athlete has no heart-rate profile (stored, not scored) or when
    the first profile was used for an earlier activity."""

    serializer_class = ActivitySerializer
    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]

    def get_queryset(self) -> Any:
        filters = ActivityFilterSerializer(data=_dates(self.request.query_params))
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        return selectors.activities_filter(
            selectors.activities_visible(self.request.user),
            athlete_id=values.get("athlete"),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
            sport=values.get("sport"),
            method=values.get("method"),
        )

    @extend_schema(request=ActivityUploadSerializer, responses={201: ActivityDetailSerializer})
    def post(self, request: Request) -> Response:
        limit = current_settings().max_upload_bytes
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > limit * 2 + 1024 * 1024:  # refuse before reading a body far over the limit
            raise _too_large(limit)
        try:
            data = request.data
        except RequestDataTooBig as exc:
            raise _too_large(limit) from exc
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        fields = ActivityUploadSerializer(data={k: v for k, v in data.items() if k not in ("file", "streams")})
        fields.is_valid(raise_exception=True)
        values = fields.validated_data
        athlete = athlete_for_user(request.user, values.get("athlete_id"))
        if upload is not None:
            if upload.size is not None and upload.size > limit:
                raise _too_large(limit, upload.size)
            content = upload.read(limit + 1)
            filename = upload.name
        elif "streams" in data:
            if "start" not in values:
                raise ValidationError({"start": "required with streams (the activity's start time)"})
            content = json.dumps(data["streams"]).encode()
            filename = "streams.json"
        else:
            raise ValidationError({"file": "send a file (multipart) or streams (JSON)"})
        result = services.activity_import(
            actor=request.user,
            athlete=athlete,
            data=content,
            filename=filename,
            start=values.get("start"),
            sport=values.get("sport") or None,
            average_hr=values.get("average_heartrate"),
            timer_seconds=values.get("moving_time"),
            external_id=values.get("external_id") or None,
        )
        activity = Activity.objects.select_related("hr_profile").get(pk=result.activity.pk)
        body = {
            **ActivityDetailSerializer(activity).data,
            "created": result.created,
            "notices": [{"code": notice.code, "message": notice.message} for notice in result.notices],
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ActivityDetailView(APIView):
    """``GET``: one activity with its TRIMP details and warnings. ``DELETE``: its owner only."""

    @extend_schema(responses={200: ActivityDetailSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ActivityDetailSerializer(_visible_activity(request, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.activity_delete(actor=request.user, activity=_visible_activity(request, pk))  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActivityStreamView(APIView):
    """The activity's HR stream (``time`` s from the start, ``heartrate`` bpm or null); ``max_points``
    downsamples to equal-count buckets (first time, mean HR)."""

    @extend_schema(parameters=[OpenApiParameter("max_points", int)], responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        activity = _visible_activity(request, pk)
        query = StreamQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stream = selectors.activity_stream(activity)
        if stream is None:
            raise NotFoundError("stream_not_found", f"Activity {pk} has no stream.")
        times, hrs = stream
        max_points = query.validated_data.get("max_points")
        downsampled = max_points is not None and times.size > max_points
        if max_points is not None:
            times, hrs = downsample(times, hrs, max_points)
        return Response(
            {
                "activity": activity.pk,
                "sample_count": activity.sample_count,
                "downsampled": downsampled,
                "time": times.tolist(),
                "heartrate": [None if h != h else h for h in hrs.tolist()],
            }
        )


class HeartRateProfilesView(APIView):
    """``GET``: the athlete's dated HR profiles. ``POST``: add one; the activities it now covers are
    re-scored by a job (its id in ``recalculation_job_id``)."""

    @extend_schema(responses={200: HeartRateProfileSerializer(many=True)})
    def get(self, request: Request, athlete_id: int) -> Response:
        athlete = athlete_for_user(request.user, athlete_id)
        return Response(HeartRateProfileSerializer(selectors.hr_profiles_of(athlete.pk), many=True).data)

    @extend_schema(request=HeartRateProfileInputSerializer, responses={201: HeartRateProfileSerializer})
    def post(self, request: Request, athlete_id: int) -> Response:
        athlete = athlete_for_user(request.user, athlete_id)
        payload = HeartRateProfileInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = services.hr_profile_create(actor=request.user, athlete=athlete, **payload.validated_data)
        body = {
            **HeartRateProfileSerializer(result.profile).data,
            "recalculation_job_id": result.job.pk if result.job else None,
            "affected_from": result.affected_from,
            "affected_until": result.affected_until,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class TrainingLoadView(APIView):
    """Daily load, CTL (fitness), ATL (fatigue), TSB (form), ACWR, monotony and strain per local day
    (``from``/``to`` inclusive; default the last 90 days). Undefined values are null."""

    @extend_schema(
        parameters=[OpenApiParameter("from", str), OpenApiParameter("to", str)],
        responses={200: dict},
    )
    def get(self, request: Request, athlete_id: int) -> Response:
        athlete = athlete_for_user(request.user, athlete_id)
        query = TrainingLoadQuerySerializer(data=_dates(request.query_params))
        query.is_valid(raise_exception=True)
        today = services.local_day(timezone.now(), athlete.timezone)
        window = load_window(
            date_from=query.validated_data.get("date_from"), date_to=query.validated_data.get("date_to"), today=today
        )
        date_from, date_to = window.date_from, window.date_to
        series = selectors.training_load_series(athlete_id=athlete.pk, date_from=date_from, date_to=date_to)
        return Response(
            {
                "athlete": athlete.pk,
                "from": date_from,
                "to": date_to,
                "ctl_days": series.ctl_days,
                "atl_days": series.atl_days,
                "ctl_seed": series.ctl_seed,
                "atl_seed": series.atl_seed,
                "seed_date": series.seed_date,
                "history_start": series.history_start,
                "days": series.rows(rounded=True),
            }
        )
