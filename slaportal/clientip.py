"""Whose request it is: the address that login lockouts and API throttles count by."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind TRUSTED_PROXY_COUNT proxies of our own, the address the outermost of them saw
    (from X-Forwarded-For). Entries a client wrote into that header itself are never trusted, so it cannot
    pose as another address to dodge a lockout or to lock someone else out."""
    # None for a request that came from no socket (a sign-in made in code, as tests and scripts do).
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    # Our nearest proxy is REMOTE_ADDR; each proxy appends the address it saw, so the client is the entry
    # the outermost of ours appended.
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:  # not an address: what our proxy wrote is garbled, so count by the proxy
        return remote
