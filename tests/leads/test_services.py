from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agreements import services as agreement_services
from leads import services
from leads.models import Activity, Lead, LeadEvent
from leads.services import Actor
from tests import factories
from tests.factories import HOT, WARM, make_lead

WAW = ZoneInfo("Europe/Warsaw")
# The story below happens on fixed days: the clock is pinned there for everything it touches.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime(2026, 11, 20, 9, 0, tzinfo=WAW))]
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)
Status = Lead.Status


def test_warm_icp_fit_mql_is_handed_off_with_deadline_version_and_clause(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    assert lead.status == Status.HANDED_OFF
    assert (lead.marketing_temperature, lead.icp_fit, lead.is_mql) == ("warm", True, True)
    assert lead.owner == rep
    assert lead.sla_version.number == 1
    assert lead.handed_off_at == MONDAY_10
    # 8 business hours from Monday 10:00 Warsaw is Tuesday 10:00.
    assert lead.pickup_deadline == datetime(2026, 11, 24, 10, 0, tzinfo=WAW)
    event = lead.events.get(kind=LeadEvent.Kind.HANDED_OFF)
    assert (event.from_status, event.to_status, event.clause) == (
        "nurturing",
        "handed_off",
        "handoff.pickup.warm",
    )
    assert event.actor_type == LeadEvent.ActorType.SYSTEM
    assert event.sla_version_id == lead.sla_version_id
    assert lead.explanation["version"] == 1
    assert {c["clause"] for c in lead.explanation["checks"]} >= {"icp.1", "temperature.marketing.warm"}


def test_hot_lead_gets_the_hot_deadline(pipeline):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=HOT)
    assert lead.handoff_temperature == "hot"
    assert lead.pickup_deadline == datetime(2026, 11, 23, 11, 0, tzinfo=WAW)


def test_mql_outside_the_icp_stays_in_nurture_marked_as_such(pipeline):
    lead = make_lead(external_id="L1", now=MONDAY_10, employees=10, activities=WARM)
    assert lead.status == Status.NURTURING
    assert lead.is_mql is True
    assert lead.icp_fit is False
    assert lead.owner is None
    assert not lead.explanation["transfer"]


def test_cold_lead_is_not_an_mql(pipeline):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=("webinar_registration",))
    assert (lead.status, lead.marketing_temperature, lead.is_mql) == (Status.NURTURING, "cold", False)


def test_activities_older_than_the_window_do_not_count(pipeline):
    lead = make_lead(external_id="L1", now=MONDAY_10)
    services.activities_ingest(
        items=[
            {
                "lead_external_id": "L1",
                "type": t,
                "occurred_at": MONDAY_10 - timedelta(days=91),
                "external_id": f"old{n}",
            }
            for n, t in enumerate(WARM)
        ],
        actor=Actor.system(),
        now=MONDAY_10,
    )
    lead.refresh_from_db()
    assert lead.marketing_temperature is None
    assert lead.status == Status.NURTURING


def test_round_robin_is_fair_and_skips_reps_on_leave_or_inactive(pipeline, rep, other_rep):
    third = factories.UserFactory(username="third", roles=[factories.Role.SALES_REP])
    factories.sales_team_members(pipeline, third)
    owners = [make_lead(external_id=f"L{n}", now=MONDAY_10, activities=WARM).owner.username for n in range(6)]
    assert owners == ["rep", "other_rep", "third"] * 2
    pipeline.sales_team.memberships.filter(user=other_rep).update(is_available=False)
    third.is_active = False
    third.save()
    owners = [make_lead(external_id=f"M{n}", now=MONDAY_10, activities=WARM).owner.username for n in range(3)]
    assert owners == ["rep", "rep", "rep"]


def test_round_robin_position_survives_a_restart(pipeline):
    assert make_lead(external_id="L1", now=MONDAY_10, activities=WARM).owner.username == "rep"
    from agreements.selectors import clear_version_cache

    clear_version_cache()  # as after a restart: nothing kept in memory
    assert make_lead(external_id="L2", now=MONDAY_10, activities=WARM).owner.username == "other_rep"


def test_a_rep_of_another_team_never_receives_a_lead(pipeline, rep):
    outsider = factories.UserFactory(username="outsider", roles=[factories.Role.SALES_REP])
    factories.add_member(factories.TeamFactory(name="Other sales", department="sales"), outsider)
    owners = {make_lead(external_id=f"L{n}", now=MONDAY_10, activities=WARM).owner.username for n in range(4)}
    assert "outsider" not in owners


