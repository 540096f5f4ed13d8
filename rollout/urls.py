from __future__ import annotations

from django.urls import path

from rollout import api
from rollout.monitoring import api as monitoring_api

admin_urlpatterns = [
    path("feature-flags", api.FeatureFlagListView.as_view(), name="feature-flags"),
    path("feature-flags/<str:name>", api.FeatureFlagDetailView.as_view(), name="feature-flag"),
    path("feature-flags/<str:name>/toggle", api.FeatureFlagToggleView.as_view(), name="feature-flag-toggle"),
    path("feature-flags/<str:name>/lift-kill", api.FeatureFlagLiftKillView.as_view(), name="feature-flag-lift-kill"),
    path("feature-flags/<str:name>/check", api.FeatureFlagCheckView.as_view(), name="feature-flag-check"),
    path("rollouts", api.RolloutListView.as_view(), name="rollouts"),
    path("rollouts/<str:flag>", api.RolloutDetailView.as_view(), name="rollout"),
    path("rollouts/<str:flag>/advance", api.RolloutAdvanceView.as_view(), name="rollout-advance"),
    path("rollouts/<str:flag>/set-phase", api.RolloutSetPhaseView.as_view(), name="rollout-set-phase"),
    path("rollouts/<str:flag>/rollback", api.RolloutRollbackView.as_view(), name="rollout-rollback"),
    path("rollouts/<str:flag>/rescore", api.RolloutRescoreView.as_view(), name="rollout-rescore"),
    path("rollouts/<str:flag>/pause", api.RolloutPauseView.as_view(), name="rollout-pause"),
    path("rollouts/<str:flag>/resume", api.RolloutResumeView.as_view(), name="rollout-resume"),
    path("deployment/validate", api.DeploymentValidateView.as_view(), name="deployment-validate"),
    path("monitoring/dashboard", monitoring_api.DashboardView.as_view(), name="monitoring-dashboard"),
    path("alerts", monitoring_api.AlertListView.as_view(), name="alerts"),
    path("alerts/<int:alert_id>/acknowledge", monitoring_api.AlertAcknowledgeView.as_view(), name="alert-ack"),
    path("alerts/<int:alert_id>/resolve", monitoring_api.AlertResolveView.as_view(), name="alert-resolve"),
]

v1_urlpatterns = [
    path("flags", api.MyFlagsView.as_view(), name="my-flags"),
]
