"""Outgoing HTTP to addresses that customers type in (webhook URLs), kept off our own network.

A URL is refused when its host resolves to a loopback, private, link-local, multicast or otherwise
non-public address, unless the host is named in WEBHOOK_ALLOWED_HOSTS. `check_url` runs when a
subscription is saved; `guarded_open` checks again the address it actually connected to, before sending
a byte of the request, so a DNS answer that changes in between (DNS rebinding) cannot reach an internal
service either. Redirects are not followed, for the same reason, and no proxy from the environment is
used: the address checked is the address talked to.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(Exception):
    pass


def _allowed(host: str) -> bool:
    return host in settings.WEBHOOK_ALLOWED_HOSTS


def _refuse_internal(host: str, address: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast:
        raise AddressRefused(
            f"{host} resolves to {ip}, an internal address; name it in WEBHOOK_ALLOWED_HOSTS to allow it."
        )


def check_url(url: str) -> None:
    """Raise AddressRefused unless `url` is http(s) with a host that resolves to public addresses only."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(f"Not a usable URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Use an http or https URL with a host name.")
    host = parts.hostname
    if _allowed(host):
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"The host {host} does not resolve: {exc}") from None
    for info in infos:
        _refuse_internal(host, str(info[4][0]))


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        if not _allowed(self.host):
            try:
                _refuse_internal(self.host, self.sock.getpeername()[0])
            except AddressRefused:
                self.sock.close()
                raise


# The guard comes after HTTPSConnection in the order of classes, so it checks the TCP peer before the
# TLS handshake starts.
class _GuardedHTTPSConnection(http.client.HTTPSConnection, _GuardedHTTPConnection):
    pass


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status: a failed delivery


_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _GuardedHTTPHandler, _GuardedHTTPSHandler, _NoRedirects
)


def guarded_open(request: urllib.request.Request, *, timeout: float) -> Any:
    """urlopen for customer-given URLs: checked, connected only to public addresses, no redirects."""
    check_url(request.full_url)
    return _opener.open(request, timeout=timeout)
