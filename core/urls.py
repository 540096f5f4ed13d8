"""URL map. Every API path lives under /api/; unknown /api/ paths answer the JSON error shape."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from core import views
from feedback.admin_views import summary_view as feedback_summary_view
from rollout import urls as rollout_urls
from rollout.monitoring.admin_views import monitoring_view
from training.admin_views import recalculation_report_view, trimp_settings_view

router = SimpleRouter(trailing_slash=False)
router.register("athletes", views.AthleteViewSet, basename="athlete")
router.register("jobs", views.JobViewSet, basename="job")

api_v1 = [
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("me", views.MeView.as_view(), name="me"),
    path("", include(router.urls)),
    path("", include(rollout_urls.v1_urlpatterns)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("coach/", include("training.coach_urls")),
    path("health", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/monitoring/", admin.site.admin_view(monitoring_view), name="ops-monitoring"),
    path("admin/trimp-settings", admin.site.admin_view(trimp_settings_view), name="ops-trimp-settings"),
    path(
        "admin/trimp-settings/recalculations/<int:job_id>/",
        admin.site.admin_view(recalculation_report_view),
        name="ops-recalculation-report",
    ),
    path("admin/feedback-summary/", admin.site.admin_view(feedback_summary_view), name="ops-feedback-summary"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include(api_v1)),
    path("api/admin/", include(rollout_urls.admin_urlpatterns)),
    path("api/admin/", include("rollout.experiments.urls")),
    path("api/", include("feedback.urls")),
    path("api/", include("training.urls")),
    path("api/", include("planning.urls")),
    path("api/", include("planning.readiness.urls")),
    re_path(r"^api/(?P<path>.*)$", views.api_not_found, name="api-not-found"),
]
