"""The replay of reporting.replay, with its heavy part in PostgreSQL: for every moment a lead was evaluated
(sent, given a batch of activities, updated by a CRM), the engagement counts of its activities stored by
then inside each window, and the marketing temperature the clauses give them, both under the versions in
force and under the simulated clauses. Only a row per lead comes back (and one per version for the few
leads whose moments fell under more than one): its first MQL moment under each, the temperature then, and
its first and last moments.

A second query reads, per lead, what the pipeline recorded (RECORDED). Both run for a chunk of leads at a
time in two connections of their own, ahead of Python.

Python then applies the ICP to the lead (agreements.evaluation.fits_icp: PostgreSQL's lower() is not
Python's casefold(), so the text criteria stay there) and picks the handoff. The temperature rules are
compiled from the clauses here; tests/reporting/test_replay_sql.py checks, on random leads and random
clauses, that this path and the evaluation module (reporting.replay.replay) decide every lead alike.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from operator import attrgetter
from threading import Barrier
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import QuerySet

from agreements.clauses import TEMPERATURES, Clauses, Icp
from agreements.evaluation import LeadSnapshot, fits_icp
from leads.models import Lead
from reporting.replay import (
    Fixed,
    InForce,
    Outcome,
    Recorded,
    Rules,
    RulesAt,
    Timeline,
    fetch,
    period_leads,
)


def usable(versions: RulesAt, rules_at: RulesAt) -> bool:
    return connection.vendor == "postgresql" and isinstance(versions, InForce) and isinstance(rules_at, Fixed)


class Group(NamedTuple):
    """One lead's moments under one set of clauses."""

    first: datetime
    last: datetime
    mql_at: datetime | None
    rank: int | None  # the marketing temperature at mql_at, as its index in TEMPERATURES


# Compiled.groups: a row per lead, and the in-force groups by version of the leads that need them.
Groups = tuple[dict[int, tuple], dict[int, dict[int | None, Group]]]


