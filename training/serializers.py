"""API shapes of the training app: validation of requests, rendering of activities and profiles."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from training.models import Activity, HeartRateProfile, Method, Sex


class HeartRateProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = HeartRateProfile
        fields = [
            "id",
            "athlete",
            "effective_from",
            "resting_hr",
            "max_hr",
            "sex",
            "threshold_hr",
            "vt1_hr",
            "vt2_hr",
            "created_at",
        ]
        read_only_fields = ["id", "athlete", "created_at"]


class HeartRateProfileInputSerializer(serializers.Serializer):
    effective_from = serializers.DateField()
    resting_hr = serializers.FloatField(min_value=1, max_value=300)
    max_hr = serializers.FloatField(min_value=1, max_value=300)
    sex = serializers.ChoiceField(choices=Sex.choices, default=Sex.UNSPECIFIED)
    threshold_hr = serializers.FloatField(min_value=1, max_value=300, required=False, allow_null=True)
    vt1_hr = serializers.FloatField(min_value=1, max_value=300, required=False, allow_null=True)
    vt2_hr = serializers.FloatField(min_value=1, max_value=300, required=False, allow_null=True)


ACTIVITY_FIELDS = [
    "id",
    "athlete",
    "sport",
    "start",
    "local_date",
    "elapsed_seconds",
    "timer_seconds",
    "average_hr",
    "source",
    "external_id",
    "trimp",
    "trimp_calculation_method",
    "trimp_method_reason",
    "hr_stream_sample_count",
    "credited_seconds",
    "trimp_processed_at",
    "hr_profile",
    "engine_version",
    "trimp_warnings",
    "trimp_error_code",
]


class ActivitySerializer(serializers.ModelSerializer):
    average_hr = serializers.FloatField(
        source="display_average_hr",
        read_only=True,
        allow_null=True,
        help_text="bpm: the device's or client's summary average, else the stream's time-weighted mean.",
    )
    average_hr_source = serializers.CharField(
        read_only=True, allow_null=True, help_text="summary | stream | null (no heart rate to average)"
    )

    class Meta:
        model = Activity
        fields = [*ACTIVITY_FIELDS, "average_hr_source", "hr_profile_backfilled"]
        read_only_fields = fields


class ActivityDetailSerializer(ActivitySerializer):
    hr_profile_used = serializers.SerializerMethodField()
    trimp_detail = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = [
            *ActivitySerializer.Meta.fields,
            "filename",
            "sample_count",
            "trimp_error",
            "trimp_detail",
            "calculation_ms",
            "hr_profile_used",
            "created_at",
        ]
        read_only_fields = fields

    def get_hr_profile_used(self, obj: Activity) -> dict[str, Any] | None:
        if obj.hr_profile is None:
            return None
        return HeartRateProfileSerializer(obj.hr_profile).data  # type: ignore[return-value]

    def get_trimp_detail(self, obj: Activity) -> dict[str, Any]:
        """TRIMP and the values beside it: Banister stream TRIMP, Edwards, Lucia, the reference duration."""
        return {
            "trimp": obj.trimp,
            "method": obj.trimp_calculation_method or None,
            "reason": obj.trimp_method_reason or None,
            "valid_samples": obj.hr_stream_sample_count,
            "credited_seconds": obj.credited_seconds,
            "error_code": obj.trimp_error_code or None,
            "error": obj.trimp_error or None,
            "warnings": obj.trimp_warnings,
            "engine_version": obj.engine_version or None,
            **obj.trimp_details,
        }


class ActivityFilterSerializer(serializers.Serializer):
    athlete = serializers.IntegerField(required=False, min_value=1)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    sport = serializers.CharField(required=False, max_length=32)
    method = serializers.ChoiceField(choices=[*Method.values, "none"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"to": "must not be before from"})
        return attrs


class ActivityUploadSerializer(serializers.Serializer):
    """Multipart: ``file`` plus optional fields. JSON: ``streams`` (Strava's shape) and ``start``."""

    athlete_id = serializers.IntegerField(required=False, min_value=1)
    athlete = serializers.IntegerField(required=False, min_value=1, help_text="alias of athlete_id")
    sport = serializers.CharField(required=False, max_length=32, allow_blank=True)
    start = serializers.DateTimeField(required=False)
    average_heartrate = serializers.FloatField(required=False, min_value=1, max_value=300, allow_null=True)
    moving_time = serializers.FloatField(required=False, min_value=0.001, allow_null=True)
    external_id = serializers.CharField(required=False, max_length=200, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in sorted(unknown)})
        both = attrs.get("athlete_id"), attrs.get("athlete")
        if None not in both and both[0] != both[1]:
            raise serializers.ValidationError({"athlete_id": "athlete and athlete_id disagree"})
        attrs["athlete_id"] = both[0] if both[0] is not None else both[1]
        return attrs


class StreamQuerySerializer(serializers.Serializer):
    max_points = serializers.IntegerField(required=False, min_value=2, max_value=100_000)


class TrainingLoadQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class RecalculateSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["all", "athlete", "since"], required=False)
    athlete_id = serializers.IntegerField(required=False, min_value=1, allow_null=True)
    since = serializers.DateField(required=False, allow_null=True)
    dry_run = serializers.BooleanField(default=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        scope = attrs.get("scope")
        if scope == "athlete" and not attrs.get("athlete_id"):
            raise serializers.ValidationError({"athlete_id": "required for scope athlete"})
        if scope == "since" and not attrs.get("since"):
            raise serializers.ValidationError({"since": "required for scope since"})
        if scope == "all" and (attrs.get("athlete_id") or attrs.get("since")):
            raise serializers.ValidationError({"scope": "scope all takes no athlete_id or since"})
        return attrs


class ComparisonSerializer(serializers.Serializer):
    activity_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False)
    sample = serializers.IntegerField(required=False, min_value=1)
    athlete_id = serializers.IntegerField(required=False, min_value=1)
    since = serializers.DateField(required=False)
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**32 - 1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("activity_ids") and attrs.get("sample"):
            raise serializers.ValidationError({"sample": "give activity_ids or a sample, not both"})
        return attrs


class SettingsUpdateSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
