"""Training-load API routes (mounted under /api/ by core.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from training import admin_api, views

urlpatterns: list[URLPattern] = [
    path("v1/activities", views.ActivityListView.as_view(), name="activities"),
    path("v1/activities/<int:pk>", views.ActivityDetailView.as_view(), name="activity"),
    path("v1/activities/<int:pk>/stream", views.ActivityStreamView.as_view(), name="activity-stream"),
    path("v1/athletes/<int:athlete_id>/hr-profiles", views.HeartRateProfilesView.as_view(), name="hr-profiles"),
    path("v1/athletes/<int:athlete_id>/training-load", views.TrainingLoadView.as_view(), name="training-load"),
    path("admin/trimp-settings", admin_api.TrimpSettingsView.as_view(), name="trimp-settings"),
    path("admin/trimp-recalculate", admin_api.RecalculateView.as_view(), name="trimp-recalculate"),
    path(
        "admin/trimp-recalculate/<int:job_id>",
        admin_api.RecalculationStatusView.as_view(),
        name="trimp-recalculate-status",
    ),
    path("admin/trimp-calculation-stats", admin_api.CalculationStatsView.as_view(), name="trimp-calculation-stats"),
    path(
        "admin/trimp-performance-metrics",
        admin_api.PerformanceMetricsView.as_view(),
        name="trimp-performance-metrics",
    ),
    path("admin/trimp-comparison", admin_api.ComparisonView.as_view(), name="trimp-comparison"),
    path("admin/trimp-schema-status", admin_api.SchemaStatusView.as_view(), name="trimp-schema-status"),
]
