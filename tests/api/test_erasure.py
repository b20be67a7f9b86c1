"""Erasing a person's data (GDPR Art. 17): the personal fields and notes go, the anonymous steps stay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import Outbox, WebhookSubscription
from leads import services
from leads.models import Activity, Lead
from leads.services import Actor, escalation
from reporting import selectors
from reporting.periods import period_containing
from slaportal.models import Notice
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(pipeline, rep):
    """A lead with everything that can name the person: its fields, a rejection note, activity details,
    a webhook delivery (pending) and a reminder e-mail (sent) about it."""
    WebhookSubscription.objects.create(
        url="https://crm.example.com/h", secret="s" * 32, events=["lead.handed_off"]
    )
    lead = make_lead(
        external_id="crm-ann",
        now=timezone.now() - timedelta(hours=2),
        activities=WARM,
        first_name="Ann",
        last_name="Smith",
        job_title="CTO",
        company_name="Acme",
    )
    Activity.objects.filter(lead=lead).update(details={"page": "/pricing?email=ann@acme.example"})
    assert escalation.leads_send_reminders(now=lead.reminder_at) == 1
    Outbox.objects.filter(channel="email").update(status="sent")
    return services.lead_reject(lead=lead, actor=Actor.of(rep), reason="no_fit", note="Ann said no")


def test_an_admin_erases_a_person_and_the_reports_do_not_change(told, admin_user, marketer, api):
    WebhookSubscription.objects.create(
        url="https://crm.example.com/h", secret="s" * 32, events=["lead.erased"]
    )
    period = period_containing(timezone.now(), "month", "Europe/Warsaw")
    before = selectors.report_figures(agreements=[told.agreement], period=period)
    assert api(marketer).post(f"/api/v1/leads/{told.pk}/erase").status_code == 403
    response = api(admin_user, scopes=["erase"]).post(f"/api/v1/leads/{told.pk}/erase")
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["first_name"], body["last_name"], body["job_title"]) == ("", "", "", "")
    assert body["company"]["name"] == ""
    assert body["company"]["employees"] == 120  # not personal: what the ICP and reports count
    assert body["external_id"] == f"erased-{told.pk}"
    assert body["erased_at"]
    lead = Lead.objects.get(pk=told.pk)
    assert lead.events.get(kind="rejected").details["note"] == "[erased]"
    assert list(Activity.objects.filter(lead=lead).values_list("details", flat=True)) == [{}, {}]
    assert lead.events.filter(kind="erased").count() == 1
    assert Outbox.objects.filter(payload__event="lead.erased").count() == 1
    assert all(c["detail"] == "[erased]" for c in lead.explanation["checks"] if c["clause"].startswith("icp"))
    # The outbox keeps when and where, not what: the pending delivery is not sent, the sent e-mail is blank.
    handoff = Outbox.objects.get(payload__event="lead.handed_off")
    assert (handoff.status, handoff.payload["body"]) == ("failed", "[erased]")
    mails = Outbox.objects.filter(channel="email")  # the handoff notice and the reminder to the rep
    assert mails.count() == 2
    for mail in mails:
        assert (mail.status, mail.payload["subject"], mail.payload["to"]) == ("sent", "[erased]", [])
    assert Notice.objects.filter(url=f"/leads/{told.pk}/").count() >= 1
    assert not Notice.objects.filter(text__contains="Smith").exists()
    everything = json.dumps([m.payload for m in Outbox.objects.all()] + [lead.explanation])
    assert "crm-ann" not in everything
    assert "Smith" not in everything
    after = selectors.report_figures(agreements=[told.agreement], period=period)
    assert after == before
    # Again: nothing more happens, and the answer is the same.
    again = api(admin_user, scopes=["erase"]).post(f"/api/v1/leads/{told.pk}/erase")
    assert again.json() == body
    assert lead.events.filter(kind="erased").count() == 1
    # The CRM's old id is free: sending the person again makes a new lead, not the erased one.
    assert api(marketer).get("/api/v1/leads", {"external_id": "crm-ann"}).json()["results"] == []


def test_the_browser_erasure_is_for_admins_and_confirmed(told, admin_user, manager, client):
    url = reverse("leads:erase", args=[told.pk])
    client.force_login(manager)
    assert client.post(url, {"confirm": "on"}).status_code == 403
    client.force_login(admin_user)
    page = client.get(reverse("leads:detail", args=[told.pk])).content.decode()
    assert "Erase personal data" in page
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 400
    assert Lead.objects.get(pk=told.pk).erased_at is None
    assert client.post(url, {"confirm": "on"}).status_code == 302
    page = client.get(reverse("leads:detail", args=[told.pk])).content.decode()
    assert "Ann said no" not in page
    assert "Smith" not in page
    assert "data was erased" in page
