from __future__ import annotations

from django.urls import path

from rollout.experiments import api

urlpatterns = [
    path("experiments/", api.ExperimentListView.as_view(), name="experiments"),
    path("experiments/<slug:key>", api.ExperimentDetailView.as_view(), name="experiment"),
    path("experiments/<slug:key>/start", api.ExperimentStartView.as_view(), name="experiment-start"),
    path("experiments/<slug:key>/stop", api.ExperimentStopView.as_view(), name="experiment-stop"),
    path("experiments/<slug:key>/analyse", api.ExperimentAnalyseView.as_view(), name="experiment-analyse"),
    path("experiments/<slug:key>/results", api.ExperimentResultsView.as_view(), name="experiment-results"),
]
