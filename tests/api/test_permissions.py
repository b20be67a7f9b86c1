"""Who may call what: every API endpoint × every persona, on a lead owned by `rep`, from one table.

The rules are the browser's (leads.permissions): marketing and managers see every lead, a rep only their
own; only the owner picks a lead up or answers feedback; the owner or a manager closes it; a manager
reassigns; marketing (and integrations acting for it) send leads and activities; admins manage webhooks.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead
from leads.services import Actor
from tests.factories import WARM, make_lead
from tests.leads.test_views import PERSONAS  # the browser's matrix uses the same personas

pytestmark = pytest.mark.django_db


def row(ok: int, allowed: set[str], *, others: int = 403) -> dict[str, int]:
    """Success for `allowed`, `others` (403) for the rest, 401 for anonymous: every cell of the row."""
    return {p: 401 if p == "anonymous" else ok if p in allowed else others for p in PERSONAS}


EVERY_ROLE = {"marketer", "marketing_approver", "rep", "other_rep", "manager", "admin_user"}
SEES_THE_LEAD = {"marketer", "marketing_approver", "rep", "manager", "admin_user"}
MARKETING = {"marketer", "marketing_approver", "admin_user"}

# name: (method, path, lead status before, body, expected status per persona)
TABLE: dict[str, tuple[str, str, str, dict | None, dict[str, int]]] = {
    "ping": ("get", "/api/v1/ping/", "handed_off", None, row(200, EVERY_ROLE | {"norole"})),
    "list": ("get", "/api/v1/leads/", "handed_off", None, row(200, EVERY_ROLE)),
    "upsert": ("post", "/api/v1/leads/", "handed_off", {"external_id": "new-1"}, row(201, MARKETING)),
    "detail": ("get", "/api/v1/leads/{id}/", "handed_off", None, row(200, SEES_THE_LEAD)),
    "events": ("get", "/api/v1/leads/{id}/events/", "handed_off", None, row(200, SEES_THE_LEAD)),
    "activities": (
        "post",
        "/api/v1/activities/",
        "handed_off",
        {"lead_external_id": "P1", "type": "webinar_attendance", "occurred_at": "{now}", "external_id": "a"},
        row(201, MARKETING),
    ),
    "accept": ("post", "/api/v1/leads/{id}/accept/", "handed_off", None, row(200, {"rep"})),
    "reject": (
        "post",
        "/api/v1/leads/{id}/reject/",
        "handed_off",
        {"reason": "no_fit", "note": "Too small"},
        row(200, {"rep"}),
    ),
    "qualify": (
        "post",
        "/api/v1/leads/{id}/qualify/",
        "accepted",
        {"product_potential": True, "purchase_timeframe_months": 3},
        row(200, {"rep"}),
    ),
    "close": (
        "post",
        "/api/v1/leads/{id}/close/",
        "accepted",
        {"outcome": "won"},
        row(200, {"rep", "manager", "admin_user"}),
    ),
    "reassign": (
        "post",
        "/api/v1/leads/{id}/reassign/",
        "accepted",
        {"owner": "other_rep"},
        row(200, {"manager", "admin_user"}),
    ),
    "feedback": (
        "post",
        "/api/v1/leads/{id}/feedback/",
        "accepted",
        {"answers": {"talk": "Good"}},
        row(200, {"rep"}),
    ),
    "agreement": ("get", "/api/v1/agreements/active/", "handed_off", None, row(200, EVERY_ROLE)),
    "reports": ("get", "/api/v1/reports/", "handed_off", None, row(200, EVERY_ROLE)),
    "stored reports": ("get", "/api/v1/reports/monthly/", "handed_off", None, row(200, EVERY_ROLE)),
    "webhooks": ("get", "/api/v1/webhooks/", "handed_off", None, row(200, {"admin_user"})),
}


@pytest.fixture
def lead_of_rep(pipeline, rep):
    def make(status: str) -> Lead:
        lead = make_lead(external_id="P1", now=timezone.now(), activities=WARM)
        Lead.objects.filter(pk=lead.pk).update(owner=rep)
        lead.refresh_from_db()
        assert lead.status == "handed_off"
        if status == "accepted":
            lead = services.lead_accept(lead=lead, actor=Actor.of(rep))
        return lead

    return make


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", list(TABLE))
def test_who_may_call_what(endpoint, persona, lead_of_rep, request, api):
    method, path, status, body, expected = TABLE[endpoint]
    lead = lead_of_rep(status)
    client = APIClient() if persona == "anonymous" else api(request.getfixturevalue(persona))
    if body and "occurred_at" in body:
        body = {**body, "occurred_at": timezone.now().isoformat()}
    response = getattr(client, method)(path.format(id=lead.pk), body, format="json")
    assert response.status_code == expected[persona], (endpoint, persona, response.json())
    if response.status_code in (401, 403):
        assert set(response.json()) == {"detail"}
