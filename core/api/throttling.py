"""Throttles that keep the API up when the cache is down (they allow the request and log the fault)."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _CacheSafeMixin:
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception:
            logger.warning("throttle cache unavailable; allowing the request", exc_info=True)
            return True


class SafeAnonRateThrottle(_CacheSafeMixin, AnonRateThrottle):
    pass


class SafeUserRateThrottle(_CacheSafeMixin, UserRateThrottle):
    pass


class SafeScopedRateThrottle(_CacheSafeMixin, SimpleRateThrottle):
    """Per-user throttle whose rate comes from the view's ``throttle_scope``."""

    def __init__(self) -> None:  # the rate is read from the view in allow_request
        pass

    def allow_request(self, request: Any, view: Any) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
