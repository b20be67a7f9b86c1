from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction

from integrations import outbox
from integrations.models import Outbox
from leads.models import Lead, LeadEvent, PickupNotice
from leads.services import Actor, escalation, lead_accept
from tests import factories
from tests.factories import WARM, make_lead

WAW = ZoneInfo("Europe/Warsaw")
# The story below happens on fixed days: the clock is pinned there for everything it touches.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime(2026, 11, 23, 9, 0, tzinfo=WAW))]
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)
TUESDAY_11 = datetime(2026, 11, 24, 11, 0, tzinfo=WAW)  # after the warm lead's 8-hour deadline


@pytest.fixture
def overdue(pipeline, rep, manager):
    factories.add_member(pipeline.sales_team, manager)
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    assert lead.owner == rep
    return lead


def test_overdue_lead_breaches_once_and_goes_to_the_next_rep(overdue, rep, other_rep, manager):
    result = escalation.check_overdue_pickups(now=TUESDAY_11)
    assert (result.breached, result.reminded) == (1, 0)  # too late for a reminder
    lead = Lead.objects.get(pk=overdue.pk)
    assert (lead.owner, lead.pickup_breaches, lead.assignment_no) == (other_rep, 1, 2)
    assert lead.pickup_deadline == datetime(2026, 11, 25, 11, 0, tzinfo=WAW)  # 8 fresh business hours
    event = lead.events.get(kind="breached")
    assert (event.clause, event.details["missed_by"], event.details["new_owner"]) == (
        "handoff.escalation",
        "rep",
        "other_rep",
    )
    assert escalation.check_overdue_pickups(now=TUESDAY_11).breached == 0
    assert PickupNotice.objects.filter(kind="breach").count() == 1


def test_a_breach_another_sweep_recorded_at_the_same_instant_is_not_claimed_again(overdue):
    # What a concurrent sweep that committed between our claim and our insert leaves: this assignment's
    # notice, written at the very same `now`. Ours must not count it as its own.
    PickupNotice.objects.create(
        lead=overdue, assignment_no=overdue.assignment_no, kind="breach", at=TUESDAY_11
    )
    assert escalation._claim_notices(PickupNotice.Kind.BREACH, [overdue.pk], TUESDAY_11) == set()
    assert PickupNotice.objects.filter(kind="breach").count() == 1
    Lead.objects.filter(pk=overdue.pk).update(assignment_no=overdue.assignment_no + 1)  # reassigned since
    assert escalation._claim_notices(PickupNotice.Kind.BREACH, [overdue.pk], TUESDAY_11) == {overdue.pk}


def test_breach_email_names_the_clause_and_links_the_lead(overdue, rep, other_rep, manager):
    outbox.outbox_deliver(now=MONDAY_10)  # the handoff's notice to the rep
    mail.outbox.clear()
    escalation.leads_escalate_overdue(now=TUESDAY_11)
    assert outbox.outbox_deliver(now=TUESDAY_11) == 1
    (message,) = mail.outbox
    assert set(message.to) == {rep.email, other_rep.email, manager.email}
    assert "Pickup deadline missed" in message.subject
    assert "SLA v1 §handoff.pickup.warm" in message.body
    assert "8 business hours" in message.body
    assert "§handoff.escalation" in message.body
    assert f"/leads/{overdue.pk}/" in message.body


def test_a_second_missed_deadline_is_a_second_breach(overdue, other_rep):
    escalation.leads_escalate_overdue(now=TUESDAY_11)
    escalation.leads_escalate_overdue(now=TUESDAY_11 + timedelta(days=2))
    lead = Lead.objects.get(pk=overdue.pk)
    assert lead.pickup_breaches == 2
    assert lead.events.filter(kind="breached").count() == 2


def test_without_another_rep_the_lead_is_left_with_the_manager(overdue, other_rep, manager):
    overdue.agreement.sales_team.memberships.filter(user=other_rep).update(is_available=False)
    escalation.leads_escalate_overdue(now=TUESDAY_11)
    lead = Lead.objects.get(pk=overdue.pk)
    assert (lead.owner, lead.pickup_deadline) == (manager, None)
    assert escalation.leads_escalate_overdue(now=TUESDAY_11 + timedelta(days=3)).breached == 0
    # The manager may pick it up.
    assert lead_accept(lead=lead, actor=Actor.of(manager), now=TUESDAY_11).status == "accepted"


def test_when_the_sla_does_not_reassign_the_owner_keeps_it_and_it_breaches_once(overdue, rep, marketer):
    version = overdue.sla_version
    section = version.sections.get(key="handoff")
    section.data = {**section.data, "escalation_reassign": False}
    section.save()
    from agreements.selectors import clear_version_cache

    clear_version_cache()
    lead = Lead.objects.select_related("sla_version").get(pk=overdue.pk)
    assert escalation.leads_escalate_overdue(now=TUESDAY_11).breached == 1
    assert escalation.leads_escalate_overdue(now=TUESDAY_11 + timedelta(days=1)).breached == 0
    lead.refresh_from_db()
    assert (lead.owner, lead.pickup_breaches) == (rep, 1)


def test_accepted_leads_never_breach(overdue, rep):
    lead_accept(lead=overdue, actor=Actor.of(rep), now=MONDAY_10)
    assert escalation.check_overdue_pickups(now=TUESDAY_11).breached == 0


