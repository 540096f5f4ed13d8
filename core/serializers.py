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


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

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

    def get_progress(self, obj: Job) -> dict[str, float | int | None]:
        return {"done": obj.progress_done, "total": obj.progress_total, "fraction": obj.progress_fraction}
