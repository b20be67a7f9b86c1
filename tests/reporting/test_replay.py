"""What-if replays (reporting.replay): the versions in force reproduce the record; other clauses say
what they would have changed; nothing is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agreements.models import Agreement
from demo.history import seed_leads
from demo.sla import seed_agreements
from leads import services
from leads.models import Activity, Lead, LeadEvent, Tally
from leads.services import Actor
from reporting import replay as simulation
from reporting import whatif
from reporting.replay import Rules
from tests.factories import HOT, make_lead

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]
YEAR_AGO = NOW - timedelta(days=365)


def _demo() -> Agreement:
    seed_agreements()
    assert seed_leads(count=120, now=NOW) == 120
    return Agreement.objects.get()


def _run(agreement: Agreement, rules_at) -> whatif.Results:
    return whatif.simulate(
        agreement_id=agreement.pk, rules_at=rules_at, start=YEAR_AGO, end=NOW, tz="Europe/Warsaw"
    )


def test_replaying_the_versions_in_force_reproduces_the_demo_record():
    agreement = _demo()
    results = _run(agreement, simulation.in_force(agreement.pk))
    assert results.replayed > 100
    assert results.fidelity >= 0.995, results.mismatches
    assert results.recorded == results.simulated
    assert sum(m["handoffs"] for m in results.recorded.values()) > 20
    assert results.changed_count == 0
    assert len(results.months) == 13  # a year back from mid-November, in Warsaw


def test_handing_off_only_hot_leads_moves_the_warm_ones_out_of_sales_and_says_why():
    agreement = _demo()
    clauses = agreement.versions.get(status="active").clauses
    hot_only = replace(clauses, handoff=replace(clauses.handoff, mql_threshold="hot"))
    results = _run(agreement, simulation.fixed(Rules.of(hot_only)))
    recorded = sum(m["handoffs"] for m in results.recorded.values())
    simulated = sum(m["handoffs"] for m in results.simulated.values())
    assert sum(m["handoffs_warm"] for m in results.recorded.values()) > 0
    assert sum(m["handoffs_warm"] for m in results.simulated.values()) == 0
    assert 0 < simulated < recorded
    assert results.changed_count >= recorded - simulated
    lead = next(c for c in results.changed if "is not handed off" in c["changes"])
    assert lead["recorded"]["temperature"] == "warm"
    threshold = [c for c in lead["simulated"]["checks"] if c["clause"] == "handoff.threshold"]
    assert threshold == [
        {
            "clause": "handoff.threshold",
            "matched": False,
            "rule": "An MQL is a lead at hot or hotter.",
            "detail": "marketing temperature: warm",
        }
    ]


def test_two_business_hours_for_a_hot_pickup_move_the_hot_leads_deadlines_and_nothing_else():
    agreement = _demo()
    clauses = agreement.versions.get(status="active").clauses
    longer = {**clauses.handoff.pickup_hours, "hot": 2.0}
    assert clauses.handoff.pickup_hours["hot"] == 1
    rules = Rules.of(replace(clauses, handoff=replace(clauses.handoff, pickup_hours=longer)))
    results = _run(agreement, simulation.fixed(rules))

    # The same leads, handed off at the same moments; some pickups late by one hour are in time by two.
    def but_late(side: dict) -> dict:
        return {m: {k: n for k, n in counts.items() if k != "pickups_late"} for m, counts in side.items()}

    assert but_late(results.recorded) == but_late(results.simulated)
    late = [sum(c["pickups_late"] for c in side.values()) for side in (results.recorded, results.simulated)]
    assert late[0] > late[1], late
    assert results.changed
    assert all(c["changes"] == ["has a later pickup deadline"] for c in results.changed)
    assert {c["simulated"]["temperature"] for c in results.changed} == {"hot"}
    assert all(c["simulated"]["deadline"] > c["recorded"]["deadline"] for c in results.changed)


def test_a_simulation_writes_nothing():
    agreement = _demo()
    tables = (Lead, LeadEvent, Activity, Tally)
    before = [(model.objects.count(), max(model.objects.values_list("pk", flat=True))) for model in tables]
    stamps = list(Lead.objects.order_by("pk").values_list("updated_at", "status", "mql_at"))
    _run(agreement, simulation.fixed(Rules.of(agreement.versions.get(status="active").clauses)))
    assert [
        (model.objects.count(), max(model.objects.values_list("pk", flat=True))) for model in tables
    ] == before
    assert list(Lead.objects.order_by("pk").values_list("updated_at", "status", "mql_at")) == stamps


def test_a_lead_whose_company_a_crm_corrected_is_the_one_mismatch_and_says_so(pipeline):
    pipeline.versions.update(effective_from=NOW - timedelta(days=60))
    small = make_lead(external_id="small", now=NOW - timedelta(days=20), employees=10, activities=HOT)
    assert small.is_mql
    assert small.status == "nurturing"  # not in the ICP: marketing keeps it
    services.lead_upsert(
        external_id="small",
        data={"company_employees": 120},
        actor=Actor.system(),
        now=NOW - timedelta(days=19),
    )
    make_lead(external_id="fits", now=NOW - timedelta(days=10), activities=HOT)
    assert Lead.objects.get(external_id="small").status == "handed_off"
    results = whatif.simulate(
        agreement_id=pipeline.pk,
        rules_at=simulation.in_force(pipeline.pk),
        start=NOW - timedelta(days=30),
        end=NOW,
        tz="UTC",
    )
    assert results.replayed == 2
    assert results.matched == 1
    assert results.mismatches == {"data_changed": 1}


NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)


def _november(agreement: Agreement, rules_at, end: datetime = NOW) -> whatif.Results:
    """This November's leads of `agreement` (up to `end`), replayed under `rules_at`, months in UTC."""
    return whatif.simulate(agreement_id=agreement.pk, rules_at=rules_at, start=NOVEMBER, end=end, tz="UTC")


