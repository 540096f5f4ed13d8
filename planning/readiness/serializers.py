"""Input validation (400 in the error shape) and output shapes of the readiness API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from planning.readiness.models import BaselineAssessment, CheckIn, TrainingSession


class StrictMixin:
    """Unknown fields are an error, not silently ignored."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)  # type: ignore[attr-defined]
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in sorted(unknown)})
        return attrs


class CheckInInput(StrictMixin, serializers.Serializer):
    user_id = serializers.IntegerField(required=False, min_value=1, help_text="athlete (default: you)")
    athlete_id = serializers.IntegerField(required=False, min_value=1)
    date = serializers.DateField(required=False)
    sleep_hours = serializers.FloatField(min_value=0, max_value=24)
    energy_level = serializers.IntegerField(min_value=1, max_value=5)
    stress_level = serializers.IntegerField(min_value=1, max_value=5)
    soreness = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    motivation = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    pain_reported = serializers.BooleanField(required=False, default=False)
    pain_note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def to_internal_value(self, data: Any) -> Any:
        # DRF coerces "7" and 7.9 for integers; a readiness check-in wants real numbers of the right type
        if isinstance(data, dict):
            errors = {}
            for name in ("energy_level", "stress_level", "soreness", "motivation"):
                value = data.get(name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    errors[name] = "must be a whole number"
            value = data.get("sleep_hours")
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                errors["sleep_hours"] = "must be a number"
            value = data.get("pain_reported")
            if value is not None and not isinstance(value, bool):
                errors["pain_reported"] = "must be true or false"
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class CheckInUpdate(CheckInInput):
    sleep_hours = serializers.FloatField(min_value=0, max_value=24, required=False)
    energy_level = serializers.IntegerField(min_value=1, max_value=5, required=False)
    stress_level = serializers.IntegerField(min_value=1, max_value=5, required=False)


class CheckInOutput(serializers.ModelSerializer):
    class Meta:
        model = CheckIn
        fields = [
            "id",
            "athlete_id",
            "date",
            "sleep_hours",
            "energy_level",
            "stress_level",
            "soreness",
            "motivation",
            "pain_reported",
            "pain_note",
            "created_at",
        ]


class SessionInput(StrictMixin, serializers.Serializer):
    athlete_id = serializers.IntegerField(required=False, min_value=1)
    date = serializers.DateField()
    sport = serializers.CharField(max_length=32, required=False, default="general")
    session_type = serializers.CharField(max_length=32, required=False, allow_blank=True)
    planned_duration_min = serializers.FloatField(min_value=0, max_value=2000, required=False, allow_null=True)
    actual_duration_min = serializers.FloatField(min_value=0, max_value=2000, required=False, allow_null=True)
    planned_intensity = serializers.FloatField(min_value=1, max_value=10, required=False, allow_null=True)
    actual_intensity = serializers.FloatField(min_value=1, max_value=10, required=False, allow_null=True)
    planned_volume = serializers.FloatField(min_value=0, required=False, allow_null=True)
    actual_volume = serializers.FloatField(min_value=0, required=False, allow_null=True)
    deviated_from_plan = serializers.BooleanField(required=False)
    session_quality = serializers.IntegerField(min_value=1, max_value=10, required=False, allow_null=True)
    session_rpe = serializers.IntegerField(min_value=1, max_value=10, required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    completed = serializers.BooleanField(required=False, default=False)
    activity_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    checkin_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    plan_job_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="the athlete's completed plan job (its job_id) whose session this is; with plan_day",
    )
    plan_day = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="day of that plan with a session: (week − 1) × 7 + weekday, 1 = Monday of week 1",
    )


class SessionUpdate(SessionInput):
    date = serializers.DateField(required=False)
    sport = serializers.CharField(max_length=32, required=False)
    completed = serializers.BooleanField(required=False)


class SessionOutput(serializers.ModelSerializer):
    plan_job_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="the linked plan job, or null")

    class Meta:
        model = TrainingSession
        fields = [
            "id",
            "athlete_id",
            "date",
            "sport",
            "session_type",
            "planned_duration_min",
            "actual_duration_min",
            "planned_intensity",
            "actual_intensity",
            "planned_volume",
            "actual_volume",
            "deviated_from_plan",
            "session_quality",
            "session_rpe",
            "notes",
            "completed",
            "completed_at",
            "activity_id",
            "checkin_id",
            "plan_job_id",
            "plan_day",
            "predicted_quality",
            "prediction_source",
            "created_at",
            "updated_at",
        ]


class BaselineInput(StrictMixin, serializers.Serializer):
    athlete_id = serializers.IntegerField(required=False, min_value=1)
    primary_sport = serializers.CharField(max_length=32, required=False)
    experience_level = serializers.ChoiceField(choices=BaselineAssessment.Experience.choices, required=False)
    experience_years = serializers.FloatField(min_value=0, max_value=80, required=False)
    goals = serializers.ListField(child=serializers.CharField(max_length=200), max_length=20, required=False)
    injuries = serializers.ListField(child=serializers.CharField(max_length=200), max_length=20, required=False)
    typical_week = serializers.DictField(required=False)


class BaselineOutput(serializers.ModelSerializer):
    class Meta:
        model = BaselineAssessment
        fields = [
            "id",
            "user_id",
            "primary_sport",
            "experience_level",
            "experience_years",
            "goals",
            "injuries",
            "typical_week",
            "created_at",
            "updated_at",
        ]
