"""What-if: an agreement's leads replayed through the evaluation with other clauses (issue: simulate a draft
before anyone signs it).

Each lead is evaluated again at every moment the pipeline evaluated it (when it was sent, each time a batch
of its activities was stored, each time a CRM updated it), with the activities stored by then, by the pure
evaluation module (agreements.evaluation): the rules live there only. A lead's replay ends at its first
handoff; what sales did after is the record's, not the clauses'. The replay with the versions that were in
force must reproduce the record (`fidelity`); the replay with other clauses says what they would have
changed. Nothing here writes: leads, events and reports stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.business_hours import BusinessCalendar, CalendarError, add_business_hours
from agreements.clauses import Clauses
from agreements.evaluation import (
    ActivitySnapshot,
    Check,
    LeadSnapshot,
    evaluate,
    fits_icp,
    handoff_decision,
    marketing_temperature,
    window_counts,
)
from agreements.models import AgreementVersion
from agreements.selectors import signed_version
from leads.models import Activity, Lead, LeadEvent

Kind = LeadEvent.Kind
SNAPSHOT_FIELDS = (  # in LeadSnapshot's order: _chunk passes them by position
    "company_employees",
    "company_annual_revenue",
    "company_industry",
    "company_country",
    "job_title",
)
PIPELINE = (Kind.UPDATED, Kind.EVALUATED, Kind.HANDED_OFF)
PICKUPS = (Kind.ACCEPTED, Kind.REJECTED)
# Why a replay of the versions in force can differ from the record, in the words the results give.
MISMATCHES = {
    "data_changed": "A CRM changed the lead's data after it was sent: the replay knows only its data now.",
    "version_changed": "The version the record names is not the one in force at that moment.",
    "no_version": "No version was in force when the pipeline evaluated the lead.",
    "other": "Not explained by the data, the versions or the clock: look at the lead's timeline.",
}


@dataclass(frozen=True)
class Rules:
    """Clauses to replay, with the version number they are (None: clauses never signed)."""

    version: int | None
    clauses: Clauses
    calendar: BusinessCalendar

    @classmethod
    def of(cls, clauses: Clauses, version: int | None = None) -> Rules:
        return cls(version, clauses, BusinessCalendar.from_handoff(clauses.handoff))


RulesAt = Callable[[datetime], Rules | None]


@dataclass(frozen=True)
class Fixed:
    """The same clauses at every moment: what a simulation replays."""

    rules: Rules

    def __call__(self, at: datetime) -> Rules | None:
        return self.rules


def fixed(rules: Rules) -> Fixed:
    return Fixed(rules)


@dataclass(frozen=True)
class InForce:
    """The signed versions of an agreement, each over the time it was in force: [since, until)."""

    spans: tuple[tuple[datetime, datetime | None, Rules], ...]

    def __call__(self, moment: datetime) -> Rules | None:
        for since, until, rules in self.spans:
            if since <= moment and (until is None or moment < until):
                return rules
        return None


def in_force(agreement_id: int) -> InForce:
    spans = []
    for version in AgreementVersion.objects.filter(
        agreement_id=agreement_id, effective_from__isnull=False
    ).order_by("effective_from"):
        signed = signed_version(version.pk)
        rules = Rules(version.number, signed.clauses, signed.calendar)
        spans.append((version.effective_from, version.effective_until, rules))
    return InForce(tuple(spans))


@dataclass(frozen=True)
class Outcome:
    """A lead's path under some clauses, up to its first handoff."""

    mql_at: datetime | None = None
    mql_icp_fit: bool | None = None
    handoff_at: datetime | None = None
    temperature: str | None = None
    icp_fit: bool | None = None  # at the handoff, or at the last evaluation
    pickup_hours: float | None = None
    rules: Rules | None = None  # of the evaluation that decided
    decided_at: datetime | None = None  # that evaluation's moment
    unversioned: bool = False  # some moment had no version in force

    @property
    def version(self) -> int | None:
        return self.rules.version if self.rules else None

    @cached_property
    def deadline(self) -> datetime | None:
        if self.handoff_at is None or not self.pickup_hours or self.rules is None:
            return None
        return pickup_deadline(self.handoff_at, self.pickup_hours, self.rules.calendar)


