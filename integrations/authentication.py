"""API authentication and throttling. Kept apart from integrations.api.common because DRF imports these
while its own views module is still loading."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from integrations.models import ApiToken
from integrations.tokens import token_allows, token_authenticate
from slaportal.clientip import client_ip


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`; requests so authenticated act as an integration."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        address = client_ip(request) or "unknown"
        # An address that keeps sending wrong tokens is guessing: it is refused outright for a while,
        # right tokens included, so guessing costs time instead of a request each.
        failures = cache.get(_failures_key(address), 0)
        if failures >= settings.API_AUTH_FAILURES:
            raise exceptions.Throttled(
                wait=settings.API_AUTH_FAILURE_WINDOW,
                detail="Too many requests with a wrong token from this address; try again later.",
            )
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Authorization: Bearer <token>.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            _count_failure(address)
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = token_authenticate(raw)
        if token is None:
            _count_failure(address)
            raise exceptions.AuthenticationFailed("The token is not valid, or was revoked.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenScope(BasePermission):
    """A token needs the scope of what it asks: `read` to read, `write` to change, or the view's own
    `token_scope` (`erase`). Browser sessions act with their user's role alone."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiToken):
            return True
        scope = getattr(view, "token_scope", None) or ("read" if request.method in SAFE_METHODS else "write")
        if token_allows(request.auth, scope):
            return True
        self.message = f"This token does not have the {scope!r} scope."
        return False


def _failures_key(address: str) -> str:
    return f"api-auth-failures:{address}"


def _count_failure(address: str) -> None:
    key = _failures_key(address)
    # The window starts at the first failure and is not stretched by later ones.
    if not cache.add(key, 1, timeout=settings.API_AUTH_FAILURE_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=settings.API_AUTH_FAILURE_WINDOW)


class TokenRateThrottle(SimpleRateThrottle):
    """A rate per token (per user for browser sessions), API_THROTTLE_RATE."""

    scope = "api"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.auth is not None and hasattr(request.auth, "pk"):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = client_ip(request) or "unknown"  # DRF's get_ident would trust X-Forwarded-For
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        allowed = super().allow_request(request, view)
        if getattr(self, "key", None) is not None:
            # What the RateLimit headers tell the client (integrations.api.common.RateLimitHeaders).
            reset = self.duration - (self.now - self.history[-1]) if self.history else self.duration
            remaining = max(self.num_requests - len(self.history), 0)
            request._request.rate_limit = (self.num_requests, remaining, max(int(reset), 0))
        return allowed
