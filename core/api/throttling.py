"""Throttles that keep the API up when the cache is down (they allow the request and log the fault).

Every throttle keys anonymous callers on :func:`core.client_address.client_address`, which believes
``X-Forwarded-For`` only from ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rest_framework.exceptions import APIException
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from core.client_address import client_address

logger = logging.getLogger(__name__)


class _CacheSafeMixin:
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except APIException:
            raise  # e.g. a malformed body read by a throttle keyed on it: the client's error, not the cache's
        except Exception:
            logger.warning("throttle cache unavailable; allowing the request", exc_info=True)
            return True

    def get_ident(self, request: Any) -> str:
        return client_address(request.META)


class SafeAnonRateThrottle(_CacheSafeMixin, AnonRateThrottle):
    pass


class SafeUserRateThrottle(_CacheSafeMixin, UserRateThrottle):
    pass


class SafeScopedRateThrottle(_CacheSafeMixin, SimpleRateThrottle):
    """Per-user throttle whose rate comes from the view's ``throttle_scope`` (per address when anonymous)."""

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


class LoginUsernameRateThrottle(_CacheSafeMixin, SimpleRateThrottle):
    """Password guesses per target username (rate ``login_username``), whatever address they come from.

    The key is a digest of the case-folded name, so the cache never holds user names.
    """

    scope = "login_username"

    def __init__(self) -> None:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        data = request.data
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username.strip():
            return None
        digest = hashlib.sha256(username.strip().casefold().encode("utf-8", "replace")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}