def test_reminder_at_three_quarters_of_the_pickup_time_once(overdue, rep):
    # 75% of 8 business hours from Monday 10:00 is Monday 16:00.
    assert overdue.reminder_at == datetime(2026, 11, 23, 16, 0, tzinfo=WAW)
    assert escalation.leads_send_reminders(now=datetime(2026, 11, 23, 15, 59, tzinfo=WAW)) == 0
    assert escalation.leads_send_reminders(now=datetime(2026, 11, 23, 16, 0, tzinfo=WAW)) == 1
    assert escalation.leads_send_reminders(now=datetime(2026, 11, 23, 16, 30, tzinfo=WAW)) == 0

    outbox.outbox_deliver(now=TUESDAY_11)
    handoff, message = mail.outbox
    assert "A lead for you" in handoff.subject
    assert message.to == [rep.email]
    assert "§handoff.pickup.warm" in message.body
    assert Lead.objects.get(pk=overdue.pk).events.filter(kind="reminded").count() == 1


def test_no_reminder_once_the_deadline_has_passed(overdue):
    assert escalation.leads_send_reminders(now=TUESDAY_11) == 0
    assert not PickupNotice.objects.filter(kind="reminder").exists()


def test_reminders_can_be_turned_off(pipeline, settings):
    settings.PICKUP_REMINDER_SHARE = 0
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    assert lead.reminder_at is None
    assert lead.pickup_deadline is not None


def test_check_overdue_pickups_command(overdue, capsys):
    from django.utils import timezone

    with time_machine.travel(TUESDAY_11, tick=False):
        call_command("check_overdue_pickups")
        assert timezone.now() == TUESDAY_11
    out = capsys.readouterr().out
    assert "1 breach(es), 0 reminder(s)" in out
    assert "2 message(s) sent" in out  # the breach, and the handoff's notice to the rep before it


def test_failed_delivery_is_retried_with_backoff_then_given_up(settings, monkeypatch):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    calls = []

    def broken(payload, message_id=None):
        calls.append(payload)
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setitem(outbox.SENDERS, Outbox.Channel.EMAIL, broken)
    start = MONDAY_10
    # Queued on the test's clock, not the machine's: the message is due from `start`.
    with time_machine.travel(start, tick=False), transaction.atomic():
        outbox.outbox_email(to=["a@example.com"], subject="s", body="b")
    assert outbox.outbox_deliver(now=start) == 0
    message = Outbox.objects.get()
    assert (message.attempts, message.status) == (1, "pending")
    assert message.next_attempt_at == start + timedelta(minutes=1)
    assert outbox.outbox_deliver(now=start + timedelta(seconds=30)) == 0
    assert len(calls) == 1  # not due yet
    outbox.outbox_deliver(now=start + timedelta(minutes=1))
    outbox.outbox_deliver(now=start + timedelta(minutes=10))
    message.refresh_from_db()
    assert (message.attempts, message.status) == (3, "failed")
    assert "SMTP down" in message.last_error


def _failing_change():
    with transaction.atomic():
        outbox.outbox_email(to=["a@example.com"], subject="s", body="b")
        raise RuntimeError("the change failed")


def test_a_rolled_back_change_sends_nothing():
    with pytest.raises(RuntimeError):
        _failing_change()
    assert not Outbox.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_every_lead_exactly_once(pipeline, manager):
    factories.add_member(pipeline.sales_team, manager)
    for n in range(40):
        make_lead(external_id=f"C{n}", now=MONDAY_10, activities=WARM)
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(escalation.leads_escalate_overdue(now=TUESDAY_11, batch=7).breached)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(results) == 40
    assert LeadEvent.objects.filter(kind="breached").count() == 40
    assert set(Lead.objects.values_list("pickup_breaches", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)  # real commits, so the after-commit nudges really run
def test_one_nudge_per_transaction_however_many_messages(monkeypatch):
    sent = []
    monkeypatch.setattr("integrations.tasks.deliver_outbox.apply_async", lambda **kw: sent.append(kw))
    with transaction.atomic():
        for n in range(5):
            outbox.outbox_email(to=[f"{n}@example.com"], subject="s", body="b")
        assert sent == []  # nothing before the commit
    assert len(sent) == 1
    assert Outbox.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_broker_found_down_pauses_the_nudges_not_the_writes(monkeypatch, caplog):
    calls = []

    def down(**kwargs):
        calls.append(kwargs)
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr("integrations.tasks.deliver_outbox.apply_async", down)
    for n in range(3):
        with transaction.atomic():
            outbox.outbox_email(to=[f"{n}@example.com"], subject="s", body="b")
    assert len(calls) == 1, "after one failure the next commits do not try the broker again"
    assert Outbox.objects.filter(status="pending").count() == 3  # the sweep sends them later
    assert "the periodic sweep will send it" in caplog.text
    monkeypatch.setattr(outbox, "_nudges_paused_until", 0.0)  # the pause is over
    with transaction.atomic():
        outbox.outbox_email(to=["late@example.com"], subject="s", body="b")
    assert len(calls) == 2


def test_a_pickup_clocked_before_a_breach_written_first_is_a_late_pickup_as_the_tallies_say(overdue, rep):
    """The sweep records the breach (the owner keeps the lead) with a clock a little ahead of the rep's
    pickup, which waited for the lead's lock. Read as the report reads the steps before the pickup, the
    breach comes after it: the pickup is a late one of its own, and the tallies agree with the events."""
    from agreements.selectors import clear_version_cache
    from leads.services import recount

    section = overdue.sla_version.sections.get(key="handoff")
    section.data = {**section.data, "escalation_reassign": False}
    section.save()
    clear_version_cache()
    lead = Lead.objects.select_related("sla_version").get(pk=overdue.pk)
    assert escalation.leads_escalate_overdue(now=TUESDAY_11 + timedelta(seconds=2)).breached == 1
    accepted = lead_accept(lead=lead, actor=Actor.of(rep), now=TUESDAY_11)
    event = accepted.events.get(kind="accepted")
    assert event.details["within_deadline"] is False
    assert event.details["unrecorded_breach"] is True
    assert recount.tallies_verify() == []
