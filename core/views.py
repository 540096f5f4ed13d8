"""Foundation endpoints: health, metrics, auth tokens, the current user, visible athletes, jobs."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api.responses import error_response
from core.api.throttling import LoginUsernameRateThrottle
from core.health import health_report
from core.jobs import internal_kinds
from core.models import Job, User
from core.permissions import OwnedQuerysetMixin, is_staff_user
from core.serializers import JobSerializer, TokenRequestSerializer, TokenResponseSerializer, UserSerializer
from core.services import token_create, token_revoke, user_profile_update


def home(request: HttpRequest) -> HttpResponse:
    """The landing page ("View site" in the console): links to every entry point."""
    return render(request, "home.html")


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database, cache, broker and migrations are fine; 503 naming what is not."""
    ok, checks = health_report()
    failing = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ok" if ok else "unhealthy", "failing": failing, "checks": checks}
    return JsonResponse(body, status=200 if ok else 503)


def _client_allowed(request: HttpRequest) -> bool:
    address = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if ip in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition for staff sessions or allow-listed addresses (``METRICS_ALLOWED_IPS``)."""
    if not (is_staff_user(request.user) or _client_allowed(request)):
        return error_response("permission_denied", "Metrics are for staff or allow-listed addresses.", 403)
    return ExportToDjangoView(request)


@csrf_exempt  # a JSON 404 for any method: it changes nothing, and a CSRF page would break the error shape
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return error_response("not_found", f"No API endpoint at {request.path}.", 404)


class TokenView(APIView):
    """Exchange a username and password for a Bearer token (shown once)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_scope = "login"  # per address (``login``) and per target username (``login_username``)
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, LoginUsernameRateThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None or not user.is_active:
            return Response(
                {"error": {"code": "invalid_credentials", "message": "Wrong username or password.", "details": None}},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        instance, token = token_create(user=user)
        return Response({"token": token, "expiry": instance.expiry}, status=status.HTTP_201_CREATED)


class LogoutView(APIView):
    """Revoke the Bearer token used for this request."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):  # a session has no token to revoke
            token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(generics.RetrieveUpdateAPIView):
    serializer_class = UserSerializer
    http_method_names = ["get", "patch", "options"]

    def get_object(self) -> User:
        return self.request.user  # type: ignore[return-value]

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = user_profile_update(user=self.get_object(), **serializer.validated_data)


class AthleteViewSet(OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Athletes the caller may see: themselves; a coach's linked athletes; everyone for staff."""

    owner_field = "pk"
    serializer_class = UserSerializer
    queryset = User.objects.prefetch_related("coach_links").order_by("pk")


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background jobs: your own, or all of them for staff."""

    serializer_class = JobSerializer
    queryset = Job.objects.order_by("-created_at")

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if is_staff_user(self.request.user):
            return queryset
        # your own jobs, even for a coach; not the system's bookkeeping done on your behalf (feedback triage)
        return queryset.filter(created_by=self.request.user).exclude(kind__in=internal_kinds())