def test_without_an_available_rep_the_lead_waits_for_the_manager(active):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    assert lead.status == Status.HANDED_OFF
    assert lead.owner is None
    assert "no available rep" in lead.events.get(kind="handed_off").details["assignment"]


def test_accept_by_the_owner_records_pickup_time(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep), now=MONDAY_10 + timedelta(minutes=45))
    assert lead.status == Status.ACCEPTED
    assert (lead.pickup_business_minutes, lead.pickup_within_sla) == (45, True)
    event = lead.events.get(kind="accepted")
    assert (event.actor, event.clause) == (rep, "handoff.pickup.warm")


def test_pickup_time_is_counted_in_business_minutes(pipeline, rep):
    friday_16 = datetime(2026, 11, 20, 16, 0, tzinfo=WAW)
    lead = make_lead(external_id="L1", now=friday_16, activities=WARM)
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep), now=datetime(2026, 11, 23, 9, 30, tzinfo=WAW))
    assert lead.pickup_business_minutes == 90
    assert lead.pickup_within_sla is True


def test_only_the_owner_accepts_and_a_second_accept_names_the_status(pipeline, rep, other_rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    with pytest.raises(services.NotAllowed):
        services.lead_accept(lead=lead, actor=Actor.of(other_rep), now=MONDAY_10)
    stale = Lead.objects.get(pk=lead.pk)
    services.lead_accept(lead=lead, actor=Actor.of(rep), now=MONDAY_10)
    with pytest.raises(services.TransitionConflict, match="it is now accepted"):
        services.lead_accept(lead=stale, actor=Actor.of(rep), now=MONDAY_10)
    with pytest.raises(services.TransitionRefused, match="the lead is accepted"):
        services.lead_accept(lead=Lead.objects.get(pk=lead.pk), actor=Actor.of(rep), now=MONDAY_10)
    assert lead.events.filter(kind="accepted").count() == 1


def test_reject_to_nurture_clears_owner_and_waits_for_new_engagement(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    lead = services.lead_reject(
        lead=lead, actor=Actor.of(rep), reason="not_ready", note="Next year", now=MONDAY_10
    )
    assert (lead.status, lead.owner, lead.rejection_reason) == (Status.NURTURING, None, "not_ready")
    event = lead.events.get(kind="rejected")
    assert (event.reason, event.clause, event.details["note"]) == (
        "not_ready",
        "handoff.rejection.not_ready",
        "Next year",
    )
    # The same engagement does not bounce it back to sales...
    services.lead_upsert(external_id="L1", data={"job_title": "CTO"}, actor=Actor.system(), now=MONDAY_10)
    lead.refresh_from_db()
    assert lead.status == Status.NURTURING
    assert "no engagement since" in lead.explanation["checks"][-1]["detail"]
    # ...new engagement does.
    services.activities_ingest(
        items=[
            {
                "lead_external_id": "L1",
                "type": "demo_request",
                "occurred_at": MONDAY_10 + timedelta(hours=1),
                "external_id": "new",
            }
        ],
        actor=Actor.system(),
        now=MONDAY_10 + timedelta(hours=2),
    )
    lead.refresh_from_db()
    assert lead.status == Status.HANDED_OFF
    assert lead.assignment_no == 2


def test_reject_to_disqualified_is_final(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    lead = services.lead_reject(
        lead=lead, actor=Actor.of(rep), reason="no_fit", note="Consumer", now=MONDAY_10
    )
    assert lead.status == Status.DISQUALIFIED
    with pytest.raises(services.TransitionRefused, match="disqualified"):
        services.lead_qualify(
            lead=lead, actor=Actor.of(rep), product_potential=True, purchase_timeframe_months=3
        )


def test_recycled_lead_returns_to_nurture_after_the_reasons_days(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    lead = services.lead_reject(lead=lead, actor=Actor.of(rep), reason="no_budget", note="Q3", now=MONDAY_10)
    assert lead.status == Status.RECYCLED
    assert lead.recycle_at == MONDAY_10 + timedelta(days=90)
    assert services.leads_return_recycled(now=MONDAY_10 + timedelta(days=89)) == 0
    assert services.leads_return_recycled(now=MONDAY_10 + timedelta(days=90)) == 1
    lead.refresh_from_db()
    assert lead.status == Status.NURTURING
    event = lead.events.get(kind="returned")
    assert (event.actor_type, event.clause) == ("system", "handoff.rejection.no_budget")


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [
        ("made_up", "x", "reason"),
        ("not_ready", "  ", "note"),
        (None, "x", "reason"),
        ("not_ready", 5, "note"),
    ],
)
def test_reject_needs_an_sla_reason_and_a_note(pipeline, rep, reason, note, field):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    with pytest.raises(services.LeadValidationError) as exc:
        services.lead_reject(lead=lead, actor=Actor.of(rep), reason=reason, note=note, now=MONDAY_10)
    assert field in exc.value.errors
    lead.refresh_from_db()
    assert lead.status == Status.HANDED_OFF


def test_qualify_sets_sales_temperature_from_the_sla_buckets(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep), now=MONDAY_10)
    lead = services.lead_qualify(
        lead=lead, actor=Actor.of(rep), product_potential=True, purchase_timeframe_months=4
    )
    assert (lead.status, lead.sales_temperature) == (Status.QUALIFIED, "hot")
    lead = services.lead_qualify(
        lead=lead, actor=Actor.of(rep), product_potential=True, purchase_timeframe_months=9
    )
    assert lead.sales_temperature == "warm"
    assert lead.events.filter(kind="qualified").last().clause == "temperature.sales.warm"
    with pytest.raises(services.LeadValidationError):
        services.lead_qualify(
            lead=lead, actor=Actor.of(rep), product_potential="yes", purchase_timeframe_months=-1
        )


def test_close_as_won_by_owner_or_manager(pipeline, rep, manager):
    leads = [make_lead(external_id=f"L{n}", now=MONDAY_10, activities=WARM) for n in range(3)]
    leads = [services.lead_accept(lead=lead, actor=Actor.of(lead.owner), now=MONDAY_10) for lead in leads]
    assert (
        services.lead_close(lead=leads[0], actor=Actor.of(leads[0].owner), outcome="won").status == Status.WON
    )
    assert services.lead_close(lead=leads[1], actor=Actor.of(manager), outcome="lost").status == Status.LOST
    with pytest.raises(services.LeadValidationError):
        services.lead_close(lead=leads[2], actor=Actor.of(manager), outcome="maybe")
    with pytest.raises(services.TransitionRefused, match="the lead is won"):
        services.lead_close(lead=leads[0], actor=Actor.of(manager), outcome="lost")


def test_manager_reassigns_with_a_fresh_deadline(pipeline, rep, other_rep, manager):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    later = MONDAY_10 + timedelta(hours=3)
    lead = services.lead_reassign(lead=lead, actor=Actor.of(manager), owner="other_rep", now=later)
    assert lead.owner == other_rep
    assert lead.pickup_deadline == datetime(2026, 11, 24, 13, 0, tzinfo=WAW)
    assert lead.handed_off_at == MONDAY_10  # a reassignment is not a new transfer
    assert lead.assignment_no == 2
    event = lead.events.get(kind="reassigned")
    assert event.details == {"from": "rep", "to": "other_rep"}


def test_reassign_refusals(pipeline, rep, other_rep, manager):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    with pytest.raises(services.NotAllowed):
        services.lead_reassign(lead=lead, actor=Actor.of(rep), owner="other_rep")
    with pytest.raises(services.LeadValidationError, match="already owns"):
        services.lead_reassign(lead=lead, actor=Actor.of(manager), owner="rep")
    pipeline.sales_team.memberships.filter(user=other_rep).update(is_available=False)
    with pytest.raises(services.LeadValidationError):
        services.lead_reassign(lead=lead, actor=Actor.of(manager), owner="other_rep")


def test_feedback_after_acceptance_shows_on_the_timeline(pipeline, rep):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    with pytest.raises(services.TransitionRefused):
        services.lead_feedback(lead=lead, actor=Actor.of(rep), answers={"talk": "x"})
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep), now=MONDAY_10)
    with pytest.raises(services.LeadValidationError) as exc:
        services.lead_feedback(lead=lead, actor=Actor.of(rep), answers={"mood": "x"})
    assert "mood" in exc.value.errors
    with pytest.raises(services.LeadValidationError):
        services.lead_feedback(lead=lead, actor=Actor.of(rep), answers={"talk": "  "})
    feedback = services.lead_feedback(
        lead=lead, actor=Actor.of(rep), answers={"talk": "Great call", "interesting": ""}
    )
    assert feedback.answers == {"talk": "Great call"}
    event = lead.events.get(kind="feedback")
    assert event.details["answers"] == {"How did the talk with the lead go?": "Great call"}


