"""The batch transition: many leads moved in a fixed number of statements, all or nothing, published at
once; the sweep uses it, so its cost per batch does not grow with the leads in it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from integrations.models import Outbox, WebhookSubscription
from leads.models import Lead, LeadEvent
from leads.services import Actor, TransitionConflict, escalation
from leads.services.transitions import Move, leads_transition
from tests import factories
from tests.factories import WARM, clone_leads, make_lead

WAW = ZoneInfo("Europe/Warsaw")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)
WEDNESDAY_10 = MONDAY_10 + timedelta(days=2)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MONDAY_10, tick=False)]


@pytest.fixture
def hooked(pipeline, manager):
    factories.add_member(pipeline.sales_team, manager)
    WebhookSubscription.objects.create(
        url="https://crm.example.com/h", secret="s" * 32, events=["lead.pickup_overdue"]
    )
    return pipeline


def sweep_queries(count: int) -> tuple[int, int]:
    template = make_lead(external_id=f"T{count}", now=MONDAY_10, activities=WARM)
    clone_leads(template, count - 1)
    with CaptureQueriesContext(connection) as queries:
        breached = escalation.leads_escalate_overdue(now=WEDNESDAY_10, batch=500).breached
    return breached, len(queries)


def test_a_sweep_runs_the_same_statements_for_5_overdue_leads_as_for_60(hooked):
    few = sweep_queries(5)
    Lead.objects.all().delete()
    Outbox.objects.all().delete()
    many = sweep_queries(60)
    assert (few[0], many[0]) == (5, 60)
    assert many[1] == few[1], f"statements grew with the batch: {few[1]} -> {many[1]}"
    # Each lead still gets its event, its webhook delivery and its e-mail.
    assert LeadEvent.objects.filter(kind="breached").count() == 60
    assert Outbox.objects.filter(channel="webhook", payload__event="lead.pickup_overdue").count() == 60
    subjects = Outbox.objects.filter(channel="email").values_list("payload__subject", flat=True)
    assert sum("deadline missed" in subject for subject in subjects) == 60


def test_a_batch_with_one_lead_moved_meanwhile_writes_nothing(hooked):
    leads = [make_lead(external_id=f"C{n}", now=MONDAY_10, activities=WARM) for n in range(3)]
    moved = leads[1]
    Lead.objects.filter(pk=moved.pk).update(status="accepted")  # someone accepted it since it was read
    moves = [
        Move(lead=lead, to="handed_off", changes={"pickup_breaches": F("pickup_breaches") + 1})
        for lead in leads
    ]
    with pytest.raises(TransitionConflict):
        leads_transition(moves=moves, actor=Actor.system(), kind="breached", action="escalate", now=MONDAY_10)
    assert LeadEvent.objects.filter(kind="breached").count() == 0
    assert list(Lead.objects.order_by("pk").values_list("pickup_breaches", flat=True)) == [0, 0, 0]


@pytest.mark.parametrize("breaches", ["plain", "expression"])
def test_a_conflict_names_the_lead_that_moved(hooked, breaches):
    # Plain values take PostgreSQL's single UPDATE … FROM (VALUES …); an expression the ORM's CASE.
    leads = [make_lead(external_id=f"M{n}", now=MONDAY_10, activities=WARM) for n in range(3)]
    moved = leads[2]
    Lead.objects.filter(pk=moved.pk).update(status="accepted")
    moves = [
        Move(
            lead=lead,
            to="handed_off",
            changes={"pickup_breaches": 1 if breaches == "plain" else F("pickup_breaches") + 1},
        )
        for lead in leads
    ]
    with pytest.raises(TransitionConflict) as refused:
        leads_transition(moves=moves, actor=Actor.system(), kind="breached", action="escalate", now=MONDAY_10)
    assert refused.value.current == "accepted"
    assert "it is now accepted" in str(refused.value)
    assert list(Lead.objects.order_by("pk").values_list("pickup_breaches", flat=True)) == [0, 0, 0]


def test_a_column_one_move_leaves_alone_keeps_its_value(hooked, rep, other_rep):
    leads = [make_lead(external_id=f"K{n}", now=MONDAY_10, activities=WARM) for n in range(2)]
    owners = [lead.owner for lead in leads]
    later = MONDAY_10 + timedelta(hours=5)
    moves = [
        Move(lead=leads[0], to="handed_off", changes={"owner": owners[1], "pickup_deadline": later}),
        Move(lead=leads[1], to="handed_off", changes={"reminder_at": None}),
    ]
    leads_transition(moves=moves, actor=Actor.system(), kind="breached", action="escalate", now=MONDAY_10)
    first, second = (Lead.objects.get(pk=lead.pk) for lead in leads)
    assert (first.owner, first.pickup_deadline) == (owners[1], later)
    assert (second.owner, second.pickup_deadline) == (owners[1], leads[1].pickup_deadline)
    assert second.reminder_at is None


def test_each_lead_of_a_batch_gets_its_own_values(hooked, rep, other_rep):
    leads = [make_lead(external_id=f"V{n}", now=MONDAY_10, activities=WARM) for n in range(2)]
    deadlines = [MONDAY_10 + timedelta(hours=1), MONDAY_10 + timedelta(hours=2)]
    moves = [
        Move(lead=lead, to="handed_off", changes={"owner": owner, "pickup_deadline": deadline})
        for lead, owner, deadline in zip(leads, [other_rep, rep], deadlines, strict=True)
    ]
    done = leads_transition(
        moves=moves, actor=Actor.system(), kind="breached", action="escalate", now=MONDAY_10
    )
    assert [lead.owner for lead in done] == [other_rep, rep]
    assert [lead.pickup_deadline for lead in done] == deadlines
