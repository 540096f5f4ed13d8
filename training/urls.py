"""Training-load API routes (mounted under /api/ by core.urls)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