def test_handed_off_leads_keep_their_version_and_deadline_when_a_new_version_takes_effect(
    pipeline, marketer, marketing_approver, manager
):
    old = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    v2 = agreement_services.version_create_draft(agreement=pipeline, actor=marketer)
    handoff = dict(v2.section_map["handoff"].data, pickup_hours={"hot": 1, "warm": 2})
    agreement_services.version_update_section(
        version=v2, key="handoff", data=handoff, prose="", actor=marketer
    )
    factories.activate(v2, author=marketer, marketing_approver=marketing_approver, sales_approver=manager)
    services.lead_upsert(external_id="L1", data={"job_title": "CEO"}, actor=Actor.system(), now=MONDAY_10)
    old.refresh_from_db()
    assert old.sla_version.number == 1
    assert old.pickup_deadline == datetime(2026, 11, 24, 10, 0, tzinfo=WAW)
    assert old.explanation["version"] == 2  # re-evaluated under the new version, transfer untouched
    new = make_lead(external_id="L2", now=MONDAY_10, activities=WARM)
    assert new.sla_version.number == 2
    assert new.pickup_deadline == datetime(2026, 11, 23, 12, 0, tzinfo=WAW)


def test_the_same_activity_sent_twice_counts_once(pipeline):
    make_lead(external_id="L1", now=MONDAY_10)
    item = {
        "lead_external_id": "L1",
        "type": "webinar_attendance",
        "occurred_at": MONDAY_10,
        "external_id": "A1",
    }
    first = services.activities_ingest(items=[item, dict(item)], actor=Actor.system(), now=MONDAY_10)
    second = services.activities_ingest(items=[item], actor=Actor.system(), now=MONDAY_10)
    assert (first.stored, first.duplicates, second.stored, second.duplicates) == (1, 1, 0, 1)
    assert Activity.objects.filter(external_id="A1").count() == 1


