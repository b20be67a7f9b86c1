"""No sequence of actions, by anyone, moves a lead along a transition the state machine does not list."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads import services
from leads.models import Lead
from leads.services import ALLOWED, TRANSITIONS, Actor
from tests.factories import WARM, make_lead

START = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
# The story below happens on fixed days: the clock is pinned there for everything it touches.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(START - timedelta(hours=1))]
TERMINAL = {Lead.Status.WON, Lead.Status.LOST, Lead.Status.DISQUALIFIED}
_ids = itertools.count()

actions = st.lists(
    st.one_of(
        st.tuples(st.just("accept"), st.sampled_from(["owner", "other", "manager"])),
        st.tuples(st.just("reject"), st.sampled_from(["not_ready", "no_fit", "no_budget", "bogus"])),
        st.tuples(st.just("qualify"), st.booleans(), st.integers(-1, 30)),
        st.tuples(
            st.just("close"), st.sampled_from(["won", "lost", "maybe"]), st.sampled_from(["owner", "manager"])
        ),
        st.tuples(
            st.just("reassign"),
            st.sampled_from(["rep", "other_rep", "ghost"]),
            st.sampled_from(["manager", "owner"]),
        ),
        st.tuples(st.just("feedback"), st.sampled_from(["owner", "other"])),
        st.tuples(st.just("time_passes"), st.integers(1, 120)),
        st.tuples(st.just("engage")),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_no_sequence_reaches_a_forbidden_status(pipeline, rep, other_rep, manager, steps):
    people = {"rep": rep, "other_rep": other_rep}
    external_id = f"P{next(_ids)}"
    lead = make_lead(external_id=external_id, now=START, activities=WARM)
    now = START
    for step in steps:
        before = Lead.objects.get(pk=lead.pk)
        owner = people.get(getattr(before.owner, "username", ""), other_rep)
        who = {"owner": owner, "other": rep if owner == other_rep else other_rep, "manager": manager}
        now += timedelta(minutes=5)
        try:
            match step:
                case ("accept", by):
                    services.lead_accept(lead=before, actor=Actor.of(who[by]), now=now)
                case ("reject", reason):
                    services.lead_reject(lead=before, actor=Actor.of(owner), reason=reason, note="n", now=now)
                case ("qualify", potential, months):
                    services.lead_qualify(
                        lead=before,
                        actor=Actor.of(owner),
                        product_potential=potential,
                        purchase_timeframe_months=months,
                        now=now,
                    )
                case ("close", outcome, by):
                    services.lead_close(lead=before, actor=Actor.of(who[by]), outcome=outcome, now=now)
                case ("reassign", to, by):
                    services.lead_reassign(lead=before, actor=Actor.of(who[by]), owner=to, now=now)
                case ("feedback", by):
                    services.lead_feedback(
                        lead=before, actor=Actor.of(who[by]), answers={"talk": "ok"}, now=now
                    )
                case ("time_passes", days):
                    now += timedelta(days=days)
                    services.leads_return_recycled(now=now)
                case ("engage",):
                    services.activities_ingest(
                        items=[
                            {
                                "lead_external_id": external_id,
                                "type": "demo_request",
                                "occurred_at": now,
                                "external_id": f"{external_id}-{now.timestamp()}",
                            }
                        ],
                        actor=Actor.system(),
                        now=now,
                    )
        except services.LeadError:
            pass
        after = Lead.objects.get(pk=lead.pk)
        assert after.status == before.status or after.status in ALLOWED[before.status]
        if before.status in TERMINAL:
            assert after.status == before.status
        if after.status == Lead.Status.HANDED_OFF:
            assert after.pickup_deadline is not None
            assert after.sla_version_id is not None
        if after.status in (Lead.Status.NURTURING, Lead.Status.DISQUALIFIED, Lead.Status.RECYCLED):
            assert after.owner_id is None

    for event in lead.events.exclude(from_status="", to_status=""):
        if event.kind in TRANSITIONS:
            assert event.to_status in TRANSITIONS[event.kind][event.from_status], event
        else:  # created, updated, evaluated, feedback: no move
            assert event.from_status == event.to_status