class Compiled:
    """The query for a chunk of leads, with its parameters, for these versions and simulated clauses."""

    def __init__(self, versions: InForce, simulated: Rules) -> None:
        self.params: dict[str, object] = {}
        self.columns: dict[tuple[str, int], str] = {}  # (activity type, window days): its count's column
        counts = []
        for clauses in [rules.clauses for _, _, rules in versions.spans] + [simulated.clauses]:
            temperature = clauses.temperature
            for level in TEMPERATURES:
                for activity, _ in temperature.marketing_rules[level]:
                    key = (activity, temperature.window_days)
                    if activity not in temperature.activity_types or key in self.columns:
                        continue  # an activity the clauses do not count has a count of 0 (below)
                    column = self.columns[key] = f"c{len(self.columns)}"
                    window = f"make_interval(secs => {int(key[1]) * 86400})"
                    counts.append(
                        f"count(a.id) FILTER (WHERE a.type = {self._param(activity)} "
                        f"AND a.occurred_at > m.at - {window} AND a.occurred_at <= m.at) AS {column}"
                    )
        spans = [
            f"WHEN m.at >= {self._param(since)}"
            + (f" AND m.at < {self._param(until)}" if until else "")
            + f" THEN {int(rules.version)}"
            for since, until, rules in versions.spans
        ]
        ranks = [f"WHEN {int(r.version)} THEN {self._rank(r.clauses)}" for _, _, r in versions.spans]
        thresholds = [
            f"WHEN {int(r.version)} THEN {TEMPERATURES.index(r.clauses.handoff.mql_threshold)}"
            for _, _, r in versions.spans
        ]
        version = f"CASE {' '.join(spans)} END" if spans else "NULL::int"
        rank_f = f"CASE version {' '.join(ranks)} END" if ranks else "NULL::int"
        threshold_f = f"CASE version {' '.join(thresholds)} END" if thresholds else "NULL::int"
        threshold_s = TEMPERATURES.index(simulated.clauses.handoff.mql_threshold)
        self.sql = f"""
WITH m AS (
    SELECT l.id AS lead_id, l.created_at AS at FROM leads_lead l
    WHERE l.id BETWEEN %(first)s AND %(last)s AND l.created_at < %(end)s
    UNION
    SELECT a.lead_id, a.created_at FROM leads_activity a
    WHERE a.lead_id BETWEEN %(first)s AND %(last)s AND a.created_at < %(end)s
    UNION
    SELECT e.lead_id, e.at FROM leads_leadevent e
    WHERE e.lead_id BETWEEN %(first)s AND %(last)s AND e.kind = 'updated'
      AND e.at < %(end)s
), c AS (
    SELECT m.lead_id, m.at, {version} AS version, {", ".join(counts) or "0 AS no_counts"}
    FROM m LEFT JOIN leads_activity a
        ON a.lead_id = m.lead_id AND a.lead_id BETWEEN %(first)s AND %(last)s AND a.created_at <= m.at
    GROUP BY m.lead_id, m.at
), d AS (
    SELECT lead_id, at, version, {rank_f} AS rank_f, {threshold_f} AS threshold_f,
           {self._rank(simulated.clauses)} AS rank_s
    FROM c
), lead AS (
    SELECT lead_id, min(at) AS first, max(at) AS last,
           min(at) FILTER (WHERE rank_s >= {threshold_s}) AS mql_s,
           (array_agg(rank_s ORDER BY at) FILTER (WHERE rank_s >= {threshold_s}))[1] AS rank_s,
           min(at) FILTER (WHERE rank_f >= threshold_f) AS mql_f,
           (array_agg(rank_f ORDER BY at) FILTER (WHERE rank_f >= threshold_f))[1] AS rank_f,
           min(version) AS version, min(version) = max(version) AND count(version) = count(*) AS one
    FROM d GROUP BY lead_id
)
SELECT lead_id, one, version, first, last, mql_s, rank_s, mql_f, rank_f FROM lead
UNION ALL
SELECT d.lead_id, NULL, d.version, min(d.at), max(d.at), NULL, NULL,
       min(d.at) FILTER (WHERE d.rank_f >= d.threshold_f),
       (array_agg(d.rank_f ORDER BY d.at) FILTER (WHERE d.rank_f >= d.threshold_f))[1]
FROM d JOIN lead USING (lead_id) WHERE NOT lead.one GROUP BY d.lead_id, d.version
"""

    def _param(self, value: object) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def _rank(self, clauses: Clauses) -> str:
        """The marketing temperature's index, -1 for none: the hottest level whose minimums are all met
        (agreements.evaluation.marketing_temperature)."""
        temperature = clauses.temperature
        whens = []
        for rank in reversed(range(len(TEMPERATURES))):
            requirement = temperature.marketing_rules[TEMPERATURES[rank]]
            met = [
                f"{self.columns.get((activity, temperature.window_days), '0')} >= {int(minimum)}"
                for activity, minimum in requirement
            ] or ["TRUE"]
            whens.append(f"WHEN {' AND '.join(met)} THEN {rank}")
        return f"CASE {' '.join(whens)} ELSE -1 END"

    def groups(
        self, bounds: dict[str, object]
    ) -> tuple[dict[int, tuple], dict[int, dict[int | None, Group]]]:
        """Of the leads with ids from `first` to `last`, moments before `end`: a row per lead (lead id,
        whether its moments had one version, that version, first and last moment, first MQL moment and
        rank simulated, then in force), and the in-force groups, by version, of the leads whose moments
        had more than one or none."""
        rows: dict[int, tuple] = {}
        several: dict[int, dict[int | None, Group]] = {}
        for row in fetch(self.sql, {**self.params, **bounds}):
            lead_id, one, version, first, last, _, _, mql_f, rank_f = row
            if one is None:
                several.setdefault(lead_id, {})[version] = Group(first, last, mql_f, rank_f)
            else:
                rows[lead_id] = row
        return rows, several


