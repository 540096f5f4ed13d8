"""The runbooks' HTTP API for flags, rollouts and deployment validation (staff only), and the user's flags."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.params import int_param, validated
from core.api.schema import JSONObjectSerializer
from core.errors import NotFoundError, ServiceError
from core.permissions import IsStaff
from rollout import flags, rollouts, selectors, serializers, services
from rollout.models import Flag, RolloutTransition
from rollout.validation import run_validation


class StaffAPIView(APIView):
    permission_classes = [IsStaff]
    serializer_class = JSONObjectSerializer


def _flag_payload(name: str) -> dict[str, Any]:
    overview = selectors.flags_overview(name)
    if not overview:
        raise NotFoundError("flag_not_found", f"No flag named {name!r}.")
    return overview[0]


class FeatureFlagListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_feature_flags_list",
        summary="Every flag with its per-cohort state, percent, window, kill state and rollout stage",
        responses=serializers.FlagListOut,
    )
    def get(self, request: Request) -> Response:
        return Response({"flags": selectors.flags_overview()})


class FeatureFlagDetailView(StaffAPIView):
    @extend_schema(summary="One flag with its recent history", responses=serializers.FlagDetailOut)
    def get(self, request: Request, name: str) -> Response:
        payload = _flag_payload(name)
        payload["history"] = [
            {**asdict(change), "changed": list(change.changed)} for change in selectors.flag_changes(name)
        ]
        return Response(payload)

    @extend_schema(
        request=serializers.FlagUpdateSerializer,
        responses=serializers.FlagUpdateOut,
        summary="Change targeting (reason required)",
    )
    def patch(self, request: Request, name: str) -> Response:
        data = validated(serializers.FlagUpdateSerializer, request.data)
        reason = data.pop("reason")
        _, history = services.flag_update(name=name, changes=data, actor=request.user, source="api", reason=reason)
        return Response({**_flag_payload(name), "changed": history.changed_fields if history else []})


class FeatureFlagToggleView(StaffAPIView):
    @extend_schema(
        request=serializers.ToggleSerializer,
        responses=serializers.ToggleOut,
        summary="Kill/restore, or switch a cohort on or off",
    )
    def post(self, request: Request, name: str) -> Response:
        data = validated(serializers.ToggleSerializer, request.data)
        _, history = services.flag_toggle(
            name=name,
            enabled=data["enabled"],
            user_type=data.get("user_type"),
            actor=request.user,
            source="api",
            reason=data.get("reason", ""),
        )
        payload = _flag_payload(name)
        return Response({"success": True, "changed": history is not None, "flag": payload})


class FeatureFlagLiftKillView(StaffAPIView):
    @extend_schema(
        request=serializers.RequiredReasonSerializer,
        responses=serializers.ToggleOut,
        summary="Lift a kill (explicit, reason required); the paused rollout stays paused until resumed",
    )
    def post(self, request: Request, name: str) -> Response:
        data = validated(serializers.RequiredReasonSerializer, request.data)
        services.flag_kill_lift(name=name, actor=request.user, source="api", reason=data["reason"])
        return Response({"success": True, "changed": True, "flag": _flag_payload(name)})


class FeatureFlagCheckView(StaffAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("user_id", int, required=True)],
        summary="The answer and its reason for one user, with the user's bucket",
        responses=serializers.FlagCheckOut,
    )
    def get(self, request: Request, name: str) -> Response:
        user_id = int_param(request.query_params, "user_id", minimum=1)
        if user_id is None:
            raise ServiceError("validation_error", "user_id is required.")
        enabled, reason = flags.evaluate(name, user_id=user_id)
        return Response(
            {
                "flag": name,
                "user_id": user_id,
                "enabled": enabled,
                "reason": reason,
                "bucket": flags.bucket(name, user_id),
            }
        )


class MyFlagsView(APIView):
    serializer_class = JSONObjectSerializer

    @extend_schema(summary="Every flag's answer for the current user, with reasons (flag name → enabled, reason)")
    def get(self, request: Request) -> Response:
        names = sorted(flags.current_snapshot().flags)
        return Response(
            {
                name: dict(zip(("enabled", "reason"), flags.evaluate_for_request(request, name), strict=True))
                for name in names
            }
        )


class RolloutListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_rollouts_list",
        summary="The latest rollout of every flag",
        responses=serializers.RolloutListOut,
    )
    def get(self, request: Request) -> Response:
        return Response({"rollouts": [selectors.rollout_detail(r) for r in selectors.rollouts_latest()]})

    @extend_schema(
        request=serializers.RolloutStartSerializer,
        responses={201: serializers.RolloutDetailOut},
        summary="Start a rollout (default plan unless given)",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.RolloutStartSerializer, request.data)
        with transaction.atomic():
            outcome = rollouts.rollout_start(
                flag_name=data["flag"],
                plan=data.get("plan"),
                guard_policy=data.get("guard_policy", "rollback"),
                actor=request.user,
                reason=data["reason"],
            )
            guards = {k: data[k] for k in ("guard_rules", "guard_consecutive", "min_dwell_minutes") if k in data}
            rollout = (
                rollouts.rollout_configure_guards(flag_name=data["flag"], actor=request.user, **guards)
                if guards
                else outcome.rollout
            )
        return Response(selectors.rollout_detail(rollout), status=status.HTTP_201_CREATED)


class RolloutDetailView(StaffAPIView):
    @extend_schema(summary="Plan, current stage, gate results and transitions", responses=serializers.RolloutDetailOut)
    def get(self, request: Request, flag: str) -> Response:
        rollout = rollouts.latest_rollout(flag)
        if rollout is None:
            raise NotFoundError("rollout_not_found", f"Flag {flag!r} has no rollout.")
        return Response(selectors.rollout_detail(rollout))

    @extend_schema(
        request=serializers.GuardSerializer,
        responses=serializers.RolloutDetailOut,
        summary="Set guard rules, N, dwell time and policy",
    )
    def patch(self, request: Request, flag: str) -> Response:
        data = validated(serializers.GuardSerializer, request.data)
        rollout = rollouts.rollout_configure_guards(flag_name=flag, actor=request.user, **data)
        return Response(selectors.rollout_detail(rollout))


def _transition_response(outcome: rollouts.TransitionOutcome) -> Response:
    back = outcome.transition.kind in (RolloutTransition.Kind.ROLLBACK, RolloutTransition.Kind.KILL)
    offer = rollouts.rollout_rescore_offer(outcome.rollout.flag.name) if back else None
    return Response(
        {
            "transition": selectors.transition_dict(outcome.transition),
            "rollout": selectors.rollout_detail(outcome.rollout),
            "rescore": offer.as_dict() if offer else None,
        }
    )


class RolloutRescoreView(StaffAPIView):
    @extend_schema(
        request=serializers.RequiredReasonSerializer,
        responses={202: serializers.RescoreStartedOut},
        summary="Re-score exactly the results computed under the rolled-back method (a recalculation job)",
    )
    def post(self, request: Request, flag: str) -> Response:
        data = validated(serializers.RequiredReasonSerializer, request.data)
        started = rollouts.rollout_rescore(flag_name=flag, actor=request.user, reason=data["reason"])
        return Response(
            {
                "job_id": started.job_id,
                "activities": started.count,
                "status_url": f"/api/admin/trimp-recalculate/{started.job_id}",
            },
            status=status.HTTP_202_ACCEPTED,
        )


class RolloutAdvanceView(StaffAPIView):
    @extend_schema(
        request=serializers.ReasonSerializer,
        responses=serializers.TransitionResponseOut,
        summary="Advance one stage (gates apply)",
    )
    def post(self, request: Request, flag: str) -> Response:
        data = validated(serializers.ReasonSerializer, request.data)
        return _transition_response(
            rollouts.rollout_advance(
                flag_name=flag,
                actor=request.user,
                reason=data["reason"],
                expected_stage=data.get("expected_stage"),
                override_gates=data.get("override"),
                override_reason=data.get("override_reason", ""),
            )
        )


class RolloutSetPhaseView(StaffAPIView):
    @extend_schema(
        request=serializers.SetPhaseSerializer,
        responses=serializers.TransitionResponseOut,
        summary="Jump to a stage (gates apply going forward)",
    )
    def post(self, request: Request, flag: str) -> Response:
        data = validated(serializers.SetPhaseSerializer, request.data)
        return _transition_response(
            rollouts.rollout_set_phase(
                flag_name=flag,
                phase=data["phase"],
                actor=request.user,
                reason=data["reason"],
                expected_stage=data.get("expected_stage"),
                override_gates=data.get("override"),
                override_reason=data.get("override_reason", ""),
            )
        )


class RolloutRollbackView(StaffAPIView):
    @extend_schema(
        request=serializers.RollbackSerializer,
        responses=serializers.TransitionResponseOut,
        summary="One stage back, to a stage, or all off",
    )
    def post(self, request: Request, flag: str) -> Response:
        data = validated(serializers.RollbackSerializer, request.data)
        return _transition_response(
            rollouts.rollout_rollback(
                flag_name=flag, actor=request.user, reason=data["reason"], to=data.get("to"), everything=data["all"]
            )
        )


class RolloutPauseView(StaffAPIView):
    @extend_schema(
        request=serializers.ReasonSerializer,
        responses=serializers.TransitionResponseOut,
        summary="Pause (no forward moves until resumed)",
    )
    def post(self, request: Request, flag: str) -> Response:
        data = validated(serializers.ReasonSerializer, request.data)
        return _transition_response(rollouts.rollout_pause(flag_name=flag, actor=request.user, reason=data["reason"]))


class RolloutResumeView(StaffAPIView):
    @extend_schema(
        request=serializers.ReasonSerializer,
        responses=serializers.TransitionResponseOut,
        summary="Resume a paused rollout",
    )
    def post(self, request: Request, flag: str) -> Response:
        data = validated(serializers.ReasonSerializer, request.data)
        return _transition_response(rollouts.rollout_resume(flag_name=flag, actor=request.user, reason=data["reason"]))


class DeploymentValidateView(StaffAPIView):
    @extend_schema(
        request=serializers.ValidateSerializer,
        responses=serializers.ValidationOut,
        summary="Run the pre- or post-deployment checks",
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.ValidateSerializer, request.data)
        flag_name = data.get("flag")
        if flag_name and not Flag.objects.filter(name=flag_name).exists():
            raise NotFoundError("flag_not_found", f"No flag named {flag_name!r}.")
        checks = run_validation(data["validation_type"], flag_name=flag_name)
        passed = all(c.passed for c in checks)
        return Response(
            {"validation_type": data["validation_type"], "passed": passed, "checks": [c.as_dict() for c in checks]}
        )
