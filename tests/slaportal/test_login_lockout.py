"""Guessing passwords is slowed to nothing: after LOGIN_FAILURES wrong ones for an account, or from an
address, signing in pauses for LOGIN_LOCKOUT_SECONDS, on the login page and the admin's alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from slaportal.clientip import client_ip

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LIMIT = settings.AXES_FAILURE_LIMIT


def sign_in(
    client: Client, username: str, password: str, path: str = "/login/", address: str = "198.51.100.7"
):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def words(response) -> str:
    """The page without what differs between any two renders (the CSRF token)."""
    return re.sub(r"[A-Za-z0-9]{64}", "", response.content.decode())


@time_machine.travel(START, tick=False)
def test_an_account_pauses_after_wrong_passwords_and_opens_again_after_the_cooloff(client, rep):
    for _ in range(LIMIT - 1):
        assert sign_in(client, rep.username, "wrong").status_code == 200  # the form, with its error
    paused = sign_in(client, rep.username, "wrong")
    assert paused.status_code == 429
    assert paused["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "Signing in is paused" in paused.content.decode()
    # The right password does not get in while paused, from another address either.
    assert sign_in(client, rep.username, "pw", address="203.0.113.9").status_code == 429
    with time_machine.travel(START + settings.AXES_COOLOFF_TIME + timedelta(seconds=1), tick=False):
        assert sign_in(client, rep.username, "pw")["Location"] == "/"


@time_machine.travel(START, tick=False)
def test_the_pause_says_nothing_about_whether_the_account_exists(client, rep):
    for username in (rep.username, "nobody-by-this-name"):
        for _ in range(LIMIT):
            sign_in(client, username, "wrong", address=f"192.0.2.{len(username)}")
    real = sign_in(client, rep.username, "wrong", address="192.0.2.200")
    made_up = sign_in(client, "nobody-by-this-name", "wrong", address="192.0.2.201")
    assert real.status_code == made_up.status_code == 429
    assert words(real) == words(made_up)


@time_machine.travel(START, tick=False)
def test_an_address_that_tries_many_accounts_is_paused_for_all_of_them(client, rep, manager):
    for n in range(LIMIT):
        sign_in(client, f"guess-{n}", "wrong")
    assert sign_in(client, rep.username, "pw").status_code == 429
    assert sign_in(client, manager.username, "pw", address="203.0.113.10")["Location"] == "/"


@time_machine.travel(START, tick=False)
def test_the_admin_login_pauses_too_and_an_admin_lifts_a_pause(client, rep, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    for _ in range(LIMIT):
        sign_in(client, rep.username, "wrong", path="/admin/login/")
    assert sign_in(client, rep.username, "pw", path="/admin/login/").status_code == 429
    assert sign_in(client, rep.username, "pw").status_code == 429
    # An administrator sees the attempts in the admin and deletes them: the pause is lifted.
    staff = Client()
    staff.force_login(admin_user)
    listing = staff.get("/admin/axes/accessattempt/")
    assert rep.username in listing.content.decode()
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    staff.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, rep.username, "pw")["Location"] == "/"


def test_a_forwarded_for_header_counts_only_behind_a_trusted_proxy(client, rep, settings):
    spoofed = {"HTTP_X_FORWARDED_FOR": "10.9.9.9"}
    for n in range(LIMIT):
        client.post("/login/", {"username": f"g{n}", "password": "x"}, REMOTE_ADDR="198.51.100.7", **spoofed)
    # With no proxy of ours the header is the client's own words: the lockout is on its real address.
    assert AccessAttempt.objects.filter(ip_address="198.51.100.7").exists()
    assert not AccessAttempt.objects.filter(ip_address="10.9.9.9").exists()


@time_machine.travel(START, tick=False)
def test_signing_in_to_ones_own_account_does_not_reset_the_count_against_another(client, rep, manager):
    # Guesses at the manager's password, a sign-in to one's own account, more guesses: the sign-in does
    # not wipe the guesses made from here, so they add up and the manager's account pauses.
    for _ in range(LIMIT // 2):
        sign_in(client, manager.username, "guess")
    assert sign_in(client, rep.username, "pw")["Location"] == "/"
    client.logout()
    for _ in range(LIMIT - LIMIT // 2):
        sign_in(client, manager.username, "guess")
    assert sign_in(client, manager.username, "pw", address="203.0.113.20").status_code == 429


@time_machine.travel(START, tick=False)
def test_a_person_who_signs_in_after_a_typo_starts_again_from_nothing(client, rep):
    for _ in range(LIMIT - 1):
        sign_in(client, rep.username, "typo")
    assert sign_in(client, rep.username, "pw")["Location"] == "/"
    client.logout()
    for _ in range(LIMIT - 1):
        assert sign_in(client, rep.username, "typo").status_code == 200


def test_a_garbled_forwarded_for_from_our_proxy_counts_as_the_proxy(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "203.0.113.5"
    garbled = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(garbled) == "10.0.0.2"
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5")
    assert client_ip(spoofed) == "203.0.113.5"  # what the client wrote before our proxy is not trusted