@lru_cache(maxsize=1024)
def pickup_deadline(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime | None:
    """The pickup deadline of a handoff at `start`, None if the calendar has no time for it. Cached: a
    lead's two replays mostly hand it off at the same moment with the same hours."""
    try:
        return add_business_hours(start, hours, calendar)
    except CalendarError:
        return None


@dataclass
class Timeline:
    """What the pipeline knew of a lead, moment by moment."""

    lead_id: int
    external_id: str
    snapshot: LeadSnapshot
    created_at: datetime
    arrivals: list[tuple[datetime, str, datetime]] = field(default_factory=list)  # stored, type, occurred
    updates: list[datetime] = field(default_factory=list)

    @cached_property
    def moments(self) -> list[datetime]:
        return sorted({self.created_at, *(stored for stored, _, _ in self.arrivals), *self.updates})

    def known(self, moment: datetime) -> Iterator[tuple[str, datetime]]:
        """The activities stored by `moment`: (type, occurred)."""
        return ((kind, occurred) for stored, kind, occurred in self.arrivals if stored <= moment)

    def snapshot_at(self, moment: datetime) -> LeadSnapshot:
        activities = tuple(ActivitySnapshot(kind, occurred) for kind, occurred in self.known(moment))
        return replace(self.snapshot, activities=activities)


def replay(timeline: Timeline, rules_at: RulesAt, until: datetime) -> Outcome:
    """Decide the lead at each of its moments before `until`, as the pipeline did, under `rules_at`, by
    the evaluation module's rules (without its sentences: `explain` gives them for the few who ask)."""
    mql_at = mql_icp_fit = decided = rules = None
    fit = False
    fits: dict[int, bool] = {}  # ICP fit per set of clauses: the lead's data is one for the whole replay
    unversioned = False
    for moment in timeline.moments:
        if moment >= until:
            break
        now_rules = rules_at(moment)
        if now_rules is None:
            unversioned = True
            continue
        rules, decided = now_rules, moment
        clauses = rules.clauses
        fit = fits.get(id(clauses))
        if fit is None:
            fit = fits[id(clauses)] = fits_icp(timeline.snapshot, clauses.icp)
        counts = window_counts(timeline.known(moment), clauses.temperature, moment)
        temperature = marketing_temperature(counts, clauses.temperature)
        is_mql, transfer = handoff_decision(temperature, fit, clauses.handoff)
        if is_mql and mql_at is None:
            mql_at, mql_icp_fit = moment, fit
        if transfer:
            return Outcome(
                mql_at,
                mql_icp_fit,
                handoff_at=moment,
                temperature=temperature,
                icp_fit=fit,
                pickup_hours=clauses.handoff.pickup_hours.get(temperature) if temperature else None,
                rules=rules,
                decided_at=moment,
                unversioned=unversioned,
            )
    if rules is None:
        return Outcome(unversioned=unversioned)
    return Outcome(mql_at, mql_icp_fit, icp_fit=fit, rules=rules, decided_at=decided, unversioned=unversioned)


def explain(timeline: Timeline, outcome: Outcome) -> tuple[Check, ...]:
    """The deciding evaluation of the outcome, clause by clause."""
    if outcome.rules is None or outcome.decided_at is None:
        return ()
    at = outcome.decided_at
    return evaluate(timeline.snapshot_at(at), outcome.rules.clauses, at).checks


@dataclass(frozen=True)
class Recorded:
    """What the pipeline did: the lead's first MQL moment and first handoff."""

    mql_at: datetime | None
    mql_icp_fit: bool | None = None
    handoff_at: datetime | None = None
    temperature: str | None = None
    icp_fit: bool | None = None
    version: int | None = None
    owner: str | None = None  # who the handoff went to
    pickup_at: datetime | None = None  # when sales first accepted or rejected it after that


def _leads(agreement_id: int, start: datetime, end: datetime) -> QuerySet[Lead]:
    """The agreement's leads that the pipeline evaluated in [start, end): sent, given activities or
    updated by a CRM then."""
    stored = Activity.objects.filter(lead=OuterRef("pk"), created_at__gte=start, created_at__lt=end)
    updated = LeadEvent.objects.filter(lead=OuterRef("pk"), kind=Kind.UPDATED, at__gte=start, at__lt=end)
    return Lead.objects.filter(agreement_id=agreement_id, created_at__lt=end).filter(
        Q(created_at__gte=start) | Exists(stored) | Exists(updated)
    )


def lead_count(agreement_id: int, start: datetime, end: datetime) -> int:
    return _leads(agreement_id, start, end).count()


def timelines(
    agreement_id: int, start: datetime, end: datetime, chunk: int = 2000
) -> Iterator[tuple[Timeline, Recorded]]:
    """Those leads a chunk at a time (three queries each, bounded memory), with what was recorded of them."""
    leads = period_leads(agreement_id, start, end)
    after = 0
    while rows := _rows(leads.filter(pk__gt=after)[:chunk]):
        after = rows[-1][0]
        yield from _chunk(rows, end)


def period_leads(agreement_id: int, start: datetime, end: datetime) -> QuerySet:
    """The period's leads in id order, as rows: id, external id, sent, MQL moment, ICP fit, then
    SNAPSHOT_FIELDS."""
    return (
        _leads(agreement_id, start, end)
        .order_by("pk")
        .values_list("pk", "external_id", "created_at", "mql_at", "icp_fit", *SNAPSHOT_FIELDS)
    )


def of_leads(ids: list[int], end: datetime) -> dict[int, Timeline]:
    """Some leads' timelines, whole (for explaining the few whose path changes)."""
    if not ids:
        return {}
    leads = Lead.objects.filter(pk__in=ids).values_list(
        "pk", "external_id", "created_at", "mql_at", "icp_fit", *SNAPSHOT_FIELDS
    )
    whole = _chunk(_rows(leads), end, contiguous=False)
    return {timeline.lead_id: timeline for timeline, _ in whole}


def _rows(values: QuerySet) -> list[tuple]:
    """A values_list's rows, through `fetch` on PostgreSQL."""
    if connection.vendor != "postgresql":
        return list(values)
    return fetch(*values.query.sql_with_params())


def fetch(sql: str, params: Any) -> list[tuple]:
    """A PostgreSQL query's rows, read with psycopg's own timestamp loader (its C one): Django's,
    written in Python, takes most of the time of reading a year of activities."""
    from psycopg.types.datetime import TimestamptzLoader  # only installed with PostgreSQL support

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _chunk(rows: list[tuple], end: datetime, contiguous: bool = True) -> Iterator[tuple[Timeline, Recorded]]:
    """`contiguous`: the rows are a run of the period's leads in id order (timelines), else a few leads
    anywhere (of_leads)."""
    ids = [row[0] for row in rows]
    lines: dict[int, Timeline] = {}
    for pk, external_id, created_at, _, _, employees, revenue, industry, country, title in rows:
        snapshot = LeadSnapshot(employees, revenue, industry or "", country or "", title or "")
        lines[pk] = Timeline(pk, external_id, snapshot, created_at)
    # The chunk's id range rather than its ids: the ids of a few thousand leads cost more to send than
    # the rows of leads outside the period cost to skip.
    of_them = Q(lead_id__gte=ids[0], lead_id__lte=ids[-1]) if contiguous else Q(lead_id__in=ids)
    activities = (
        Activity.objects.filter(of_them, created_at__lt=end)
        .order_by("lead_id", "created_at", "occurred_at", "pk")
        .values_list("lead_id", "created_at", "type", "occurred_at")
    )
    for lead_id, stored, kind, occurred in _rows(activities):
        if lead_id in lines:
            lines[lead_id].arrivals.append((stored, kind, occurred))
    events = (
        LeadEvent.objects.filter(of_them, kind__in=(*PIPELINE, *PICKUPS))
        .filter(at__lt=end)
        .order_by("lead_id", "at", "pk")
        .values_list("lead_id", "kind", "at", "details", "sla_version__number")
    )
    # As of the period's end: a lead that became an MQL after it was not one then.
    mql_at = {row[0]: row[3] if row[3] is not None and row[3] < end else None for row in rows}
    # Where the record holds no evaluation event (leads loaded from elsewhere), the lead's own ICP fit.
    fit = {row[0]: row[4] for row in rows}
    handoffs: dict[int, tuple[datetime, str | None, int | None, str | None]] = {}
    pickups: dict[int, datetime] = {}
    icp: dict[int, bool | None] = {}  # as the latest evaluation before the handoff found it
    mql_icp: dict[int, bool | None] = {}  # as the evaluation that made the lead an MQL found it
    for lead_id, kind, at, details, number in _rows(events):
        if lead_id not in lines:
            continue
        if kind == Kind.UPDATED:
            lines[lead_id].updates.append(at)
        elif kind == Kind.EVALUATED and lead_id not in handoffs:
            details = _details(details)
            icp[lead_id] = details.get("icp_fit")
            if at == mql_at[lead_id]:
                mql_icp[lead_id] = details.get("icp_fit")
        elif kind == Kind.HANDED_OFF and lead_id not in handoffs:
            details = _details(details)
            handoffs[lead_id] = (at, details.get("temperature"), number, details.get("owner"))
        elif kind in PICKUPS and lead_id in handoffs and lead_id not in pickups:
            pickups[lead_id] = at
    for pk in ids:
        handoff = handoffs.get(pk) or (None, None, None, None)
        recorded = Recorded(
            mql_at[pk],
            mql_icp.get(pk, fit[pk]) if mql_at[pk] else None,
            handoff[0],
            handoff[1],
            icp.get(pk, fit[pk]) if handoff[0] else None,
            handoff[2],
            handoff[3],
            pickups.get(pk),
        )
        yield lines[pk], recorded


def _details(details: dict[str, Any] | str) -> dict[str, Any]:
    # Text when read past Django's JSON field (_rows, on PostgreSQL).
    return json.loads(details) if isinstance(details, str) else details


def mismatch(timeline: Timeline, recorded: Recorded, replayed: Outcome) -> str | None:
    """None when the replay of the versions in force reproduces the record; else why it does not."""
    same = (replayed.mql_at, replayed.handoff_at, replayed.temperature) == (
        recorded.mql_at,
        recorded.handoff_at,
        recorded.temperature,
    ) and (recorded.handoff_at is None or replayed.icp_fit == recorded.icp_fit)
    if same:
        return None
    if timeline.updates:
        return "data_changed"
    if recorded.handoff_at is not None and recorded.version != replayed.version:
        return "version_changed"
    if replayed.unversioned:
        return "no_version"
    return "other"


def changes(simulated: Outcome, replayed: Outcome) -> list[str]:
    """How the simulated clauses change the lead's path, in words (empty: no change)."""
    out = []
    if (simulated.mql_at is None) != (replayed.mql_at is None):
        out.append("becomes an MQL" if simulated.mql_at else "is no longer an MQL")
    if (simulated.handoff_at is None) != (replayed.handoff_at is None):
        out.append("is handed off" if simulated.handoff_at else "is not handed off")
    elif simulated.handoff_at and replayed.handoff_at:
        if simulated.handoff_at != replayed.handoff_at:
            out.append(
                "is handed off earlier"
                if simulated.handoff_at < replayed.handoff_at
                else "is handed off later"
            )
        if simulated.temperature != replayed.temperature:
            out.append(f"is handed off {simulated.temperature} instead of {replayed.temperature}")
        # The same moment, hours and calendar make the same deadline: no business-hours arithmetic.
        alike = (
            simulated.handoff_at == replayed.handoff_at
            and simulated.pickup_hours == replayed.pickup_hours
            and (simulated.rules and simulated.rules.calendar) == (replayed.rules and replayed.rules.calendar)
        )
        if not alike and simulated.deadline != replayed.deadline:
            if simulated.deadline and replayed.deadline:
                later = simulated.deadline > replayed.deadline
                out.append(f"has {'a later' if later else 'an earlier'} pickup deadline")
            else:
                out.append("has a pickup deadline" if simulated.deadline else "has no pickup deadline")
    return out