# What the pipeline recorded of each lead of an id range (reporting.replay._chunk reads the same from the
# events one by one): its first handoff, the first pickup after it, the ICP fit of the latest evaluation
# before it and of the evaluation at the MQL moment (as JSON text: 'null' when the key is missing, NULL
# when there was no such evaluation), and the moments a CRM updated it. The leads are joined by the range
# too: without it the planner hashes the whole leads table for every chunk.
RECORDED = """
WITH e AS (
    SELECT lead_id, kind, at, id, details, sla_version_id FROM leads_leadevent
    WHERE lead_id BETWEEN %(first)s AND %(last)s AND at < %(end)s
      AND kind IN (%(updated)s, %(evaluated)s, %(handed_off)s, %(accepted)s, %(rejected)s)
), h AS (
    SELECT DISTINCT ON (lead_id) lead_id, at, id, details->>'temperature' AS temperature,
           details->>'owner' AS owner, sla_version_id FROM e
    WHERE kind = %(handed_off)s ORDER BY lead_id, at, id
)
SELECT e.lead_id, h.at, h.temperature, v.number, h.owner,
    min(e.at) FILTER (WHERE e.kind IN (%(accepted)s, %(rejected)s) AND (e.at, e.id) > (h.at, h.id)),
    (array_agg(coalesce((e.details->'icp_fit')::text, 'null') ORDER BY e.at DESC, e.id DESC)
        FILTER (WHERE e.kind = %(evaluated)s AND (h.id IS NULL OR (e.at, e.id) < (h.at, h.id))))[1],
    (array_agg(coalesce((e.details->'icp_fit')::text, 'null') ORDER BY e.at DESC, e.id DESC)
        FILTER (WHERE e.kind = %(evaluated)s AND (h.id IS NULL OR (e.at, e.id) < (h.at, h.id))
                AND e.at = l.mql_at))[1],
    array_agg(e.at ORDER BY e.at, e.id) FILTER (WHERE e.kind = %(updated)s)
FROM e JOIN leads_lead l ON l.id = e.lead_id AND l.id BETWEEN %(first)s AND %(last)s
LEFT JOIN h ON h.lead_id = e.lead_id
LEFT JOIN agreements_agreementversion v ON v.id = h.sla_version_id
GROUP BY e.lead_id, h.at, h.id, h.temperature, h.owner, v.number
"""
KINDS = {kind: kind for kind in ("updated", "evaluated", "handed_off", "accepted", "rejected")}


@dataclass
class Chunk:
    """A run of the period's leads in id order, with their record and their groups."""

    leads: list[tuple]
    recorded: dict[int, tuple]
    groups: Groups


