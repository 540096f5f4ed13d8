"""Planning API input validation and response shapes (the runbook's camelCase)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from planning.engine import vocab
from planning.engine.records import FIELDS
from planning.models import Movement, PlanJob


class StrictIntegerField(serializers.IntegerField):
    """An integer in JSON: ``"4"``, ``4.5`` and ``true`` are refused (wrong types are a 400, not a coercion)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class UserRefField(serializers.Field):
    """The athlete: an id (integer) or a username (string)."""

    default_error_messages = {"invalid": "Must be a user id (integer) or a username (string)."}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and not (0 < len(data.strip()) <= 150):
            self.fail("invalid")
        return data.strip() if isinstance(data, str) else data

    def to_representation(self, value: Any) -> Any:
        return value


class PlanGenerateSerializer(serializers.Serializer):
    userId = UserRefField(help_text="The athlete's id or username: yourself, one of your athletes, anyone for staff.")
    weeklyGoalDays = StrictIntegerField(min_value=1, max_value=7)
    availabilityDays = StrictIntegerField(min_value=1, max_value=7)
    goals = serializers.ListField(child=serializers.ChoiceField(choices=vocab.GOALS), min_length=1, max_length=6)
    experience = serializers.ChoiceField(choices=vocab.EXPERIENCES)
    durationWeeks = StrictIntegerField(min_value=4, max_value=16, required=False)
    availableWeekdays = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=7), min_length=1, max_length=7, required=False
    )
    equipment = serializers.ListField(
        child=serializers.ChoiceField(choices=vocab.EQUIPMENT), max_length=len(vocab.EQUIPMENT), required=False
    )
    injuries = serializers.ListField(
        child=serializers.ChoiceField(choices=vocab.INJURIES), max_length=len(vocab.INJURIES), required=False
    )
    startDate = serializers.DateField(required=False)
    seed = StrictIntegerField(min_value=0, max_value=2**31 - 1, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in sorted(unknown)})
        for name in ("goals", "availableWeekdays", "equipment", "injuries"):
            if name in attrs:
                attrs[name] = sorted(set(attrs[name]), key=attrs[name].index)  # duplicates collapse, order kept
        return attrs


class PlanJobAcceptedSerializer(serializers.Serializer):
    jobId = serializers.UUIDField()
    status = serializers.ChoiceField(choices=PlanJob.Status.values)


class PlanResultSerializer(serializers.Serializer):
    plan = serializers.JSONField(help_text="durationWeeks, phases, microcycles → sessions → exercises (planning.md)")
    scoring = serializers.JSONField(
        required=False, help_text="The fixed-weight-v1 payload (docs/contracts); absent when the flag is off."
    )


class PlanJobSerializer(serializers.ModelSerializer):
    jobId = serializers.UUIDField(source="job_id")
    userId = serializers.IntegerField(source="user_id")
    request = serializers.JSONField()
    resultData = PlanResultSerializer(source="result_data", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = PlanJob
        fields = ["jobId", "userId", "status", "request", "resultData", "error", "createdAt", "startedAt", "finishedAt"]

    def to_representation(self, instance: PlanJob) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["resultData"] = instance.result_data  # stored JSON as is: no "scoring": null when it is absent
        core_job = instance.core_job
        if instance.status == PlanJob.Status.QUEUED and core_job is not None and core_job.status == "running":
            data["status"] = PlanJob.Status.RUNNING  # a worker holds it (the plan job row is written once, at the end)
            data["startedAt"] = self.fields["startedAt"].to_representation(core_job.started_at)
        return dict(data)


class MovementQuerySerializer(serializers.Serializer):
    pattern = serializers.ChoiceField(choices=vocab.PATTERNS, required=False)
    equipment = serializers.ChoiceField(choices=vocab.EQUIPMENT, required=False, help_text="Needs this equipment.")
    level = serializers.ChoiceField(choices=vocab.LEVELS, required=False)
    status = serializers.ChoiceField(choices=Movement.Status.choices, required=False, help_text="Default published.")


class MovementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Movement
        fields = [*FIELDS, "status", "updated_at"]
