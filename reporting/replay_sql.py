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

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from agreements.clauses import TEMPERATURES, Clauses
from agreements.evaluation import fits_icp
from reporting.replay import Fixed, InForce, Outcome, Recorded, Rules, RulesAt, Timeline, chunks

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
    WHERE l.id = ANY(%(ids)s) AND l.created_at < %(end)s
    UNION
    SELECT a.lead_id, a.created_at FROM leads_activity a
    WHERE a.lead_id = ANY(%(ids)s) AND a.created_at < %(end)s
    UNION
    SELECT e.lead_id, e.at FROM leads_leadevent e
    WHERE e.lead_id = ANY(%(ids)s) AND e.kind = 'updated' AND e.at < %(end)s
), c AS (
    SELECT m.lead_id, m.at, {version} AS version, {", ".join(counts) or "0 AS no_counts"}
    FROM m LEFT JOIN leads_activity a ON a.lead_id = m.lead_id AND a.created_at <= m.at
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
        from psycopg.types.datetime import TimestamptzLoader  # PostgreSQL only, as is this path

        out: dict[int, dict[tuple[str, int | None], Group]] = {}
        with connection.cursor() as cursor:
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            cursor.execute(self.sql, {**self.params, "ids": ids, "end": end})
            for lead_id, side, version, first, last, mql_at, rank in cursor.fetchall():
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
    for part in chunks(agreement_id, start, end, size, activities=False):
        groups = compiled.groups([timeline.lead_id for timeline, _ in part], end)
        for timeline, recorded in part:
            lead = groups.get(timeline.lead_id, {})
            in_force = {v: g for (side, v), g in lead.items() if side == IN_FORCE}
            yield (
                timeline,
                recorded,
                _outcome(timeline, in_force, by_number),
                _outcome(timeline, {0: lead[(SIMULATED, None)]}, {0: simulated.rules})
                if (SIMULATED, None) in lead
                else Outcome(),
            )


def _outcome(
    timeline: Timeline, groups: dict[int | None, Group], rules_of: dict[int | None, Rules]
) -> Outcome:
    """The lead's path from its groups, as reporting.replay.replay walks it: the first MQL moment, the
    first handoff (the first MQL moment of clauses the lead fits, or that do not ask for the ICP)."""
    unversioned = groups.get(None) if None not in rules_of else None
    known = {v: g for v, g in groups.items() if v in rules_of}
    if not known:
        return Outcome(unversioned=unversioned is not None)
    fits = {v: fits_icp(timeline.snapshot, rules_of[v].clauses.icp) for v in known}
    mqls = sorted((g.mql_at, v) for v, g in known.items() if g.mql_at is not None)
    mql_at, mql_fit = (mqls[0][0], fits[mqls[0][1]]) if mqls else (None, None)
    for at, v in mqls:
        rules = rules_of[v]
        if fits[v] or not rules.clauses.handoff.icp_fit_required:
            temperature = TEMPERATURES[known[v].rank]
            return Outcome(
                mql_at,
                mql_fit,
                handoff_at=at,
                temperature=temperature,
                icp_fit=fits[v],
                pickup_hours=rules.clauses.handoff.pickup_hours.get(temperature),
                rules=rules,
                decided_at=at,
                unversioned=unversioned is not None and unversioned.first < at,
            )
    last = max(known, key=lambda v: known[v].last)
    return Outcome(
        mql_at,
        mql_fit,
        icp_fit=fits[last],
        rules=rules_of[last],
        decided_at=known[last].last,
        unversioned=unversioned is not None,
    )
