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

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.business_hours import BusinessCalendar, CalendarError, add_business_hours
from agreements.clauses import Clauses
from agreements.evaluation import ActivitySnapshot, Check, LeadSnapshot, evaluate
from agreements.models import AgreementVersion
from agreements.selectors import signed_version
from leads.models import Activity, Lead, LeadEvent

Kind = LeadEvent.Kind
SNAPSHOT_FIELDS = (
    "company_employees",
    "company_annual_revenue",
    "company_industry",
    "company_country",
    "job_title",
)
TEMPERATURES = ("cold", "warm", "hot")
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


def fixed(rules: Rules) -> RulesAt:
    return lambda at: rules


def in_force(agreement_id: int) -> RulesAt:
    """The signed versions of the agreement, each over the time it was in force."""
    spans = []
    for version in AgreementVersion.objects.filter(
        agreement_id=agreement_id, effective_from__isnull=False
    ).order_by("effective_from"):
        signed = signed_version(version.pk)
        spans.append(
            (
                version.effective_from,
                version.effective_until,
                Rules(version.number, signed.clauses, signed.calendar),
            )
        )

    def at(moment: datetime) -> Rules | None:
        for since, until, rules in spans:
            if since <= moment and (until is None or moment < until):
                return rules
        return None

    return at


@dataclass(frozen=True)
class Outcome:
    """A lead's path under some clauses, up to its first handoff."""

    mql_at: datetime | None = None
    mql_icp_fit: bool | None = None
    handoff_at: datetime | None = None
    temperature: str | None = None
    icp_fit: bool | None = None  # at the handoff, or at the last evaluation
    pickup_hours: float | None = None
    deadline: datetime | None = None
    version: int | None = None  # of the evaluation that decided
    checks: tuple[Check, ...] = ()
    unversioned: bool = False  # some moment had no version in force


@dataclass
class Timeline:
    """What the pipeline knew of a lead, moment by moment."""

    lead_id: int
    external_id: str
    snapshot: LeadSnapshot
    created_at: datetime
    arrivals: list[tuple[datetime, str, datetime]] = field(default_factory=list)  # stored, type, occurred
    updates: list[datetime] = field(default_factory=list)

    def moments(self) -> list[datetime]:
        return sorted({self.created_at, *(stored for stored, _, _ in self.arrivals), *self.updates})


def replay(timeline: Timeline, rules_at: RulesAt, until: datetime) -> Outcome:
    """Evaluate the lead at each of its moments before `until`, as the pipeline did, under `rules_at`."""
    mql_at = mql_icp_fit = verdict = rules = None
    unversioned = False
    for moment in timeline.moments():
        if moment >= until:
            break
        now_rules = rules_at(moment)
        if now_rules is None:
            unversioned = True
            continue
        rules = now_rules
        since = moment - timedelta(days=rules.clauses.temperature.window_days)
        activities = tuple(
            ActivitySnapshot(kind, occurred)
            for stored, kind, occurred in timeline.arrivals
            if stored <= moment and since < occurred <= moment
        )
        verdict = evaluate(replace(timeline.snapshot, activities=activities), rules.clauses, moment)
        if verdict.is_mql and mql_at is None:
            mql_at, mql_icp_fit = moment, verdict.icp_fit
        if verdict.transfer:
            return Outcome(
                mql_at,
                mql_icp_fit,
                handoff_at=moment,
                temperature=verdict.marketing_temperature,
                icp_fit=verdict.icp_fit,
                pickup_hours=verdict.pickup_hours,
                deadline=_deadline(moment, verdict.pickup_hours, rules.calendar),
                version=rules.version,
                checks=verdict.checks,
                unversioned=unversioned,
            )
    if verdict is None or rules is None:
        return Outcome(unversioned=unversioned)
    return Outcome(
        mql_at,
        mql_icp_fit,
        icp_fit=verdict.icp_fit,
        version=rules.version,
        checks=verdict.checks,
        unversioned=unversioned,
    )


def _deadline(start: datetime, hours: float | None, calendar: BusinessCalendar) -> datetime | None:
    if not hours:
        return None
    try:
        return add_business_hours(start, hours, calendar)
    except CalendarError:
        return None


@dataclass(frozen=True)
class Recorded:
    """What the pipeline did: the lead's first MQL moment and first handoff."""

    mql_at: datetime | None
    mql_icp_fit: bool | None = None
    handoff_at: datetime | None = None
    temperature: str | None = None
    icp_fit: bool | None = None
    version: int | None = None


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
    """Those leads a chunk at a time (four queries each, bounded memory), with what was recorded of them."""
    leads = (
        _leads(agreement_id, start, end)
        .order_by("pk")
        .values_list("pk", "external_id", "created_at", "mql_at", *SNAPSHOT_FIELDS)
    )
    after = 0
    while True:
        rows = list(leads.filter(pk__gt=after)[:chunk])
        if not rows:
            return
        after = rows[-1][0]
        yield from _chunk(rows, end)


