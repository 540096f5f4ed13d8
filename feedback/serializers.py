from __future__ import annotations

from rest_framework import serializers

from feedback.limits import EXTERNAL_VALUE_MAX, EXTERNAL_VALUE_MIN
from feedback.models import (
    AccuracyValidation,
    Category,
    ExternalSource,
    Feedback,
    FeedbackType,
)


class SubmitSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=FeedbackType.choices)
    message = serializers.CharField(trim_whitespace=True, allow_blank=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True, default="")
    rating = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    activity_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    plan_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    app_version = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    variants = serializers.DictField(child=serializers.CharField(max_length=64), required=False)


class FeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = [
            "id",
            "type",
            "category",
            "rating",
            "message",
            "status",
            "priority",
            "sentiment",
            "acknowledgement",
            "context",
            "activity",
            "created_at",
            "triaged_at",
            "acknowledged_at",
            "resolved_at",
            "duplicate_count",
        ]


class StaffFeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = [
            *FeedbackSerializer.Meta.fields,
            "user",
            "sentiment_score",
            "priority_rule",
            "category_rule",
            "category_source",
            "keywords",
            "topic",
            "overrides",
            "team",
            "assignee",
            "ack_due_at",
        ]


class AccuracySerializer(serializers.Serializer):
    activity_id = serializers.IntegerField(min_value=1)
    source = serializers.ChoiceField(choices=ExternalSource.choices)
    external_value = serializers.FloatField(min_value=EXTERNAL_VALUE_MIN, max_value=EXTERNAL_VALUE_MAX)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    variants = serializers.DictField(child=serializers.CharField(max_length=64), required=False)


class AccuracyValidationSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccuracyValidation
        fields = [
            "id",
            "activity",
            "source",
            "external_value",
            "our_value",
            "our_method",
            "relative_difference",
            "within_5pct",
            "note",
            "created_at",
        ]


class StaffUpdateSerializer(serializers.Serializer):
    status = serializers.CharField(required=False)
    assignee = serializers.CharField(required=False, allow_blank=True, help_text="username; empty to unassign")
    priority = serializers.CharField(required=False)
    sentiment = serializers.CharField(required=False)
    category = serializers.CharField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SummaryQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    # names become JSON key lookups: no "__" (which would turn into an ORM lookup such as __in)
    flag = serializers.RegexField(r"^(?!.*__)[A-Za-z0-9_.-]{1,100}$", required=False)
    variant = serializers.RegexField(r"^(?!.*__)[A-Za-z0-9_.-]{1,100}:[A-Za-z0-9_.-]{1,64}$", required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError("date_from must not be after date_to.")
        return attrs
