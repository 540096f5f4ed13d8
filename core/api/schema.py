"""Schema helpers for plain APIViews (drf-spectacular needs a serializer to describe a response)."""

from __future__ import annotations

from rest_framework import serializers


class JSONObjectSerializer(serializers.Serializer):
    """A JSON object; the endpoint's summary and the README say what is in it."""