def replays(
    agreement_id: int, start: datetime, end: datetime, versions: InForce, simulated: Fixed, size: int = 5000
) -> Iterator[tuple[Timeline, Recorded, Outcome, Outcome]]:
    """Every lead of the period with what was recorded, its replay under the versions in force and under
    the simulated clauses: what reporting.replay.replay gives, lead by lead (its timelines without their
    activities, which stayed in the database)."""
    compiled = Compiled(versions, simulated.rules)
    by_number = {rules.version: rules for _, _, rules in versions.spans}
    mine = simulated.rules
    period = period_leads(agreement_id, start, end)
    fit = Fits([*by_number.values(), mine])

    def read(query: tuple[str, Any]) -> Chunk:
        leads = fetch(*query)
        if not leads:  # erased since the ranges were cut
            return Chunk([], {}, ({}, {}))
        # The chunk's id range: the rows of the few leads in it that are not the period's cost less than
        # sending thousands of ids, and the range lets the planner read activities and events by index.
        bounds = {"first": leads[0][0], "last": leads[-1][0], "end": end}
        recorded = {row[0]: row[1:] for row in fetch(RECORDED, {**bounds, **KINDS})}
        return Chunk(leads, recorded, compiled.groups(bounds))

    def lines(chunk: Chunk) -> Iterator[tuple[Timeline, Recorded, Outcome, Outcome]]:
        rows, several = chunk.groups
        for pk, external_id, created_at, mql_at, lead_fit, *snapshot in chunk.leads:
            employees, revenue, industry, country, title = snapshot
            lead = LeadSnapshot(employees, revenue, industry or "", country or "", title or "")
            handoff_at, temperature, number, owner, pickup_at, icp, mql_icp, updates = chunk.recorded.get(
                pk, NOTHING
            )
            if mql_at is not None and mql_at >= end:
                mql_at = None  # as of the period's end: a lead that became an MQL after was not one then
            recorded = Recorded(
                mql_at,
                (lead_fit if mql_icp is None else json.loads(mql_icp)) if mql_at else None,
                handoff_at,
                temperature,
                (lead_fit if icp is None else json.loads(icp)) if handoff_at else None,
                number,
                owner,
                pickup_at,
            )
            fits = fit.of(lead)
            row = rows.get(pk)
            if row is None:  # no moment before the period's end
                replayed = simulated = Outcome()
            else:
                _, one, version, _, last, mql_s, rank_s, mql_f, rank_f = row
                simulated = _one(mql_s, rank_s, last, mine, fits(mine.clauses.icp))
                if one:  # most leads: all their moments under one version (a version of the spans)
                    rules = by_number[version]
                    replayed = _one(mql_f, rank_f, last, rules, fits(rules.clauses.icp))
                else:
                    replayed = _outcome(several.get(pk, {}), by_number, fits)
            yield (
                Timeline(pk, external_id, lead, created_at, updates=updates or []),
                recorded,
                replayed,
                simulated,
            )

    # Each chunk's leads as SQL, compiled here: Django's queries are not to be compiled in two threads
    # at once.
    ranges = _ranges(Lead.objects.filter(agreement_id=agreement_id, created_at__lt=end), size)
    queries = [period.filter(pk__gt=after, pk__lte=upto).query.sql_with_params() for after, upto in ranges]
    if connection.in_atomic_block:
        # What the caller's transaction wrote is visible to this connection only: one query at a time.
        for query in queries:
            yield from lines(read(query))
        return
    # Two connections of their own read and count the next chunks while Python goes through this one:
    # the database's work on a chunk takes about as long as Python's.
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="replay-sql") as pool:
        pending: deque[Future[Chunk]] = deque()
        try:
            for query in queries:
                pending.append(pool.submit(read, query))
                if len(pending) > WORKERS:
                    yield from lines(pending.popleft().result())
            while pending:
                yield from lines(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()
            done = Barrier(WORKERS, timeout=60)
            for _ in range(WORKERS):
                pool.submit(_close, done)


WORKERS = 2


def _ranges(leads: QuerySet, size: int) -> list[tuple[int, int]]:
    """The leads cut into runs of `size` in id order, as (after, up to) id bounds: the id of every
    size-th lead and of the last one, in one query. Given the agreement's leads rather than the period's,
    whose test reads every lead's activities and events (a quarter of the time at 100,000 leads, before
    any chunk could start): a chunk then holds at most `size` of the period's."""
    sql, params = leads.values_list("pk").order_by().query.sql_with_params()
    cuts = f"""
SELECT id FROM (
    SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total FROM ({sql}) AS p (id)
) AS numbered WHERE n %% {int(size)} = 0 OR n = total ORDER BY id"""
    ids = [0, *(row[0] for row in fetch(cuts, params))]
    return list(pairwise(ids))


def _close(done: Barrier) -> None:
    # Run once in each worker thread (the barrier holds each one until all have theirs): Django's
    # connections are one per thread.
    try:
        done.wait()
    finally:
        connection.close()


NOTHING = (None,) * 8  # a lead without pipeline events: nothing recorded


class Fits:
    """A lead's ICP fit under each distinct ICP of the clauses replayed, asked once per lead and ICP. Leads
    alike in the fields an ICP reads fit it alike: the answers are kept by those fields' values."""

    LIMIT = 100_000  # answers kept per ICP before starting over (bounded memory)

    def __init__(self, rules: list[Rules]) -> None:
        self.icps: list[Icp] = []
        self.index: dict[int, int] = {}  # id of each rules' ICP: its distinct one's index
        for one in rules:
            if one.clauses.icp not in self.icps:
                self.icps.append(one.clauses.icp)
            self.index[id(one.clauses.icp)] = self.icps.index(one.clauses.icp)
        self.keys = [_reads(icp) for icp in self.icps]
        self.known: list[dict[Any, bool]] = [{} for _ in self.icps]

    def of(self, lead: LeadSnapshot) -> Callable[[Icp], bool]:
        def fit(icp: Icp) -> bool:
            index = self.index[id(icp)]
            key = self.keys[index](lead)
            known = self.known[index]
            answer = known.get(key)
            if answer is None:
                if len(known) >= self.LIMIT:
                    known.clear()
                answer = known[key] = fits_icp(lead, icp)
            return answer

        return fit


def _reads(icp: Icp) -> Callable[[LeadSnapshot], Any]:
    """The values of the lead's fields that the ICP reads (a constant when it reads none)."""
    names = list(dict.fromkeys(criterion.field for criterion in icp.criteria))
    return attrgetter(*names) if names else lambda lead: ()


def _outcome(
    groups: dict[int | None, Group], rules_of: dict[int | None, Rules], fit: Callable[[Icp], bool]
) -> Outcome:
    """The lead's path from its groups, as reporting.replay.replay walks it: the first MQL moment, the
    first handoff (the first MQL moment of clauses the lead fits, or that do not ask for the ICP)."""
    if len(groups) == 1:  # all the lead's moments under one set of clauses
        ((v, group),) = groups.items()
        rules = rules_of.get(v)
        if rules is not None:
            return _one(group.mql_at, group.rank, group.last, rules, fit(rules.clauses.icp))
    unversioned = groups.get(None) if None not in rules_of else None
    known = {v: g for v, g in groups.items() if v in rules_of}
    if not known:
        return Outcome(unversioned=unversioned is not None)
    fits = {v: fit(rules_of[v].clauses.icp) for v in known}
    mqls = sorted((g.mql_at, v) for v, g in known.items() if g.mql_at is not None)
    mql_at, mql_fit = (mqls[0][0], fits[mqls[0][1]]) if mqls else (None, None)
    # The handoff is the first MQL moment of clauses that let it go to sales; without one, the lead's
    # last moment decided. Either is that one set of clauses' outcome, with the lead's first MQL moment.
    handed = [v for _, v in mqls if fits[v] or not rules_of[v].clauses.handoff.icp_fit_required]
    deciding = handed[0] if handed else max(known, key=lambda v: known[v].last)
    group = known[deciding]
    outcome = _one(group.mql_at, group.rank, group.last, rules_of[deciding], fits[deciding])
    at = outcome.handoff_at
    late_unversioned = unversioned is not None and (at is None or unversioned.first < at)
    return replace(outcome, mql_at=mql_at, mql_icp_fit=mql_fit, unversioned=late_unversioned)


def _one(at: datetime | None, rank: int | None, last: datetime, rules: Rules, fits: bool) -> Outcome:
    """`_outcome` of a lead whose moments all fell under `rules`: its first MQL moment under them, the
    temperature's rank then, and its last moment."""
    handoff = rules.clauses.handoff
    if at is not None and (fits or not handoff.icp_fit_required):
        temperature = TEMPERATURES[rank]
        hours = handoff.pickup_hours.get(temperature)
        return Outcome(at, fits, at, temperature, fits, hours, rules, at)
    return Outcome(at, fits if at is not None else None, icp_fit=fits, rules=rules, decided_at=last)
