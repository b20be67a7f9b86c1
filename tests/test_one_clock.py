"""One clock runs through a call: a service given `now` writes that instant into everything it records.

The wall clock is pinned years away from the story's instants, so any write that reads the wall clock
instead of the `now` it was given shows up as a mismatch.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integrations import outbox
from integrations.models import Outbox, WebhookSubscription
from leads import services
from leads.models import Activity, Lead, LeadEvent
from leads.services import Actor, escalation
from reporting.models import MonthlyReport
from reporting.periods import Period
from reporting.services import report_build
from tests import factories
from tests.factories import WARM, make_lead

WAW = ZoneInfo("Europe/Warsaw")
WALL_CLOCK = datetime(2031, 6, 1, 12, 0, tzinfo=WAW)
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(WALL_CLOCK, tick=False)]


@pytest.fixture
def subscribed(pipeline):
    # Directly in the table: the API's own checks are tested elsewhere; here only the clock matters.
    return WebhookSubscription.objects.create(
        url="https://crm.example.com/hook",
        secret="s" * 32,
        events=["lead.handed_off", "lead.accepted", "report.published"],
    )


def outbox_times(channel: str) -> set[tuple[datetime, datetime]]:
    return {(m.created_at, m.next_attempt_at) for m in Outbox.objects.filter(channel=channel)}


def test_ingest_writes_its_now_into_events_activities_and_webhooks(subscribed, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    assert lead.status == Lead.Status.HANDED_OFF
    assert set(Activity.objects.values_list("created_at", flat=True)) == {MONDAY_10}
    assert set(LeadEvent.objects.filter(kind="handed_off").values_list("at", flat=True)) == {MONDAY_10}
    assert outbox_times("webhook") == {(MONDAY_10, MONDAY_10)}
    body = json.loads(Outbox.objects.get(channel="webhook").payload["body"])
    assert datetime.fromisoformat(body["occurred_at"]) == MONDAY_10


def test_a_sweep_at_now_queues_its_mail_due_at_now(pipeline, rep, other_rep, manager):
    factories.add_member(pipeline.sales_team, manager)
    make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    handoff = (MONDAY_10, MONDAY_10)  # the rep's notice of the new lead
    reminder_at = datetime(2026, 11, 23, 16, 0, tzinfo=WAW)  # 75 % of 8 business hours
    assert escalation.check_overdue_pickups(now=reminder_at).reminded == 1
    assert outbox_times("email") == {handoff, (reminder_at, reminder_at)}
    breach_at = reminder_at + timedelta(days=1)
    assert escalation.check_overdue_pickups(now=breach_at).breached == 1
    assert outbox_times("email") == {handoff, (reminder_at, reminder_at), (breach_at, breach_at)}
    # Delivered by a sweep at the breach's instant, all are due and recorded as sent then.
    assert outbox.outbox_deliver(now=breach_at) == 3
    assert set(Outbox.objects.values_list("sent_at", flat=True)) == {breach_at}


def test_a_report_built_at_now_publishes_at_now(pipeline, subscribed):
    pipeline.versions.update(effective_from=datetime(2026, 10, 1, tzinfo=WAW))
    built_at = datetime(2026, 11, 1, 0, 30, tzinfo=WAW)
    _, created = report_build(
        agreement=pipeline, period=Period("month", 2026, 10, "Europe/Warsaw"), now=built_at
    )
    assert created
    assert MonthlyReport.objects.get().built_at == built_at
    assert outbox_times("webhook") == {(built_at, built_at)}
    assert outbox_times("email") == {(built_at, built_at)}


def test_sales_actions_write_their_now(pipeline, rep, subscribed):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    accepted_at = MONDAY_10 + timedelta(minutes=20)
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep), now=accepted_at)
    assert (lead.accepted_at, lead.picked_up_at, lead.updated_at) == (accepted_at,) * 3
    assert lead.events.get(kind="accepted").at == accepted_at
    (message,) = Outbox.objects.filter(payload__event="lead.accepted")
    assert (message.created_at, message.next_attempt_at) == (accepted_at, accepted_at)
    assert datetime.fromisoformat(json.loads(message.payload["body"])["occurred_at"]) == accepted_at
