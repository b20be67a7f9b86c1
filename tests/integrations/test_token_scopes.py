"""API tokens carry scopes (read, write, erase), each within what the token's user may do."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiToken
from integrations.tokens import TokenError, token_create
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db


def client_with(user, scopes):
    _, raw = token_create(user=user, name="scoped", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_read_token_reads_and_changes_nothing(pipeline, marketer):
    client = client_with(marketer, ["read"])
    assert client.get("/api/v1/leads").status_code == 200
    response = client.post("/api/v1/leads", {"external_id": "r-1"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This token does not have the 'write' scope."
    assert client.post("/api/v1/webhooks", {}, format="json").status_code == 403


def test_a_write_only_token_sends_but_does_not_read(pipeline, marketer):
    client = client_with(marketer, ["write"])
    assert client.post("/api/v1/leads", {"external_id": "w-1"}, format="json").status_code == 201
    assert client.get("/api/v1/leads").status_code == 403


def test_erasing_needs_the_erase_scope_which_only_an_admin_token_holds(pipeline, admin_user, marketer):
    lead = make_lead(external_id="e-1", now=timezone.now(), activities=WARM, first_name="Ann")
    everyday = client_with(admin_user, ["read", "write"])
    refused = everyday.post(f"/api/v1/leads/{lead.pk}/erase")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This token does not have the 'erase' scope."
    lead.refresh_from_db()
    assert lead.first_name == "Ann"
    assert lead.erased_at is None
    # The erase scope alone is enough for erasing, and for nothing else.
    eraser = client_with(admin_user, ["erase"])
    assert eraser.post(f"/api/v1/leads/{lead.pk}/erase").status_code == 200
    assert eraser.get(f"/api/v1/leads/{lead.pk}").status_code == 403
    with pytest.raises(TokenError, match="may not give a token the 'erase' scope"):
        token_create(user=marketer, name="x", scopes=["read", "erase"])


def test_an_erase_token_stops_erasing_when_its_user_is_no_longer_an_admin(pipeline, admin_user):
    lead = make_lead(external_id="e-2", now=timezone.now(), activities=WARM)
    eraser = client_with(admin_user, ["erase"])
    admin_user.groups.clear()
    assert eraser.post(f"/api/v1/leads/{lead.pk}/erase").status_code == 403


@pytest.mark.parametrize(
    ("scopes", "message"),
    [([], "Choose at least one scope."), (["read", "delete"], "Unknown scope 'delete'")],
)
def test_tokens_are_made_with_known_scopes_only(marketer, scopes, message):
    with pytest.raises(TokenError, match=message):
        token_create(user=marketer, name="x", scopes=scopes)
    assert not ApiToken.objects.exists()


def test_the_token_page_offers_the_scopes_the_user_may_give(client, marketer, admin_user):
    client.force_login(marketer)
    page = client.get("/integrations/api-tokens/").content.decode()
    assert 'value="read"' in page
    assert 'value="write"' in page
    assert 'value="erase"' not in page
    # A crafted post asking for more is an inline error, and no token is made.
    response = client.post("/integrations/api-tokens/", {"name": "sneaky", "scopes": ["read", "erase"]})
    assert response.status_code == 422
    assert "Select a valid choice. erase is not one of the available choices." in response.content.decode()
    assert not ApiToken.objects.exists()
    missing = client.post("/integrations/api-tokens/", {"name": "none"})
    assert missing.status_code == 422
    assert "Choose at least one scope." in missing.content.decode()
    assert 'id="id_name_helptext"' in missing.content.decode()  # what the field's aria-describedby names
    assert not ApiToken.objects.exists()
    client.force_login(admin_user)
    assert 'value="erase"' in client.get("/integrations/api-tokens/").content.decode()
    made = client.post("/integrations/api-tokens/", {"name": "GDPR desk", "scopes": ["erase"]}, follow=True)
    assert ApiToken.objects.get(user=admin_user).scopes == ["erase"]
    assert "GDPR desk" in made.content.decode()


def test_the_command_makes_a_token_with_the_scopes_asked(marketer):
    out = io.StringIO()
    call_command("create_api_token", marketer.username, "--scopes", "read", stdout=out)
    assert ApiToken.objects.get(user=marketer).scopes == ["read"]
    with pytest.raises(CommandError, match="may not give a token the 'erase' scope"):
        call_command("create_api_token", marketer.username, "--scopes", "read,erase", stdout=out)


def test_a_token_with_an_expiry_stops_working_then_and_says_so_on_the_page(client, marketer):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(marketer)
        made = client.post(
            "/integrations/api-tokens/",
            {"name": "Trial", "scopes": ["read"], "expires_in_days": "30"},
            follow=True,
        )
        token = ApiToken.objects.get(user=marketer)
        assert token.expires_at == start + timedelta(days=30)
        raw = re.search(r'id="new-token">([^<]+)<', made.content.decode()).group(1)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        clock.shift(timedelta(days=30) - timedelta(seconds=1))
        assert api.get("/api/v1/ping").status_code == 200
        clock.shift(timedelta(seconds=2))
        assert api.get("/api/v1/ping").status_code == 401
        client.force_login(marketer)  # a month later the session has long ended
        assert "expired" in client.get("/integrations/api-tokens/").content.decode()


def test_a_token_lasts_one_day_to_ten_years_or_until_revoked(marketer):
    with pytest.raises(TokenError, match="1 to 3650 days"):
        token_create(user=marketer, name="x", expires_in_days=0)
    assert token_create(user=marketer, name="x")[0].expires_at is None
    out = io.StringIO()
    call_command("create_api_token", marketer.username, "--expires-days", "7", stdout=out)
    assert ApiToken.objects.exclude(expires_at=None).count() == 1
