from __future__ import annotations

from django.urls import path

from planning import api

urlpatterns = [
    path("plans/generate", api.PlanGenerateView.as_view(), name="plans-generate"),
    path("plans/jobs/<uuid:job_id>", api.PlanJobView.as_view(), name="plans-job"),
    path("movements/", api.MovementListView.as_view(), name="movements"),
]
