"""The SQL replay (reporting.replay_sql) against the evaluation module's (reporting.replay.replay), on random
leads and random clauses: every lead's path is the same both ways, under the version in force and under
the simulated clauses. PostgreSQL only, as the SQL path is."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from agreements.clauses import DEFAULT_ACTIVITY_TYPES, TEMPERATURES, ClauseError, Clauses, parse_clauses
from agreements.defaults import demo_sections
from leads import services
from leads.models import Lead
from leads.services import Actor
from reporting import replay, replay_sql, whatif

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
START = NOW - timedelta(days=240)
pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.time_machine(NOW)]
TYPES = list(DEFAULT_ACTIVITY_TYPES)
INDUSTRIES = ["software", "Software ", "logistics", "retail", ""]
FIELDS = (
    "mql_at",
    "mql_icp_fit",
    "handoff_at",
    "temperature",
    "icp_fit",
    "pickup_hours",
    "version",
    "decided_at",
    "unversioned",
)


def random_clauses(rng: random.Random) -> Clauses:
    while True:
        data = {key: section["data"] for key, section in demo_sections().items()}
        temperature = data["temperature"]
        temperature["window_days"] = rng.choice([1, 3, 30, 90])
        temperature["activity_types"] = rng.sample(TYPES, rng.randint(2, len(TYPES)))
        temperature["marketing_rules"] = {
            level: {
                kind: rng.randint(1, 3)
                for kind in rng.sample(temperature["activity_types"], rng.randint(1, 2))
            }
            for level in TEMPERATURES
        }
        criteria = rng.sample(
            [
                {"field": "company_employees", "op": "gte", "value": rng.choice([10, 50, 200])},
                {"field": "company_employees", "op": "between", "value": [20, rng.choice([100, 500])]},
                {"field": "company_annual_revenue", "op": "lte", "value": 5_000_000},
                {"field": "company_industry", "op": rng.choice(["in", "not_in"]), "value": ["software"]},
            ],
            rng.randint(0, 3),
        )
        data["icp"] = {"criteria": criteria}
        handoff = data["handoff"]
        handoff["mql_threshold"] = rng.choice(TEMPERATURES)
        handoff["icp_fit_required"] = rng.random() < 0.7
        handoff["pickup_hours"] = {"hot": rng.choice([0.5, 1, 2]), "warm": rng.choice([4, 8]), "cold": 24}
        try:
            return parse_clauses(data)
        except ClauseError:
            continue


def random_history(rng: random.Random, leads: int) -> None:
    """Leads sent, given batches of activities (some late, some old) and corrected by a CRM, through
    the pipeline's own services, at random moments of the period."""
    crm = Actor.system()
    for n in range(leads):
        sent = START + timedelta(hours=rng.randint(0, 230 * 24))
        external_id = f"r{n}"
        data = {
            "email": f"r{n}@example.com",
            "company_employees": rng.choice([None, 5, 60, 150, 400]),
            "company_annual_revenue": rng.choice([None, 1_000_000, 9_000_000]),
            "company_industry": rng.choice(INDUSTRIES),
        }
        services.lead_upsert(external_id=external_id, data=data, actor=crm, now=sent)
        at = sent
        for batch in range(rng.randint(0, 4)):
            at += timedelta(hours=rng.randint(1, 24 * 20))
            if at >= NOW:
                break
            if rng.random() < 0.15:
                services.lead_upsert(
                    external_id=external_id,
                    data={"company_employees": rng.choice([5, 60, 400])},
                    actor=crm,
                    now=at,
                )
            items = [
                {
                    "lead_external_id": external_id,
                    "type": rng.choice(TYPES),
                    # Often right on a window's edge (1, 3, 30 or 90 days back), where < and ≤ differ.
                    "occurred_at": at
                    - timedelta(hours=rng.choice([0, 24, 72, 720, 2160, rng.randint(0, 2400)])),
                    "external_id": f"r{n}-{batch}-{k}",
                }
                for k in range(rng.randint(1, 3))
            ]
            services.activities_ingest(items=items, actor=crm, now=at)
        _maybe_pick_up(rng, external_id, at)


def _maybe_pick_up(rng: random.Random, external_id: str, at: datetime) -> None:
    """Sales accepts or rejects some of the leads handed off, a random while after."""
    lead = Lead.objects.get(external_id=external_id)
    if lead.status != Lead.Status.HANDED_OFF or rng.random() < 0.3:
        return
    at = max(at, lead.handed_off_at) + timedelta(minutes=rng.randint(1, 60 * 30))
    if at >= NOW:
        return
    actor = Actor.of(lead.owner)
    if rng.random() < 0.6:
        services.lead_accept(lead=lead, actor=actor, now=at)
    else:
        reason = lead.sla_version.clauses.handoff.rejection_reasons[0].code
        services.lead_reject(lead=lead, actor=actor, reason=reason, note="Not now.", now=at)