def _hot_pickup(hours: float, agreement: Agreement) -> Rules:
    clauses = agreement.versions.get(status="active").clauses
    longer = {**clauses.handoff.pickup_hours, "hot": hours}
    return Rules.of(replace(clauses, handoff=replace(clauses.handoff, pickup_hours=longer)))


def test_the_load_on_sales_is_the_round_robin_of_each_business_day(pipeline):
    pipeline.versions.update(effective_from=NOW - timedelta(days=60))
    # Mon 16 and Tue 17 November, in Warsaw's working hours: three handoffs, then one; and a hot lead
    # handed off on Sunday 15th, whose clock starts on Monday.
    monday = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    for n, at in enumerate([monday, monday + timedelta(hours=1), monday + timedelta(hours=2)]):
        make_lead(external_id=f"mon{n}", now=at, activities=HOT)
    make_lead(external_id="tue", now=monday + timedelta(days=1), activities=HOT)
    make_lead(external_id="sun", now=monday - timedelta(days=1), activities=HOT)
    results = _november(pipeline, simulation.in_force(pipeline.pk), end=datetime(2026, 11, 18, tzinfo=UTC))
    november = results.recorded["2026-11"]
    assert november["handoffs"] == 5
    assert november["reps"] == 2  # the two reps the round-robin gave them to
    assert november["business_days"] == 11  # 2-17 November, Monday to Friday, but the 11th (a Polish holiday)
    assert november["load_max"] == 2  # four on Monday (Sunday's too) between two reps
    assert november["load_mean"] == round(5 / (2 * 11), 2)
    assert results.simulated["2026-11"] == november


def test_deadline_pressure_counts_the_real_pickups_late_under_each_sides_deadline(pipeline):
    pipeline.versions.update(effective_from=NOW - timedelta(days=60))
    handed = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Warsaw
    for name, taken in (("quick", timedelta(minutes=30)), ("slow", timedelta(minutes=90))):
        lead = make_lead(external_id=name, now=handed, activities=HOT)
        assert lead.status == "handed_off"
        services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=handed + taken)
    results = _november(pipeline, simulation.fixed(_hot_pickup(2.0, pipeline)))
    recorded, simulated = results.recorded["2026-11"], results.simulated["2026-11"]
    assert (recorded["pickups"], recorded["pickups_late"]) == (2, 1)  # an hour to pick a hot lead up
    assert (simulated["pickups"], simulated["pickups_late"]) == (2, 0)  # two hours
    assert whatif.month_figures(recorded)["pickups_in_time"] == 50.0
    assert whatif.month_figures(simulated)["pickups_in_time"] == 100.0
    shorter = _november(pipeline, simulation.fixed(_hot_pickup(0.25, pipeline)))
    assert shorter.simulated["2026-11"]["pickups_late"] == 2


def test_a_recorded_pickup_is_late_by_the_deadline_of_the_version_it_was_handed_off_under(
    pipeline, marketer, marketing_approver, manager
):
    from agreements import services as agreement_services
    from tests import factories

    pipeline.versions.update(effective_from=NOW - timedelta(days=60))
    handed = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Warsaw; v1 gives a hot lead 1 h
    lead = make_lead(external_id="moved", now=handed, activities=HOT)
    services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=handed + timedelta(minutes=90))
    v2 = agreement_services.version_create_draft(agreement=pipeline, actor=marketer)
    handoff = v2.section_map["handoff"]
    agreement_services.version_update_section(
        version=v2,
        key="handoff",
        data={**handoff.data, "pickup_hours": {**handoff.data["pickup_hours"], "hot": 4}},
        prose="",
        actor=marketer,
    )
    factories.activate(v2, author=marketer, marketing_approver=marketing_approver, sales_approver=manager)
    # A CRM then shrinks the company: replayed with its data now, the lead never goes to sales, and the
    # replay's last evaluation is under v2. The recorded pickup was still late under v1.
    services.lead_upsert(
        external_id="moved",
        data={"company_employees": 10},
        actor=Actor.system(),
        now=NOW + timedelta(hours=1),
    )
    results = _november(pipeline, simulation.in_force(pipeline.pk), end=NOW + timedelta(hours=2))
    assert results.mismatches == {"data_changed": 1}
    assert (results.recorded["2026-11"]["pickups"], results.recorded["2026-11"]["pickups_late"]) == (1, 1)
