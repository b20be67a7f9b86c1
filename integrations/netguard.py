"""Outgoing HTTP to addresses that customers type in (webhook URLs), kept off our own network.

A URL is refused when its host resolves to a loopback, private, link-local, multicast or otherwise
non-public address (an IPv6 address that carries an IPv4 one, such as NAT64 or 6to4, is judged by that
IPv4 address), unless the host is named in WEBHOOK_ALLOWED_HOSTS. `check_url` runs when a
subscription is saved; `guarded_open` checks again the address it actually connected to, before sending
a byte of the request, so a DNS answer that changes in between (DNS rebinding) cannot reach an internal
service either. Redirects are not followed, for the same reason, and no proxy from the environment is
used: the address checked is the address talked to.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(Exception):
    pass


def _allowed(host: str) -> bool:
    return host in settings.WEBHOOK_ALLOWED_HOSTS


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Every public IPv6 address is in 2000::/3; outside it are site-local fec0::/10 (which Python still calls
# global), multicast ff00::/8 and prefixes that only mean something on some local network.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Local-use NAT64 (RFC 8215) translates into whatever IPv4 network its operator chose, ours included.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# Teredo (2001::/32) is refused outright rather than by its embedded server and client addresses: the
# packets go through whichever Teredo relay is nearest to us, so where they end up is the relay's choice,
# and no receiver worth delivering to lives on Teredo. Python already calls all of 2001::/23 non-global;
# this keeps it so whatever the Python version.
_TEREDO = ipaddress.IPv6Network("2001::/32")
_DOCUMENTATION = ipaddress.IPv6Network("3fff::/20")  # RFC 9637, newer than Python 3.11's table


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside `ip` for the forms that stand for one (mapped, compatible, NAT64, 6to4)."""
    if ip.ipv4_mapped is not None:  # ::ffff:0:0/96, also how a dual-stack socket names an IPv4 peer
        return ip.ipv4_mapped
    if ip in _IPV4_COMPATIBLE or ip in _NAT64:  # the IPv4 address is the last 32 bits
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour  # 2002::/16, the IPv4 address in bits 16-48; None elsewhere


def address_is_public(ip: IPAddress) -> bool:
    """Whether `ip` is a global unicast address, judging an IPv6 address by any IPv4 address inside it.

    An embedded IPv4 address must be public itself: 64:ff9b::7f00:1 reaches 127.0.0.1 through a NAT64
    gateway, while 64:ff9b::808:808 (8.8.8.8) reaches only what 8.8.8.8 does, so it is allowed, as are
    the 6to4, IPv4-mapped and IPv4-compatible forms of public addresses.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_is_public(embedded)
        if ip in _NAT64_LOCAL or ip in _TEREDO or ip in _DOCUMENTATION or ip not in _GLOBAL_UNICAST:
            return False
    # is_global leaves out loopback, private, link-local, shared (100.64/10), unspecified, reserved and
    # documentation ranges, but not all of multicast.
    return ip.is_global and not ip.is_multicast


def _refuse_internal(host: str, address: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not address_is_public(ip):
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


class DeadlineExceeded(OSError):
    """The receiver did not answer (connection, status line and headers) in the time allowed."""


class _Deadline:
    """One time limit for a whole request. A socket timeout counts each read alone, so a receiver that
    trickles a header line every few seconds would hold a delivery for ever; at the deadline this shuts
    the connection's socket, which ends whatever read is waiting."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._timers: list[threading.Timer] = []

    def remaining(self) -> float:
        return max(self.at - time.monotonic(), 0.0)

    def watch(self, connection: http.client.HTTPConnection) -> None:
        timer = threading.Timer(self.remaining(), self._expire, args=(connection,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _expire(self, connection: http.client.HTTPConnection) -> None:
        self.expired = True
        with contextlib.suppress(OSError, AttributeError):
            connection.sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _connect_within(host: str, port: int, deadline: _Deadline) -> socket.socket:
    """socket.create_connection, but every address tried shares the one deadline (create_connection gives
    each the whole timeout, so a host with many unreachable addresses took that many times as long).
    The name's lookup itself is not bounded: the resolver's own timeouts apply."""
    error: OSError = DeadlineExceeded(f"No answer within {deadline.seconds:g} seconds.")
    for *_, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        if deadline.remaining() <= 0:
            break
        try:
            sock = socket.create_connection(address[:2], timeout=deadline.remaining())
        except OSError as exc:
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    if deadline.remaining() <= 0:
        deadline.expired = True
    raise error


class _GuardedHTTPConnection(http.client.HTTPConnection):
    deadline: _Deadline | None = None

    def connect(self) -> None:
        if self.deadline is None:
            super().connect()
        else:
            self.sock = _connect_within(self.host, self.port, self.deadline)
            self.deadline.watch(self)
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


def _with_deadline(cls: type[_GuardedHTTPConnection], deadline: _Deadline) -> Any:
    def make(*args: Any, **kwargs: Any) -> _GuardedHTTPConnection:
        connection = cls(*args, **kwargs)
        connection.deadline = deadline
        return connection

    return make


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_with_deadline(_GuardedHTTPConnection, self.deadline), req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(
            _with_deadline(_GuardedHTTPSConnection, self.deadline), req, context=self._context
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status: a failed delivery


def guarded_open(request: urllib.request.Request, *, timeout: float) -> Any:
    """urlopen for customer-given URLs: checked, connected only to public addresses, no redirects, and
    answered (status line and headers) within `timeout` seconds all told, or DeadlineExceeded."""
    check_url(request.full_url)
    deadline = _Deadline(timeout)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _GuardedHTTPHandler(deadline),
        _GuardedHTTPSHandler(deadline),
        _NoRedirects,
    )
    try:
        response = opener.open(request, timeout=timeout)
    except OSError:
        if deadline.expired:
            raise DeadlineExceeded(f"No answer within {timeout:g} seconds.") from None
        raise
    finally:
        deadline.cancel()
    # A socket shut mid-headers reads as their end, so a cut-off answer can look complete: it is not.
    if deadline.expired:
        response.close()
        raise DeadlineExceeded(f"No answer within {timeout:g} seconds.")
    return response
