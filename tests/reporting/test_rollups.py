"""The tallies against the events they count: random histories, made through the services as people and
integrations make them, must give the same figures both ways, before and after compaction, for periods
whose edges fall on whole hours and for those that do not (a zone with a half-hour offset, `now`)."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from leads import services
from leads.models import Activity, Lead, LeadEvent, Tally
from leads.services import Actor, LeadError, escalation, recount, tallies
from reporting import breaches, conversion, rollups, selectors
from reporting.periods import Period
from reporting.scope import Scope
from tests.factories import HOT, WARM, make_lead

NOW = datetime(2026, 12, 3, 9, 41, 17, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]
ENGAGEMENT = (HOT, HOT, WARM, WARM, WARM, ("webinar_registration",), ())


def _history(seed: int, pipeline) -> None:
    """Sixty leads over October and November, each taken as far as chance says."""
    rnd = random.Random(seed)
    pipeline.versions.update(effective_from=datetime(2026, 9, 1, tzinfo=UTC))
    version = pipeline.versions.get(effective_until__isnull=True)
    reasons = [r.code for r in version.clauses.handoff.rejection_reasons]
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(60):
        t = start + timedelta(minutes=rnd.randrange(0, 61 * 24 * 60), seconds=rnd.randrange(60))
        lead = make_lead(
            external_id=f"R{seed}-{n}",
            now=t,
            employees=rnd.choice((120, 120, 10)),
            activities=rnd.choice(ENGAGEMENT),
            agreement=pipeline,
        )
        with contextlib.suppress(LeadError):  # a step the state refused: the history goes on
            _steps(rnd, lead, t, reasons)
        if rnd.random() < 0.2:  # the CRM corrects the company: the ICP fit of an MQL may change
            services.lead_upsert(
                external_id=lead.external_id,
                data={"company_employees": rnd.choice((10, 120))},
                actor=Actor.system(),
                now=t + timedelta(hours=rnd.randrange(1, 200)),
            )
    for days in range(0, 64, 3):  # the sweep, now and then
        escalation.check_overdue_pickups(now=start + timedelta(days=days, minutes=rnd.randrange(60)))


def _steps(rnd: random.Random, lead: Lead, t: datetime, reasons: list[str]) -> None:
    if lead.status != Lead.Status.HANDED_OFF or lead.owner is None or rnd.random() < 0.2:
        return  # left waiting: the sweep records its breach
    rep = Actor.of(lead.owner)
    t += timedelta(minutes=rnd.randrange(5, 3000))
    if rnd.random() < 0.45:
        lead = services.lead_reject(lead=lead, actor=rep, reason=rnd.choice(reasons), note="n", now=t)
        if rnd.random() < 0.3:
            services.lead_undo_reject(lead=lead, actor=rep, now=t + timedelta(seconds=rnd.randrange(1, 25)))
        return
    lead = services.lead_accept(lead=lead, actor=rep, now=t)
    if rnd.random() < 0.7:
        t += timedelta(hours=rnd.randrange(1, 300))
        lead = services.lead_qualify(
            lead=lead,
            actor=rep,
            product_potential=True,
            purchase_timeframe_months=rnd.choice((2, 5, 9)),
            now=t,
        )
        if rnd.random() < 0.3:  # sales revises its qualification: no new qualified lead
            lead = services.lead_qualify(
                lead=lead,
                actor=rep,
                product_potential=True,
                purchase_timeframe_months=2,
                now=t + timedelta(hours=1),
            )
    if rnd.random() < 0.6:
        outcome = rnd.choice(("won", "lost"))
        services.lead_close(
            lead=lead, actor=rep, outcome=outcome, now=t + timedelta(hours=rnd.randrange(2, 200))
        )


def _both_ways(scope: Scope, start: datetime, end: datetime) -> tuple[rollups.Counted, rollups.Counted]:
    from_tallies = rollups.counted(scope.agreement_ids, start, end)
    events = scope.events().filter(at__gte=start, at__lt=end)
    from_events = selectors._counted(events, scope.leads(), start, end)
    from_events.recorded_breaches.update(breaches._recorded(scope=scope, start=start, end=end, now=NOW))
    touches = Activity.objects.filter(
        lead__agreement_id__in=scope.agreement_ids, occurred_at__gte=start, occurred_at__lt=end
    )
    from_events.counts["touches"] = touches.count()
    # Late pickups as the report works them out from the events before each; the tallies count the mark
    # each pickup made as it happened.
    from_events.recorded_breaches.update(breaches._late(scope=scope, start=start, end=end, now=NOW))
    # The history writes some steps after NOW: the events' cohorts count every conversion stored.
    later = NOW + timedelta(days=30)
    from_events.cohorts = conversion.conversion_cohorts(scope=scope, start=start, end=end, now=later)
    for counted in (from_tallies, from_events):
        for row in counted.reps.values():  # an average is compared as the report prints it
            row["avg_minutes"] = selectors._decimal(row["avg_minutes"])
    return from_tallies, from_events


def _same_statuses(scope: Scope, at: datetime) -> None:
    """The leads in each status at `at`, added up from the tallies and worked out from leads and events."""
    tallied = rollups.in_status(scope.agreement_ids, at)
    # The history writes some steps after NOW (a close some days on): the statuses at NOW are worked out
    # as at a past moment, from the events after it, not read off the leads.
    later = NOW + timedelta(days=30)
    assert selectors._in_status(tallied) == selectors._status_at(scope.leads(), at, later), at
    assert all(n >= 0 for n in tallied.values()), (at, tallied)
    everything = rollups.in_status(scope.agreement_ids, later)
    now = Lead.objects.values_list("status").annotate(n=Count("pk")).order_by()
    assert {status: n for status, n in everything.items() if n} == dict(now)


def _windows(rnd: random.Random) -> list[tuple[datetime, datetime]]:
    periods = [
        Period("month", 2026, 10, "Europe/Warsaw"),
        Period("month", 2026, 11, "Europe/Warsaw"),
        Period("month", 2026, 11, "Asia/Kolkata"),  # +05:30: both edges inside an hour
        Period("quarter", 2026, 4, "America/New_York"),
    ]
    windows = [(p.start, min(p.end, NOW)) for p in periods]
    for _ in range(6):
        a = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=rnd.randrange(0, 60 * 24 * 62))
        windows.append((a, a + timedelta(minutes=rnd.randrange(1, 60 * 24 * 20))))
    return windows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tallied_figures_equal_the_events(seed, pipeline):
    _history(seed, pipeline)
    scope = Scope((pipeline.pk,))
    everything = _both_ways(scope, datetime(2026, 10, 1, tzinfo=UTC), NOW)[1]
    # The history has every kind of step the tallies count, or the comparison below would prove little.
    for figure in ("handed_off", "hot", "accepted", "rejected", "qualified", "won", "lost", "mqls_icp_match"):
        assert everything.counts[figure] > 0, figure
    assert everything.counts["mqls_icp_match"] < everything.counts["mqls"]
    assert sum(sum(row.values()) for row in everything.matrix.values()) == everything.counts["qualified"]
    assert all(cohort["converted"] for cohort in everything.cohorts.values()), everything.cohorts
    assert sum(everything.recorded_breaches.values()) > 0
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.REJECTION_UNDONE).exists()
    assert recount.tallies_verify() == []
    for start, end in _windows(random.Random(seed)):
        from_tallies, from_events = _both_ways(scope, start, end)
        assert from_tallies == from_events, (start, end)
        _same_statuses(scope, end)
    rows = Tally.objects.count()
    removed = tallies.tallies_compact(before=NOW)
    assert removed > 0
    assert Tally.objects.count() == rows - removed
    assert not Tally.objects.filter(folded=False, hour__lt=tallies.hour_of(NOW)).exists()
    assert recount.tallies_verify() == []
    for start, end in _windows(random.Random(seed)):
        from_tallies, from_events = _both_ways(scope, start, end)
        assert from_tallies == from_events, (start, end)
        _same_statuses(scope, end)


@pytest.mark.parametrize("tz", ["Europe/Warsaw", "Asia/Kolkata"])
def test_the_trend_chart_from_tallies_equals_the_events(tz, pipeline):
    _history(7, pipeline)
    zone = ZoneInfo(tz)
    scope = Scope((pipeline.pk,))
    october, december = Period("month", 2026, 10, tz), Period("month", 2026, 12, tz)
    # As monthly_trends asks: the ended months (cached), then the current one up to now.
    for start, end in ((october.start, december.start), (december.start, NOW)):
        from_tallies = rollups.trend_counts(scope.agreement_ids, start, end, zone)
        from_events = selectors._trend_counts_from_events(scope, start, end, zone)
        for month in ("2026-10", "2026-11", "2026-12"):
            assert from_tallies["mqls"].get(month, 0) == from_events["mqls"].get(month, 0), month
            row = from_events["events"].get(month, {})
            assert {k: from_tallies["events"].get(month, {}).get(k, 0) for k in row} == row, month
        assert set(from_tallies["events"]) <= {october.label, "2026-11", december.label}
    assert sum(selectors._trend_counts_from_events(scope, october.start, NOW, zone)["mqls"].values()) > 0


def test_a_rebuild_counts_the_history_again(pipeline):
    _history(11, pipeline)
    before = recount.stored_between(None, datetime(2026, 1, 1, tzinfo=UTC), NOW + timedelta(days=1))
    Tally.objects.filter(figure="handed_off").delete()
    assert any("handed_off" in problem for problem in recount.tallies_verify())
    assert recount.tallies_rebuild() > 0
    assert recount.tallies_verify() == []
    assert recount.stored_between(None, datetime(2026, 1, 1, tzinfo=UTC), NOW + timedelta(days=1)) == before


@pytest.mark.parametrize(
    ("migration", "count", "figure"),
    [
        ("0014_count_late_pickups", "count_late_pickups", "late_pickups"),
        ("0015_count_temperature_matrix", "count_matrix", "matrix"),
        ("0016_tally_figure_index", "count_statuses", "in_status"),
        ("0018_count_conversions", "count_conversions", "converted_accepted"),
    ],
)
def test_the_upgrade_counts_a_new_figure_into_the_tallies_once(migration, count, figure, pipeline):
    import importlib

    from django.apps import apps

    _history(2, pipeline)
    assert Tally.objects.filter(figure=figure).exists()
    Tally.objects.filter(figure=figure).delete()  # as an installation stood before the figure was tallied
    assert recount.tallies_verify()  # the tallies now miss what the events say
    from types import SimpleNamespace

    from django.db import connection

    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    upgrade = getattr(importlib.import_module(f"leads.migrations.{migration}"), count)
    upgrade(apps, editor)
    assert recount.tallies_verify() == []
    upgrade(apps, editor)  # again, or after processes of the release had tallied it: no double count
    assert recount.tallies_verify() == []


def test_one_reading_recounts_each_stretch_of_stored_rows_once(pipeline, monkeypatch):
    _history(1, pipeline)
    calls = []
    recount = rollups.deltas_between

    def counting(*args):
        calls.append(args)
        return recount(*args)

    monkeypatch.setattr(rollups, "deltas_between", counting)
    ids, start = (pipeline.pk,), datetime(2026, 11, 1, 0, 30, tzinfo=UTC)  # two part hours: start, NOW
    rollups.counted(ids, start, NOW)
    rollups.in_status(ids, NOW)
    assert len(calls) == 3  # outside a reading, the hour up to NOW is recounted by each
    calls.clear()
    with rollups.one_reading():
        first = rollups.counted(ids, start, NOW)
        rollups.in_status(ids, NOW)
        with rollups.one_reading():  # nested: the same reading
            assert rollups.counted(ids, start, NOW) == first
    assert len(calls) == 2
