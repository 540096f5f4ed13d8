"""Feedback API: submit, the user's own history, accuracy validation; staff summary and triage updates."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.params import validated
from core.api.schema import JSONObjectSerializer
from core.errors import NotFoundError
from core.models import User
from core.permissions import IsStaff
from feedback import selectors, services
from feedback.models import Feedback
from feedback.serializers import (
    AccuracySerializer,
    AccuracyValidationSerializer,
    FeedbackSerializer,
    StaffFeedbackSerializer,
    StaffUpdateSerializer,
    SubmitSerializer,
    SummaryQuerySerializer,
)


class SubmitView(APIView):
    throttle_scope = "feedback"

    @extend_schema(request=SubmitSerializer, responses={201: FeedbackSerializer, 200: FeedbackSerializer})
    def post(self, request: Request) -> Response:
        data = validated(SubmitSerializer, request.data)
        feedback, duplicate = services.feedback_submit(
            user=request.user,
            type=data["type"],
            message=data["message"],
            category=data.get("category", ""),
            rating=data.get("rating"),
            activity_id=data.get("activity_id"),
            plan_id=data.get("plan_id"),
            app_version=data.get("app_version") or request.headers.get("X-App-Version", ""),
            variants=data.get("variants"),
        )
        body = {**FeedbackSerializer(feedback).data, "duplicate": duplicate}
        if not feedback.acknowledgement:
            body["acknowledgement"] = "Thank you — your feedback was received and is being triaged."
        return Response(body, status=status.HTTP_200_OK if duplicate else status.HTTP_201_CREATED)


class MyFeedbackListView(generics.ListAPIView):
    serializer_class = FeedbackSerializer

    def get_queryset(self) -> Any:
        return Feedback.objects.filter(user=self.request.user).order_by("-created_at", "-id")


class MyFeedbackDetailView(generics.RetrieveAPIView):
    serializer_class = FeedbackSerializer

    def get_queryset(self) -> Any:
        return Feedback.objects.filter(user=self.request.user)


class AccuracyValidationView(APIView):
    throttle_scope = "feedback"

    @extend_schema(request=AccuracySerializer, responses={201: AccuracyValidationSerializer})
    def post(self, request: Request) -> Response:
        data = validated(AccuracySerializer, request.data)
        validation = services.accuracy_validation_create(
            user=request.user,
            activity_id=data["activity_id"],
            source=data["source"],
            external_value=data["external_value"],
            note=data.get("note", ""),
            variants=data.get("variants"),
        )
        return Response(AccuracyValidationSerializer(validation).data, status=status.HTTP_201_CREATED)


class SummaryView(APIView):
    permission_classes = [IsStaff]
    serializer_class = JSONObjectSerializer

    @extend_schema(
        parameters=[SummaryQuerySerializer], summary="Counts, satisfaction, sentiment, top issues, accuracy, SLA"
    )
    def get(self, request: Request) -> Response:
        query = validated(SummaryQuerySerializer, request.query_params)
        return Response(selectors.feedback_summary(**query))


class StaffFeedbackView(APIView):
    permission_classes = [IsStaff]
    serializer_class = StaffFeedbackSerializer

    def get(self, request: Request, pk: int) -> Response:
        feedback = Feedback.objects.filter(pk=pk).first()
        if feedback is None:
            raise NotFoundError("feedback_not_found", f"Feedback {pk} was not found.")
        return Response(StaffFeedbackSerializer(feedback).data)

    @extend_schema(request=StaffUpdateSerializer, summary="Change status, assignee, or override triage fields")
    def patch(self, request: Request, pk: int) -> Response:
        data = validated(StaffUpdateSerializer, request.data)
        note = data.pop("note", "")
        with transaction.atomic():
            if "status" in data:
                services.feedback_set_status(feedback_id=pk, status=data["status"], actor=request.user, note=note)
            if "assignee" in data:
                assignee = None
                if data["assignee"]:
                    assignee = User.objects.filter(username=data["assignee"]).first()
                    if assignee is None:
                        raise NotFoundError("user_not_found", f"No user named {data['assignee']!r}.")
                services.feedback_assign(feedback_id=pk, assignee=assignee, actor=request.user, note=note)
            for field in ("priority", "sentiment", "category"):
                if field in data:
                    services.feedback_override(
                        feedback_id=pk, field=field, value=data[field], actor=request.user, note=note
                    )
            feedback = Feedback.objects.filter(pk=pk).first()
            if feedback is None:
                raise NotFoundError("feedback_not_found", f"Feedback {pk} was not found.")
        return Response(StaffFeedbackSerializer(feedback).data)
