"""Races on real PostgreSQL connections: exactly one winner, a clear conflict for the rest."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads import services
from leads.models import Lead
from leads.services import Actor
from tests.agreements.test_race import run_together
from tests.factories import WARM, make_lead

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
# The story below happens on fixed days: the clock is pinned there for everything it touches.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.time_machine(NOW - timedelta(hours=1)),
]


def outcomes(results):
    wins = [r for r in results if isinstance(r, Lead)]
    conflicts = [
        r for r in results if isinstance(r, services.TransitionConflict | services.TransitionRefused)
    ]
    others = [r for r in results if r not in wins and r not in conflicts]
    return wins, conflicts, others


def test_double_click_accept_gives_one_success_and_one_conflict(pipeline, rep):
    for n in range(5):
        lead = make_lead(external_id=f"D{n}", now=NOW, activities=WARM)
        owner = Actor.of(lead.owner)
        wins, conflicts, others = outcomes(
            run_together(
                *[
                    lambda pk=lead.pk, owner=owner: services.lead_accept(
                        lead=Lead.objects.get(pk=pk), actor=owner, now=NOW
                    )
                ]
                * 2
            )
        )
        assert (len(wins), len(conflicts), others) == (1, 1, [])
        assert "accepted" in str(conflicts[0])
        assert lead.events.filter(kind="accepted").count() == 1


def test_accept_racing_reject_and_reassign_has_exactly_one_winner(pipeline, rep, manager):
    for n in range(5):
        lead = make_lead(external_id=f"R{n}", now=NOW, activities=WARM)
        owner = Actor.of(lead.owner)
        other = "other_rep" if lead.owner.username == "rep" else "rep"
        results = run_together(
            lambda pk=lead.pk, owner=owner: services.lead_accept(
                lead=Lead.objects.get(pk=pk), actor=owner, now=NOW
            ),
            lambda pk=lead.pk, owner=owner: services.lead_reject(
                lead=Lead.objects.get(pk=pk), actor=owner, reason="no_fit", note="x", now=NOW
            ),
            lambda pk=lead.pk, other=other: services.lead_reassign(
                lead=Lead.objects.get(pk=pk), actor=Actor.of(manager), owner=other, now=NOW
            ),
        )
        wins, _conflicts, others = outcomes(results)
        # The reassignment does not change the status, so an accept or reject may still follow it when it
        # read the lead afterwards; what never happens is two status changes from the same state.
        assert not others, others
        moves = lead.events.filter(kind__in=["accepted", "rejected"]).count()
        assert moves == 1 or (moves == 0 and len(wins) == 1)
        assert len(wins) >= 1


def test_simultaneous_handoffs_take_distinct_turns(pipeline, rep, other_rep):
    for n in range(10):
        make_lead(external_id=f"S{n}", now=NOW)

    def engage(n):
        return lambda: services.activities_ingest(
            items=[
                {
                    "lead_external_id": f"S{n}",
                    "type": t,
                    "occurred_at": NOW - timedelta(minutes=5),
                    "external_id": f"S{n}-{t}",
                }
                for t in WARM
            ],
            actor=Actor.system(),
            now=NOW,
        )

    results = run_together(*[engage(n) for n in range(10)])
    assert not [r for r in results if isinstance(r, Exception)], results
    owners = Counter(Lead.objects.filter(status="handed_off").values_list("owner__username", flat=True))
    assert owners == {"rep": 5, "other_rep": 5}


def test_concurrent_upserts_of_one_external_id_make_one_lead(pipeline):
    results = run_together(
        *[
            lambda n=n: services.lead_upsert(
                external_id="same", data={"first_name": f"N{n}"}, actor=Actor.system(), now=NOW
            )
            for n in range(8)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Lead.objects.filter(external_id="same").count() == 1
    assert sum(1 for _, created in results if created) == 1


def test_renames_and_ingests_of_one_company_at_once_leave_the_account_months_true(pipeline):
    """CRMs move leads between two companies while activities for the same companies arrive: the account
    months equal the activities afterwards, with no deadlock (the rows are written in one order)."""
    from leads.services import touches

    for n in range(6):
        make_lead(external_id=f"acc{n}", now=NOW, company_name="Acme" if n % 2 else "Globex")

    def ingest(n):
        return lambda: services.activities_ingest(
            items=[
                {
                    "lead_external_id": f"acc{(n + k) % 6}",
                    "type": "email_click",
                    "occurred_at": NOW - timedelta(days=k * 9, minutes=n),
                    "external_id": f"race-{n}-{k}",
                }
                for k in range(6)
            ],
            actor=Actor.system(),
            now=NOW,
        )

    def rename(n):
        return lambda: services.lead_upsert(
            external_id=f"acc{n}",
            data={"company_name": "Globex" if n % 2 else "Acme"},
            actor=Actor.system(),
            now=NOW,
        )

    first = run_together(*[ingest(n) for n in range(4)])
    assert not [r for r in first if isinstance(r, Exception)], first
    results = run_together(*[f(n) for n in range(6) for f in (ingest, rename)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert touches.touches_verify() == []
    assert touches.counted_months()  # the check had rows to compare
