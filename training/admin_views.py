"""Ops pages of the training app in the admin console (placeholder until the training-load issue)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def trimp_settings_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("TRIMP settings: not built yet", content_type="text/plain")
