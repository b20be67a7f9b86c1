"""What every response says about itself: a Content-Security-Policy that no page of ours needs to break,
no caching of signed-in pages or API answers, and sessions that end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from integrations.tokens import token_create
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_pages_carry_a_policy_that_allows_no_inline_script(client, pipeline, rep, admin_user):
    lead = make_lead(external_id="csp-1", now=timezone.now(), activities=WARM)
    login = client.get("/login/")
    assert "script-src 'self';" in login["Content-Security-Policy"]
    assert "unsafe-inline" not in login["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    pages = {rep: ["/", f"/leads/{lead.pk}/", "/reporting/", "/integrations/api-tokens/"]}
    pages[admin_user] = [
        f"/agreements/{pipeline.pk}/",
        "/leads/",
        "/admin/",
        "/api/docs/",
        "/integrations/api-tokens/",
    ]
    for user, paths in pages.items():
        client.force_login(user)
        for path in paths:
            response = client.get(path, follow=True)
            assert response.status_code == 200, path
            html = response.content.decode()
            # Anything inline would be refused by the browser, so no page of ours may need it.
            assert not INLINE_SCRIPT.findall(html), (path, INLINE_SCRIPT.findall(html))
            assert not HANDLER.findall(html), (path, HANDLER.findall(html))
            assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


def test_signed_in_pages_and_api_answers_are_not_stored_by_caches(client, rep):
    _, token = token_create(user=rep, name="cache")
    ping = client.get("/api/v1/ping", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ping.status_code == 200
    assert ping.headers["Cache-Control"] == "no-store"
    client.force_login(rep)
    page = client.get("/leads/inbox/")
    assert page.headers["Cache-Control"] == "no-store"
    # htmx keeps no copies of pages in localStorage, where they would outlive the session.
    assert '"historyCacheSize":0' in page.content.decode()


def test_a_session_ends_after_a_working_day_idle_and_with_the_browser(client, rep):
    start = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(rep)
        response = client.get("/leads/inbox/")
        assert response.status_code == 200
        cookie = (
            response.cookies.get(settings.SESSION_COOKIE_NAME) or client.cookies[settings.SESSION_COOKIE_NAME]
        )
        assert not cookie["max-age"]  # no lifetime in the browser: gone when it closes
        # Each request starts the idle count again: a whole day of work keeps the session.
        for _ in range(4):
            clock.shift(timedelta(hours=3))
            assert client.get("/leads/inbox/").status_code == 200
        clock.shift(timedelta(hours=8, seconds=1))
        assert client.get("/leads/inbox/")["Location"].startswith("/login/")
