from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rest_framework import serializers

from core.models import Job, User


class UserSerializer(serializers.ModelSerializer):
    coaches = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "role", "timezone", "is_staff", "coaches"]
        read_only_fields = ["id", "username", "role", "is_staff", "coaches"]

    def get_coaches(self, obj: User) -> list[int]:
        return [link.coach_id for link in obj.coach_links.all()]

    def validate_timezone(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"{value!r} is not an IANA time zone.") from exc
        return value


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class JobProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done", min_value=0)
    total = serializers.IntegerField(source="progress_total", allow_null=True, min_value=0)
    fraction = serializers.FloatField(source="progress_fraction", allow_null=True, min_value=0, max_value=1)


class JobSerializer(serializers.ModelSerializer):
    progress = JobProgressSerializer(source="*", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "params",
            "result",
            "error",
            "progress",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]