def test_a_bad_item_stores_nothing_and_names_its_index_and_field(pipeline):
    make_lead(external_id="L1", now=MONDAY_10)
    good = {"lead_external_id": "L1", "type": "ebook_download", "occurred_at": MONDAY_10, "external_id": "A1"}
    items = [
        good,
        {**good, "external_id": "A2", "type": "podcast"},
        {**good, "external_id": "A3", "lead_external_id": "nobody"},
        {**good, "external_id": "A4", "occurred_at": MONDAY_10 + timedelta(days=1)},
        {**good, "external_id": "A5", "occurred_at": "yesterday"},
    ]
    with pytest.raises(services.LeadValidationError) as exc:
        services.activities_ingest(items=items, actor=Actor.system(), now=MONDAY_10)
    assert set(exc.value.errors) == {1, 2, 3, 4}
    assert "type" in exc.value.errors[1]
    assert "lead_external_id" in exc.value.errors[2]
    assert "occurred_at" in exc.value.errors[3]
    assert not Activity.objects.exists()


def test_upsert_updates_by_external_id_and_re_evaluates(pipeline):
    lead = make_lead(external_id="L1", now=MONDAY_10, employees=10, activities=WARM)
    assert lead.status == Status.NURTURING
    again, created = services.lead_upsert(
        external_id="L1", data={"company_employees": 500}, actor=Actor.system(), now=MONDAY_10
    )
    assert (again.pk, created, again.status) == (lead.pk, False, Status.HANDED_OFF)
    assert again.events.get(kind="updated").details == {"changed": ["company_employees"]}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"company_employees": -5}, "company_employees"),
        ({"company_employees": "many"}, "company_employees"),
        ({"company_country": "Poland"}, "company_country"),
        ({"company_annual_revenue": "NaN"}, "company_annual_revenue"),
        ({"email": "not an email"}, "email"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_invalid_lead_data_is_refused_by_field_and_nothing_is_stored(pipeline, data, field):
    with pytest.raises(services.LeadValidationError) as exc:
        services.lead_upsert(external_id="L1", data=data, actor=Actor.system())
    assert field in exc.value.errors
    assert not Lead.objects.exists()


def test_events_are_append_only(pipeline):
    lead = make_lead(external_id="L1", now=MONDAY_10, activities=WARM)
    event = lead.events.first()
    event.reason = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_nul_characters_are_refused_before_they_reach_the_database(pipeline):
    with pytest.raises(services.LeadValidationError) as exc:
        services.lead_upsert(external_id="L1", data={"first_name": "A\x00B"}, actor=Actor.system())
    assert "first_name" in exc.value.errors
    make_lead(external_id="L2", now=MONDAY_10)
    item = {
        "lead_external_id": "L2",
        "type": "ebook_download",
        "occurred_at": MONDAY_10,
        "external_id": "x\x00",
    }
    with pytest.raises(services.LeadValidationError) as exc:
        services.activities_ingest(
            items=[item, {**item, "external_id": "ok", "details": {"k": "\x00"}}],
            actor=Actor.system(),
            now=MONDAY_10,
        )
    assert set(exc.value.errors) == {0, 1}