@pytest.mark.parametrize("seed", range(8))
def test_the_sql_replay_decides_every_lead_as_the_evaluation_module_does(pipeline, seed):
    rng = random.Random(seed)
    # The version came into force inside the period: the leads' first moments had none. For half the
    # seeds it also left force before the end, so later moments have none either.
    until = NOW - timedelta(days=rng.randint(5, 60)) if seed % 2 else None
    pipeline.versions.update(effective_from=START + timedelta(days=rng.randint(0, 60)), effective_until=until)
    random_history(rng, leads=25)
    versions = replay.in_force(pipeline.pk)
    for _ in range(3):
        simulated = replay.fixed(replay.Rules.of(random_clauses(rng)))
        assert replay_sql.usable(versions, simulated)
        by_sql, record = {}, {}
        for timeline, recorded, replayed, outcome in replay_sql.replays(
            pipeline.pk, START, NOW, versions, simulated
        ):
            by_sql[timeline.lead_id] = (replayed, outcome)
            record[timeline.lead_id] = (recorded, timeline.updates)
        walked = list(replay.timelines(pipeline.pk, START, NOW))
        assert len(walked) == len(by_sql) == 25
        # What was recorded, read by SQL aggregates, is what the events say one by one.
        assert record == {timeline.lead_id: (recorded, timeline.updates) for timeline, recorded in walked}
        for timeline, _ in walked:
            expected = (replay.replay(timeline, versions, NOW), replay.replay(timeline, simulated, NOW))
            for got, want in zip(by_sql[timeline.lead_id], expected, strict=True):
                assert {f: getattr(got, f) for f in FIELDS} == {f: getattr(want, f) for f in FIELDS}, (
                    timeline.external_id
                )


def test_a_simulation_gives_the_same_results_by_either_path(pipeline, monkeypatch):
    rng = random.Random(99)
    pipeline.versions.update(effective_from=START)
    random_history(rng, leads=40)
    simulated = replay.fixed(replay.Rules.of(random_clauses(rng)))

    def run() -> whatif.Results:
        return whatif.simulate(agreement_id=pipeline.pk, rules_at=simulated, start=START, end=NOW, tz="UTC")

    by_sql = run()
    monkeypatch.setattr(replay_sql, "usable", lambda *args: False)
    walked = run()
    assert by_sql.replayed == walked.replayed > 0
    assert (by_sql.recorded, by_sql.simulated) == (walked.recorded, walked.simulated)
    assert (by_sql.matched, by_sql.mismatches, by_sql.changed_count) == (
        walked.matched,
        walked.mismatches,
        walked.changed_count,
    )
    assert by_sql.changed == walked.changed


@pytest.mark.django_db(transaction=True)
def test_chunks_read_by_worker_connections_come_in_order_and_alike(pipeline):
    """Outside a transaction the chunks are read and counted by two connections of their own, ahead of
    Python: the leads come in id order with what the one-connection path gives, and those connections
    are closed at the end, or when the reader stops early."""
    from django.db import connection, transaction

    def connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    def back_to(expected: int) -> bool:
        # A closed connection's server process leaves the list a moment after the client has gone.
        for _ in range(100):
            if connections() == expected:
                return True
            time.sleep(0.05)
        return False

    alone = connections()
    pipeline.versions.update(effective_from=START)
    rng = random.Random(7)
    random_history(rng, leads=30)
    versions = replay.in_force(pipeline.pk)
    simulated = replay.fixed(replay.Rules.of(random_clauses(rng)))

    def run() -> list:
        return list(replay_sql.replays(pipeline.pk, START, NOW, versions, simulated, size=4))

    by_workers = run()
    assert back_to(alone)
    with transaction.atomic():
        assert connection.in_atomic_block
        by_one = run()
    ids = [timeline.lead_id for timeline, *_ in by_workers]
    assert ids == sorted(ids)
    assert len(ids) == 30
    assert [(t.lead_id, t.updates, *rest) for t, *rest in by_workers] == [
        (t.lead_id, t.updates, *rest) for t, *rest in by_one
    ]
    lines = replay_sql.replays(pipeline.pk, START, NOW, versions, simulated, size=4)
    next(lines)
    assert connections() > alone  # the workers are reading ahead
    lines.close()
    assert back_to(alone)