def _chunk(rows: list[tuple], end: datetime) -> Iterator[tuple[Timeline, Recorded]]:
    ids = [row[0] for row in rows]
    lines: dict[int, Timeline] = {}
    for pk, external_id, created_at, _, *fields in rows:
        values = dict(zip(SNAPSHOT_FIELDS, fields, strict=True))
        snapshot = LeadSnapshot(
            **{name: (value or "") if name in _TEXT else value for name, value in values.items()}
        )
        lines[pk] = Timeline(pk, external_id, snapshot, created_at)
    activities = (
        Activity.objects.filter(lead_id__in=ids, created_at__lt=end)
        .order_by("lead_id", "created_at", "occurred_at", "pk")
        .values_list("lead_id", "created_at", "type", "occurred_at")
    )
    for lead_id, stored, kind, occurred in activities:
        lines[lead_id].arrivals.append((stored, kind, occurred))
    events = (
        LeadEvent.objects.filter(lead_id__in=ids, kind__in=(Kind.UPDATED, Kind.EVALUATED, Kind.HANDED_OFF))
        .filter(at__lt=end)
        .order_by("lead_id", "at", "pk")
        .values_list("lead_id", "kind", "at", "details", "sla_version__number")
    )
    mql_at = {row[0]: row[3] for row in rows}
    handoffs: dict[int, tuple[datetime, str | None, int | None]] = {}
    icp: dict[int, bool | None] = {}  # as the latest evaluation before the handoff found it
    mql_icp: dict[int, bool | None] = {}  # as the evaluation that made the lead an MQL found it
    for lead_id, kind, at, details, number in events:
        if kind == Kind.UPDATED:
            lines[lead_id].updates.append(at)
        elif kind == Kind.EVALUATED and lead_id not in handoffs:
            icp[lead_id] = details.get("icp_fit")
            if at == mql_at[lead_id]:
                mql_icp[lead_id] = details.get("icp_fit")
        elif kind == Kind.HANDED_OFF and lead_id not in handoffs:
            handoffs[lead_id] = (at, details.get("temperature"), number)
    for pk in ids:
        handoff = handoffs.get(pk) or (None, None, None)
        recorded = Recorded(
            mql_at[pk],
            mql_icp.get(pk),
            handoff[0],
            handoff[1],
            icp.get(pk) if handoff[0] else None,
            handoff[2],
        )
        yield lines[pk], recorded


_TEXT = {"company_industry", "company_country", "job_title"}


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
        if simulated.deadline != replayed.deadline:
            if simulated.deadline and replayed.deadline:
                later = simulated.deadline > replayed.deadline
                out.append(f"has {'a later' if later else 'an earlier'} pickup deadline")
            else:
                out.append("has a pickup deadline" if simulated.deadline else "has no pickup deadline")
    return out


@dataclass
class Results:
    months: list[str]
    recorded: dict[str, Counter[str]]
    simulated: dict[str, Counter[str]]
    replayed: int = 0  # leads the period's replay looked at
    matched: int = 0  # of those, how many the versions in force reproduce
    mismatches: Counter[str] = field(default_factory=Counter)
    changed: list[dict[str, Any]] = field(default_factory=list)
    changed_count: int = 0

    @property
    def fidelity(self) -> float | None:
        return self.matched / self.replayed if self.replayed else None


def month_labels(start: datetime, end: datetime, tz: str) -> list[str]:
    zone = ZoneInfo(tz)
    labels: list[str] = []
    at = start.astimezone(zone)
    while at < end:
        labels.append(at.strftime("%Y-%m"))
        year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
        at = datetime(year, month, 1, tzinfo=zone)
    return labels


def _count(
    figures: dict[str, Counter[str]], tz: ZoneInfo, start: datetime, end: datetime, **steps: Any
) -> None:
    mql_at, mql_icp, handoff_at, temperature = (
        steps["mql_at"],
        steps["mql_icp_fit"],
        steps["handoff_at"],
        steps["temperature"],
    )
    if mql_at is not None and start <= mql_at < end:
        month = figures[mql_at.astimezone(tz).strftime("%Y-%m")]
        month["mqls"] += 1
        month["mqls_icp"] += int(bool(mql_icp))
    if handoff_at is not None and start <= handoff_at < end:
        month = figures[handoff_at.astimezone(tz).strftime("%Y-%m")]
        month["handoffs"] += 1
        month[f"handoffs_{temperature}"] += 1


def simulate(
    *,
    agreement_id: int,
    rules_at: RulesAt,
    start: datetime,
    end: datetime,
    tz: str,
    keep_changed: int = 200,
    every: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> Results:
    """The period's leads replayed under `rules_at`, month by month beside the record, with the fidelity
    of the versions that were in force and the leads whose path the simulated clauses change."""
    months = month_labels(start, end, tz)
    zone = ZoneInfo(tz)
    results = Results(months, {m: Counter() for m in months}, {m: Counter() for m in months})
    versions = in_force(agreement_id)
    for n, (timeline, recorded) in enumerate(timelines(agreement_id, start, end), start=1):
        replayed = replay(timeline, versions, end)
        simulated = replay(timeline, rules_at, end)
        _count(results.recorded, zone, start, end, **vars(recorded))
        _count(results.simulated, zone, start, end, **vars(simulated))
        in_period = [
            t for t in (recorded.mql_at, recorded.handoff_at, replayed.mql_at, replayed.handoff_at) if t
        ]
        if any(start <= t < end for t in in_period):
            results.replayed += 1
            why = mismatch(timeline, recorded, replayed)
            if why is None:
                results.matched += 1
            else:
                results.mismatches[why] += 1
        said = changes(simulated, replayed)
        if said:
            results.changed_count += 1
            if len(results.changed) < keep_changed:
                results.changed.append(_changed(timeline, said, simulated, replayed))
        if progress is not None and n % every == 0:
            progress(n)
    return results


def _changed(timeline: Timeline, said: list[str], simulated: Outcome, replayed: Outcome) -> dict[str, Any]:
    def side(outcome: Outcome) -> dict[str, Any]:
        return {
            "mql_at": outcome.mql_at,
            "handoff_at": outcome.handoff_at,
            "temperature": outcome.temperature,
            "deadline": outcome.deadline,
            "checks": [check.as_dict() for check in outcome.checks],
        }

    return {
        "lead_id": timeline.lead_id,
        "external_id": timeline.external_id,
        "changes": said,
        "recorded": side(replayed),
        "simulated": side(simulated),
    }
