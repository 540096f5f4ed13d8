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


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    expected_stage = serializers.CharField(required=False, max_length=64)


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
