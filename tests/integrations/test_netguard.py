"""The webhook guard refuses internal addresses, also when an IPv6 address carries an IPv4 one inside it."""

from __future__ import annotations

import ipaddress
import socket
import urllib.request

import pytest

from integrations import netguard
from tests.receiver import Receiver

# IPv6 literals that reach an internal IPv4 address, or an internal network, through an embedding.
REFUSED = [
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/latest",  # NAT64 of the cloud metadata address
    "http://[64:ff9b:1::1]/",  # local-use NAT64: a prefix of some local network
    "http://[64:ff9b:1:a00:1::]/",
    "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
    "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
    "http://[::a00:1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://[2001:0:808:808:0:0:f7f7:f7f7]/",  # Teredo of public 8.8.8.8 server and client: still refused
    "http://[fec0::1]/",  # site-local
    "http://[ff02::1]/",  # multicast
    "http://[ff0e::1]/",
    "http://[::]/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[2001:db8::1]/",  # documentation
    "http://[3fff::1]/",  # documentation (RFC 9637)
    "http://[5f00::1]/",  # segment-routing SIDs, outside global unicast
    "http://[4000::1]/",  # unassigned, outside global unicast
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
]

ALLOWED = [
    "http://[2606:4700:4700::1111]/",
    "https://[2a00:1450:4001:82a::200e]/hook",
    "http://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8: a gateway on our path would reach 8.8.8.8 only
    "http://[2002:808:808::1]/",  # 6to4 of 8.8.8.8
    "http://[::ffff:8.8.8.8]/",  # how a dual-stack socket names an IPv4 peer
    "http://8.8.8.8/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_ipv6_forms_of_internal_addresses_are_refused_at_registration(url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(netguard.AddressRefused, match="an internal address"):
        netguard.check_url(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_public_addresses_in_any_form_are_accepted(url, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    netguard.check_url(url)  # literals: getaddrinfo answers without DNS


def test_a_host_named_in_the_allowed_hosts_skips_the_check(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["64:ff9b::7f00:1"]  # urlsplit's hostname drops the brackets
    netguard.check_url("http://[64:ff9b::7f00:1]/")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::c0a8:1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b:1::808:808", False),  # local-use NAT64, whatever it embeds
        ("64:ff9b:0:0:1::1", False),  # in 64:ff9b::/32 but neither NAT64 prefix
        ("2002:a00:1::", False),
        ("2002:808:808::", True),
        ("2002:e000:1::", False),  # 6to4 of multicast 224.0.0.1
        ("::7f00:1", False),
        ("::808:808", True),
        ("::ffff:7f00:1", False),
        ("::ffff:808:808", True),
        ("::ffff:6440:1", False),  # 100.64.0.1, carrier-grade NAT
        ("2001::1", False),
        ("2001:0:808:808::1", False),
        ("fec0::1", False),
        ("feff::1", False),
        ("ff0e::1", False),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("1.1.1.1", True),
    ],
)
def test_address_is_public_unwraps_ipv4_inside_ipv6(address, public):
    assert netguard.address_is_public(ipaddress.ip_address(address)) is public


def test_a_peer_that_is_nat64_of_loopback_at_connect_time_is_refused_unsent(monkeypatch, settings):
    """Public at registration, then the connection goes through a NAT64 gateway to 127.0.0.1.

    The test has no gateway, so it connects to a local receiver and has the socket report the peer as the
    NAT64 form of loopback, as a socket talking through a gateway would.
    """
    hook = Receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = []
    real = socket.getaddrinfo

    def public_answer(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    class ThroughNat64(socket.socket):
        def getpeername(self):
            return ("64:ff9b::7f00:1", hook.port, 0, 0)

    create_connection = socket.create_connection

    def connect_to_the_receiver(address, *args, **kwargs):
        sock = create_connection(("127.0.0.1", hook.port), *args, **kwargs)
        timeout = sock.gettimeout()
        peer = ThroughNat64(sock.family, sock.type, sock.proto, fileno=sock.detach())
        peer.settimeout(timeout)
        return peer

    monkeypatch.setattr(socket, "getaddrinfo", public_answer)
    # http.client takes socket.create_connection when a connection is made; the check calls none.
    monkeypatch.setattr(socket, "create_connection", connect_to_the_receiver)
    request = urllib.request.Request(f"http://hooks.example.com:{hook.port}/hook", data=b"{}", method="POST")
    try:
        with pytest.raises(netguard.AddressRefused, match=r"64:ff9b::7f00:1, an internal address"):
            netguard.guarded_open(request, timeout=5)
        assert hook.requests == []
    finally:
        hook.close()


def test_an_ipv4_mapped_loopback_peer_at_connect_time_is_refused_unsent(monkeypatch, settings):
    """A real dual-stack connection: an IPv6 socket to ::ffff:127.0.0.1 reaches the IPv4 receiver."""
    hook = Receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = []
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # the check sees a public address, the connection a mapped loopback

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            answer = next(answers, None)
            if answer:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:127.0.0.1", port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    request = urllib.request.Request(f"http://hooks.example.com:{hook.port}/hook", data=b"{}", method="POST")
    peer = r"::ffff:(7f00:1|127\.0\.0\.1)"  # Python versions write it either way
    try:
        with pytest.raises(netguard.AddressRefused, match=rf"{peer}, an internal address"):
            netguard.guarded_open(request, timeout=5)
        assert hook.requests == []
    finally:
        hook.close()
