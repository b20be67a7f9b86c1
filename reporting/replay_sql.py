"""The replay of reporting.replay, with its heavy part in PostgreSQL: for every moment a lead was evaluated
(sent, given a batch of activities, updated by a CRM), the engagement counts of its activities stored by
then inside each window, and the marketing temperature the clauses give them, both under the versions in
force and under the simulated clauses. Only a row per lead and version comes back: its first MQL moment,
the temperature then, and its last moment.

Python then applies the ICP to the lead (agreements.evaluation.fits_icp: PostgreSQL's lower() is not
Python's casefold(), so the text criteria stay there) and picks the handoff. The temperature rules are
compiled from the clauses here; tests/reporting/test_replay_sql.py checks, on random leads and random
clauses, that this path and the evaluation module (reporting.replay.replay) decide every lead alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import connection

from agreements.clauses import TEMPERATURES, Clauses, Icp
from agreements.evaluation import LeadSnapshot, fits_icp
from reporting.replay import Fixed, InForce, Outcome, Recorded, Rules, RulesAt, Timeline, chunks, fetch

SIMULATED = "s"
IN_FORCE = "f"


def usable(versions: RulesAt, rules_at: RulesAt) -> bool:
    return connection.vendor == "postgresql" and isinstance(versions, InForce) and isinstance(rules_at, Fixed)


@dataclass(frozen=True)
class Group:
    """One lead's moments under one set of clauses."""

    first: datetime
    last: datetime
    mql_at: datetime | None
    rank: int | None  # the marketing temperature at mql_at, as its index in TEMPERATURES


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
)
SELECT lead_id, '{IN_FORCE}', version, min(at), max(at),
       min(at) FILTER (WHERE rank_f >= threshold_f),
       (array_agg(rank_f ORDER BY at) FILTER (WHERE rank_f >= threshold_f))[1]
FROM d GROUP BY lead_id, version
UNION ALL
SELECT lead_id, '{SIMULATED}', NULL, min(at), max(at),
       min(at) FILTER (WHERE rank_s >= {threshold_s}),
       (array_agg(rank_s ORDER BY at) FILTER (WHERE rank_s >= {threshold_s}))[1]
FROM d GROUP BY lead_id
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

    def groups(self, ids: list[int], end: datetime) -> dict[int, dict[tuple[str, int | None], Group]]:
        out: dict[int, dict[tuple[str, int | None], Group]] = {}
        # The chunk's id range (its leads are a run of the period's, in id order): the rows of the few
        # leads in it that are not the period's cost less than sending thousands of ids, and the range
        # lets the planner read the activities by index, not hash the whole table.
        rows = fetch(self.sql, {**self.params, "first": ids[0], "last": ids[-1], "end": end})
        for lead_id, side, version, first, last, mql_at, rank in rows:
            out.setdefault(lead_id, {})[(side, version)] = Group(first, last, mql_at, rank)
        return out


def replays(
    agreement_id: int, start: datetime, end: datetime, versions: InForce, simulated: Fixed, size: int = 5000
) -> Iterator[tuple[Timeline, Recorded, Outcome, Outcome]]:
    """Every lead of the period with what was recorded, its replay under the versions in force and under
    the simulated clauses: what reporting.replay.replay gives, lead by lead (its timelines without their
    activities, which stayed in the database)."""
    compiled = Compiled(versions, simulated.rules)
    by_number = {rules.version: rules for _, _, rules in versions.spans}
    # A lead's ICP fit is asked once per distinct ICP: a simulation mostly keeps the one in force.
    icps: list[Icp] = []
    for rules in [*by_number.values(), simulated.rules]:
        if rules.clauses.icp not in icps:
            icps.append(rules.clauses.icp)
    parts = chunks(agreement_id, start, end, size, activities=False)

    def leads(part: list[tuple[Timeline, Recorded]], groups: dict) -> Iterator:
        for timeline, recorded in part:
            lead = groups.get(timeline.lead_id, {})
            in_force = {v: g for (side, v), g in lead.items() if side == IN_FORCE}
            mine = lead.get((SIMULATED, None))
            fits: dict[int, bool] = {}

            def fit(icp: Icp, snapshot: LeadSnapshot = timeline.snapshot, fits: dict = fits) -> bool:
                index = icps.index(icp)
                if index not in fits:
                    fits[index] = fits_icp(snapshot, icp)
                return fits[index]

            yield (
                timeline,
                recorded,
                _outcome(in_force, by_number, fit),
                _outcome({0: mine}, {0: simulated.rules}, fit) if mine else Outcome(),
            )

    if connection.in_atomic_block:
        # What the caller's transaction wrote is visible to this connection only: one query at a time.
        for part in parts:
            yield from leads(part, compiled.groups(_ids(part), end))
        return
    # The database counts the next chunk (in a connection of its own) while Python reads this one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-sql") as pool:
        try:
            pending = None
            for part in parts:
                counting = pool.submit(compiled.groups, _ids(part), end)
                if pending is not None:
                    yield from leads(pending[0], pending[1].result())
                pending = (part, counting)
            if pending is not None:
                yield from leads(pending[0], pending[1].result())
        finally:
            pool.submit(_close)


def _close() -> None:
    connection.close()  # run in the worker thread: its own connection (Django's are one per thread)


def _ids(part: list[tuple[Timeline, Recorded]]) -> list[int]:
    return [timeline.lead_id for timeline, _ in part]


def _outcome(
    groups: dict[int | None, Group], rules_of: dict[int | None, Rules], fit: Callable[[Icp], bool]
) -> Outcome:
    """The lead's path from its groups, as reporting.replay.replay walks it: the first MQL moment, the
    first handoff (the first MQL moment of clauses the lead fits, or that do not ask for the ICP)."""
    if len(groups) == 1:  # most leads: all their moments under one set of clauses
        ((v, group),) = groups.items()
        rules = rules_of.get(v)
        if rules is not None:
            return _one(group, rules, fit(rules.clauses.icp))
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
    outcome = _one(known[deciding], rules_of[deciding], fits[deciding])
    at = outcome.handoff_at
    late_unversioned = unversioned is not None and (at is None or unversioned.first < at)
    return replace(outcome, mql_at=mql_at, mql_icp_fit=mql_fit, unversioned=late_unversioned)


def _one(group: Group, rules: Rules, fits: bool) -> Outcome:
    """`_outcome` of a lead whose moments all fell under `rules`."""
    handoff = rules.clauses.handoff
    at = group.mql_at
    if at is not None and (fits or not handoff.icp_fit_required):
        temperature = TEMPERATURES[group.rank]
        hours = handoff.pickup_hours.get(temperature)
        return Outcome(at, fits, at, temperature, fits, hours, rules, at)
    return Outcome(at, fits if at is not None else None, icp_fit=fits, rules=rules, decided_at=group.last)
