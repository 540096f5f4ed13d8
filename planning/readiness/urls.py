"""Readiness API routes (mounted under /api/ by core.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from planning.readiness import api, stream

urlpatterns: list[URLPattern] = [
    path("v1/recommendations/pre-session/stream", stream.pre_session_stream, name="readiness-stream"),
    path("v1/recommendations/generate", api.GenerateView.as_view(), name="readiness-generate"),
    path("v1/sessions", api.SessionListView.as_view(), name="readiness-sessions"),
    path("v1/sessions/<int:pk>", api.SessionDetailView.as_view(), name="readiness-session"),
    path("v1/checkins", api.CheckInListView.as_view(), name="readiness-checkins"),
    path("v1/checkins/<int:pk>", api.CheckInDetailView.as_view(), name="readiness-checkin"),
    path("v1/baselines", api.BaselineListView.as_view(), name="readiness-baselines"),
    path("v1/baselines/<int:pk>", api.BaselineDetailView.as_view(), name="readiness-baseline"),
    path("v1/athletes/<int:athlete_id>/model", api.AthleteModelView.as_view(), name="readiness-athlete-model"),
]
