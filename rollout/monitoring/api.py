"""Staff endpoints: the monitoring dashboard and alerts with acknowledge / resolve."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.params import int_param, validated
from core.errors import ServiceError
from rollout.api import StaffAPIView
from rollout.monitoring import alerts, selectors
from rollout.monitoring.models import Alert


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DashboardView(StaffAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("minutes", int, description="series length (1–1440, default 60)")],
        summary="Open alerts, rule states, key series and recent incidents",
    )
    def get(self, request: Request) -> Response:
        minutes = int_param(request.query_params, "minutes", default=60, minimum=1, maximum=1440)
        return Response(selectors.dashboard(minutes=minutes or 60))


class AlertListView(StaffAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=list(Alert.Status.values)),
            OpenApiParameter("severity", str, enum=list(Alert.SEVERITIES)),
        ],
        summary="Alerts, newest first",
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status")
        severity = request.query_params.get("severity")
        if status and status not in Alert.Status.values:
            raise ServiceError("invalid_status", f"status must be one of {', '.join(Alert.Status.values)}.")
        if severity and severity not in Alert.SEVERITIES:
            raise ServiceError("invalid_severity", f"severity must be one of {', '.join(Alert.SEVERITIES)}.")
        return Response({"alerts": selectors.alerts_list(status=status, severity=severity)})


class AlertAcknowledgeView(StaffAPIView):
    @extend_schema(request=NoteSerializer, summary="Acknowledge an open alert")
    def post(self, request: Request, alert_id: int) -> Response:
        data = validated(NoteSerializer, request.data)
        alert = alerts.alert_acknowledge(alert_id=alert_id, actor=request.user, note=data["note"])
        return Response(selectors.alert_dict(alert))


class AlertResolveView(StaffAPIView):
    @extend_schema(request=NoteSerializer, summary="Resolve an alert by hand")
    def post(self, request: Request, alert_id: int) -> Response:
        data = validated(NoteSerializer, request.data)
        alert = alerts.alert_resolve(alert_id=alert_id, actor=request.user, note=data["note"])
        return Response(selectors.alert_dict(alert))
