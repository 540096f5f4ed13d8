"""Request bodies of the rollout API (validation only; the services decide)."""

from __future__ import annotations

from rest_framework import serializers

from rollout.services import USER_TYPES
from rollout.validation import VALIDATION_TYPES


class ToggleSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    user_type = serializers.ChoiceField(choices=USER_TYPES, required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class FlagUpdateSerializer(serializers.Serializer):
    everyone = serializers.BooleanField(required=False, allow_null=True)
    percent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    staff = serializers.BooleanField(required=False)
    superusers = serializers.BooleanField(required=False)
    groups = serializers.ListField(child=serializers.CharField(max_length=150), required=False, max_length=100)
    users = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=10000)
    active_from = serializers.DateTimeField(required=False, allow_null=True)
    active_until = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    reason = serializers.CharField(max_length=2000)


class GuardSerializer(serializers.Serializer):
    guard_rules = serializers.ListField(child=serializers.CharField(max_length=120), required=False, max_length=50)
    guard_consecutive = serializers.IntegerField(required=False, min_value=1, max_value=100)
    min_dwell_minutes = serializers.IntegerField(required=False, min_value=0, max_value=43200)
    guard_policy = serializers.ChoiceField(choices=["rollback", "pause"], required=False)


class RolloutStartSerializer(GuardSerializer):
    flag = serializers.CharField(max_length=100)
    plan = serializers.JSONField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000)


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    expected_stage = serializers.CharField(required=False, max_length=64)
    override = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=50,
        help_text="names of failing gates a person passes on purpose (advance, set-phase); needs override_reason",
    )
    override_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SetPhaseSerializer(ReasonSerializer):
    phase = serializers.CharField(max_length=64)


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    to = serializers.CharField(required=False, max_length=64)
    all = serializers.BooleanField(default=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("all") and attrs.get("to"):
            raise serializers.ValidationError("Give either 'to' or 'all', not both.")
        return attrs


class ValidateSerializer(serializers.Serializer):
    validation_type = serializers.ChoiceField(choices=VALIDATION_TYPES)
    flag = serializers.CharField(required=False, max_length=100)


# --- responses (documentation of what the API answers; the views build them from the selectors) -------------


class CohortsOut(serializers.Serializer):
    admin = serializers.BooleanField()
    beta = serializers.BooleanField()
    regular = serializers.BooleanField(help_text="percent is 100")


class WindowOut(serializers.Serializer):
    active_from = serializers.DateTimeField(allow_null=True)
    active_until = serializers.DateTimeField(allow_null=True)
    active_now = serializers.BooleanField()


class GateResultOut(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class RolloutSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField()
    stage_index = serializers.IntegerField()
    stages = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField(help_text="active, paused, completed or aborted")
    guard_policy = serializers.CharField(help_text="rollback or pause")
    guard_rules = serializers.ListField(child=serializers.CharField())
    guard_consecutive = serializers.IntegerField()
    min_dwell_minutes = serializers.IntegerField()
    stage_entered_at = serializers.DateTimeField()
    last_gate_results = GateResultOut(many=True)


class FlagOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    killed = serializers.BooleanField()
    everyone = serializers.BooleanField(allow_null=True)
    cohorts = CohortsOut()
    percent = serializers.IntegerField(allow_null=True)
    groups = serializers.ListField(child=serializers.CharField())
    users = serializers.IntegerField(help_text="how many users are targeted one by one")
    window = WindowOut()
    env_override = serializers.BooleanField(allow_null=True)
    rollout = RolloutSummaryOut(allow_null=True)
    modified = serializers.DateTimeField()


class FlagListOut(serializers.Serializer):
    flags = FlagOut(many=True)


class FlagChangeOut(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    reason = serializers.CharField()
    changed = serializers.ListField(child=serializers.CharField())
    before = serializers.DictField()
    after = serializers.DictField()


class FlagDetailOut(FlagOut):
    history = FlagChangeOut(many=True)


class FlagUpdateOut(FlagOut):
    changed = serializers.ListField(child=serializers.CharField())


class ToggleOut(serializers.Serializer):
    success = serializers.BooleanField()
    changed = serializers.BooleanField()
    flag = FlagOut()


class FlagCheckOut(serializers.Serializer):
    flag = serializers.CharField()
    user_id = serializers.IntegerField()
    enabled = serializers.BooleanField()
    reason = serializers.CharField()
    bucket = serializers.IntegerField(help_text="1..100")


class TransitionOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    # "from" is a Python keyword: declared below
    to = serializers.CharField()
    actor = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    reason = serializers.CharField()
    blocked = serializers.BooleanField()
    gate_results = GateResultOut(many=True)
    duration_ms = serializers.FloatField()
    details = serializers.DictField()
    created_at = serializers.DateTimeField()


TransitionOut._declared_fields["from"] = serializers.CharField()


class RolloutDetailOut(RolloutSummaryOut):
    flag = serializers.CharField()
    plan = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(allow_null=True)
    transitions = TransitionOut(many=True)


class RolloutListOut(serializers.Serializer):
    rollouts = RolloutDetailOut(many=True)


class RescoreOfferOut(serializers.Serializer):
    flag = serializers.CharField()
    available = serializers.BooleanField()
    count = serializers.IntegerField(help_text="results computed under the rolled-back method")
    description = serializers.CharField()


class TransitionResponseOut(serializers.Serializer):
    transition = TransitionOut()
    rollout = RolloutDetailOut()
    rescore = RescoreOfferOut(allow_null=True, help_text="after a rollback: what re-scoring would recompute")


class RescoreStartedOut(serializers.Serializer):
    job_id = serializers.IntegerField()
    activities = serializers.IntegerField()
    status_url = serializers.CharField()


class CheckOut(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class ValidationOut(serializers.Serializer):
    validation_type = serializers.CharField()
    passed = serializers.BooleanField()
    checks = CheckOut(many=True)
