"""Bodies and answers of the experiments API (validation and the OpenAPI shape; the services decide)."""

from __future__ import annotations

from rest_framework import serializers


class VariantInSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    traffic_percentage = serializers.FloatField(min_value=0, max_value=100)
    configuration = serializers.DictField(required=False, default=dict)


class MetricInSerializer(serializers.Serializer):
    """The seed's metric fields; ``name`` is a registered metric source."""

    name = serializers.CharField(max_length=100)
    metric_type = serializers.ChoiceField(choices=["primary", "secondary", "guardrail"])
    aggregation = serializers.ChoiceField(choices=["mean", "proportion"], required=False)
    target_direction = serializers.ChoiceField(choices=["increase", "decrease"], required=False)
    minimum_detectable_effect = serializers.FloatField(min_value=1e-6, default=0.05)
    significance_level = serializers.FloatField(min_value=1e-6, max_value=0.5, default=0.05)
    power = serializers.FloatField(min_value=0.05, max_value=0.999, default=0.8)


class SuccessCriteriaSerializer(serializers.Serializer):
    min_users_per_variant = serializers.IntegerField(min_value=2, default=1000)
    min_days = serializers.IntegerField(min_value=0, max_value=365, default=7)


class ExperimentCreateSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    hypothesis = serializers.CharField(required=False, allow_blank=True, default="")
    test_type = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    flag = serializers.CharField(required=False, max_length=100, help_text="Default: the key (created if missing).")
    variants = VariantInSerializer(many=True)
    metrics = MetricInSerializer(many=True)
    success_criteria = SuccessCriteriaSerializer(required=False)


class VariantSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    traffic_percentage = serializers.FloatField()
    configuration = serializers.DictField()


class MetricSerializer(serializers.Serializer):
    source = serializers.CharField()
    role = serializers.CharField()
    kind = serializers.CharField()
    direction = serializers.CharField()
    mde = serializers.FloatField()
    alpha = serializers.FloatField()
    power = serializers.FloatField()


class ResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    verdict = serializers.ChoiceField(choices=["ship", "do_not_ship", "keep_running", "invalid"])
    reason = serializers.CharField()
    srm_p_value = serializers.FloatField(allow_null=True)
    exposures = serializers.DictField(child=serializers.IntegerField())
    duration_ms = serializers.FloatField()
    data = serializers.DictField(help_text="control, days, and per metric: variants (n, mean) and comparisons.")


class ExperimentSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    hypothesis = serializers.CharField()
    test_type = serializers.CharField()
    flag = serializers.CharField(source="flag.name")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    min_days = serializers.IntegerField()
    min_users_per_variant = serializers.IntegerField()
    variants = VariantSerializer(many=True, source="variants.all")
    metrics = MetricSerializer(many=True, source="metrics.all")


class ExperimentListSerializer(serializers.Serializer):
    experiments = ExperimentSerializer(many=True)


class JobAcceptedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()
    status = serializers.CharField()


class AnalyseRequestSerializer(serializers.Serializer):
    full = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Rebuild the metric sums from every event instead of folding only the new ones "
        "(after events were corrected).",
    )
