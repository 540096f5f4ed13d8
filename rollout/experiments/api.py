"""``/api/admin/experiments/``: list, create (the seed's fields), start, stop, analyse, results (staff only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.params import validated
from core.errors import NotFoundError
from core.jobs import job_enqueue
from core.permissions import IsStaff
from rollout.experiments import selectors, serializers
from rollout.experiments.models import Experiment
from rollout.experiments.services import (
    MetricSpec,
    VariantSpec,
    experiment_create,
    experiment_start,
    experiment_stop,
)


def _experiment(key: str) -> Experiment:
    experiment = selectors.experiment_get(key)
    if experiment is None:
        raise NotFoundError("experiment_not_found", f"No experiment {key!r}.")
    return experiment


def _payload(experiment: Experiment) -> dict[str, Any]:
    data = dict(serializers.ExperimentSerializer(experiment).data)
    latest = selectors.latest_result(experiment)
    data["verdict"] = latest.verdict if latest else None
    return data


class ExperimentListView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Every experiment with its variants, metrics and latest verdict",
        operation_id="admin_experiments_list",
        responses=serializers.ExperimentListSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response({"experiments": [_payload(e) for e in selectors.experiments_list()]})

    @extend_schema(
        summary="Create a draft experiment from the seed's fields",
        request=serializers.ExperimentCreateSerializer,
        responses={201: serializers.ExperimentSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.ExperimentCreateSerializer, request.data)
        criteria = data.get("success_criteria") or {}
        experiment = experiment_create(
            key=data["key"],
            name=data["name"],
            description=data["description"],
            hypothesis=data["hypothesis"],
            test_type=data["test_type"],
            flag_name=data.get("flag"),
            owner=request.user,
            min_days=criteria.get("min_days", 7),
            min_users_per_variant=criteria.get("min_users_per_variant", 1000),
            variants=[VariantSpec(**dict(v)) for v in data["variants"]],
            metrics=[
                MetricSpec(
                    source=m["name"],
                    role=m["metric_type"],
                    kind=m.get("aggregation"),
                    direction=m.get("target_direction"),
                    mde=m["minimum_detectable_effect"],
                    alpha=m["significance_level"],
                    power=m["power"],
                )
                for m in data["metrics"]
            ],
            actor=request.user,
            source="api",
        )
        return Response(_payload(_experiment(experiment.key)), status=status.HTTP_201_CREATED)


class ExperimentDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(summary="One experiment", responses=serializers.ExperimentSerializer)
    def get(self, request: Request, key: str) -> Response:
        return Response(_payload(_experiment(key)))


class ExperimentStartView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Start (draft → running): exposures are logged from now on",
        request=None,
        responses=serializers.ExperimentSerializer,
    )
    def post(self, request: Request, key: str) -> Response:
        experiment_start(key=key)
        return Response(_payload(_experiment(key)))


class ExperimentStopView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Stop (running → stopped): the analysis window ends now",
        request=None,
        responses=serializers.ExperimentSerializer,
    )
    def post(self, request: Request, key: str) -> Response:
        experiment_stop(key=key)
        return Response(_payload(_experiment(key)))


class ExperimentAnalyseView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Queue an analysis job now (its result appears under results)",
        request=serializers.AnalyseRequestSerializer,
        responses={202: serializers.JobAcceptedSerializer},
    )
    def post(self, request: Request, key: str) -> Response:
        _experiment(key)
        data = validated(serializers.AnalyseRequestSerializer, request.data)
        params = {"experiment": key, **({"full": True} if data["full"] else {})}
        job = job_enqueue(kind="experiments.analyse", params=params, created_by=request.user)
        return Response({"job_id": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)


class ExperimentResultsView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="The latest analysis: verdict, reason, SRM, per metric and variant statistics",
        responses=serializers.ResultSerializer,
    )
    def get(self, request: Request, key: str) -> Response:
        result = selectors.latest_result(_experiment(key))
        if result is None:
            raise NotFoundError("no_results", f"Experiment {key!r} has not been analysed yet.")
        return Response(serializers.ResultSerializer(selectors.result_payload(result)).data)
