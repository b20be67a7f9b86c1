"""What-if figures: a period's leads replayed (reporting.replay) under other clauses, month by month beside
the record: MQLs, handoffs by temperature, the load those handoffs put on sales, and how many of the real
pickups the simulated deadlines would have counted late. Nothing here writes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from agreements.business_hours import MAX_DAYS, BusinessCalendar
from agreements.models import Agreement
from leads.selectors import available_reps
from reporting import replay_sql
from reporting.replay import (
    InForce,
    Outcome,
    Recorded,
    Rules,
    RulesAt,
    Timeline,
    changes,
    explain,
    in_force,
    mismatch,
    of_leads,
    pickup_deadline,
    timelines,
)
from reporting.replay import replay as replay_lead

# A month's counts, each side; then the figures derived from them (see `month_figures`).
COUNTS = (
    "mqls",
    "mqls_icp",
    "handoffs",
    "handoffs_cold",
    "handoffs_warm",
    "handoffs_hot",
    "pickups",
    "pickups_late",
    "reps",
    "business_days",
    "load_handoffs",
)


def month_figures(counts: Counter[str] | dict[str, Any]) -> dict[str, Any]:
    """A month of one side as the results give it: the counts, the share of pickups in time (percent,
    None without pickups) and the load (None when the month had no clauses to count business days by)."""
    figures = {name: counts.get(name, 0) for name in COUNTS}
    pickups = figures["pickups"]
    figures["pickups_in_time"] = (
        round(100 * (pickups - figures["pickups_late"]) / pickups, 1) if pickups else None
    )
    figures["load_mean"] = counts.get("load_mean")
    figures["load_max"] = counts.get("load_max")
    return figures


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


class Months:
    """The period's months, and which one an instant falls in (None: outside the period)."""

    def __init__(self, start: datetime, end: datetime, tz: str) -> None:
        self.zone = ZoneInfo(tz)
        self.labels = month_labels(start, end, tz)
        # Where each month starts within the period (the first one at its start).
        self.firsts = [max(start, datetime(int(m[:4]), int(m[5:]), 1, tzinfo=self.zone)) for m in self.labels]
        self.period = (start, end)
        # As POSIX timestamps: comparing datetimes of two zones asks both for their offsets each time.
        self.bounds = [first.timestamp() for first in self.firsts]
        self.start, self.end = start.timestamp(), end.timestamp()

    def of(self, at: datetime | None) -> str | None:
        if at is None:
            return None
        stamp = at.timestamp()
        if not self.start <= stamp < self.end:
            return None
        return self.labels[bisect_right(self.bounds, stamp) - 1]


@dataclass
class Side:
    """One column of the comparison (recorded or simulated), counted as leads go by."""

    figures: dict[str, Counter[str]]
    days: Counter[date] = field(default_factory=Counter)  # handoffs per business day their clock starts

    def count(self, months: Months, path: Recorded | Outcome) -> None:
        label = months.of(path.mql_at)
        if label is not None:
            month = self.figures[label]
            month["mqls"] += 1
            month["mqls_icp"] += int(bool(path.mql_icp_fit))
        label = months.of(path.handoff_at)
        if label is not None:
            month = self.figures[label]
            month["handoffs"] += 1
            month[f"handoffs_{path.temperature}"] += 1

    def handoff(self, at: datetime, calendar: BusinessCalendar) -> None:
        day = _clock_day(at, calendar)
        if day is not None:
            self.days[day] += 1

    def pickup(
        self, label: str, handed: datetime, picked: datetime, hours: float | None, rules: Rules | None
    ) -> None:
        month = self.figures[label]
        month["pickups"] += 1
        month["pickups_late"] += int(_late(handed, picked, hours, rules))

    def load(
        self,
        reps: dict[str, int],
        calendars: dict[str, BusinessCalendar | None],
        zone: ZoneInfo,
        start: datetime,
        end: datetime,
    ) -> None:
        """Handoffs per rep per business day, as round-robin among the month's reps spreads them: each
        rep gets the day's handoffs divided by the reps, one more for some when they do not divide."""
        by_month: dict[str, list[int]] = {}
        for day, handed in self.days.items():
            by_month.setdefault(day.strftime("%Y-%m"), []).append(handed)
        for label, month in self.figures.items():
            calendar = calendars[label]
            if calendar is None:  # no clauses that month
                continue
            business_days = _business_days(label, calendar, start.astimezone(zone), end.astimezone(zone))
            month["reps"] = reps[label]
            month["business_days"] = business_days
            counts = by_month.get(label, [])
            month["load_handoffs"] = sum(counts)
            if business_days and reps[label]:
                month["load_mean"] = round(sum(counts) / (reps[label] * business_days), 2)
                month["load_max"] = max((math.ceil(n / reps[label]) for n in counts), default=0)


def _clock_day(at: datetime, calendar: BusinessCalendar) -> date | None:
    """The business day a handoff's pickup clock starts (the day itself, or the next working one)."""
    day = at.astimezone(calendar.tz).date()
    window = calendar.window(day)
    if window is not None and at < window[1]:
        return day
    return _next_business_day(day, calendar)


@lru_cache(maxsize=1024)
def _next_business_day(day: date, calendar: BusinessCalendar) -> date | None:
    for offset in range(1, MAX_DAYS):
        later = day + timedelta(days=offset)
        if calendar.window(later) is not None:
            return later
    return None  # no working time for years: no day to count the handoff on, as for a deadline


def _business_days(label: str, calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """The month's working days within [start, end), both given in the agreement's zone (the months'),
    whatever the calendar's."""
    year, month = int(label[:4]), int(label[5:])
    day, days = max(date(year, month, 1), start.date()), 0
    last = min(date(year + month // 12, month % 12 + 1, 1), end.date())
    while day < last:
        days += int(calendar.window(day) is not None)
        day += timedelta(days=1)
    return days


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
    period = Months(start, end, tz)
    months = period.labels
    results = Results(months, {m: Counter() for m in months}, {m: Counter() for m in months})
    recorded_side, simulated_side = Side(results.recorded), Side(results.simulated)
    versions = in_force(agreement_id)
    owners: dict[str, set[str]] = {m: set() for m in months}
    kept: list[tuple[int, list[str], Outcome, Outcome]] = []
    # Closed on the way out, whatever the way: the SQL path's worker connections close with it.
    with closing(_replays(agreement_id, start, end, versions, rules_at)) as lines:
        for n, (timeline, recorded, replayed, simulated) in enumerate(lines, start=1):
            recorded_side.count(period, recorded)
            simulated_side.count(period, simulated)
            _sales(period, versions, recorded, replayed, simulated, recorded_side, simulated_side, owners)
            moments = (recorded.mql_at, recorded.handoff_at, replayed.mql_at, replayed.handoff_at)
            if _in_period(start, end, moments):
                results.replayed += 1
                why = mismatch(timeline, recorded, replayed)
                if why is None:
                    results.matched += 1
                else:
                    results.mismatches[why] += 1
            said = changes(simulated, replayed)
            if said:
                results.changed_count += 1
                if len(kept) < keep_changed:
                    kept.append((timeline.lead_id, said, simulated, replayed))
            if progress is not None and n % every == 0:
                progress(n)
    _load(period, agreement_id, versions, rules_at, owners, recorded_side, simulated_side)
    # The few changed leads shown are explained clause by clause, from their whole timelines.
    whole = of_leads([lead_id for lead_id, *_ in kept], end)
    results.changed = [_changed(whole[lead_id], *rest) for lead_id, *rest in kept]
    return results


def _in_period(start: datetime, end: datetime, moments: tuple[datetime | None, ...]) -> bool:
    return any(moment is not None and start <= moment < end for moment in moments)


def _replays(
    agreement_id: int, start: datetime, end: datetime, versions: InForce, rules_at: RulesAt
) -> Iterator[tuple[Timeline, Recorded, Outcome, Outcome]]:
    """Each lead with its record and its two replays: counted in PostgreSQL when it can
    (reporting.replay_sql), else walked here, moment by moment."""
    if replay_sql.usable(versions, rules_at):
        yield from replay_sql.replays(agreement_id, start, end, versions, rules_at)
        return
    for timeline, recorded in timelines(agreement_id, start, end):
        yield timeline, recorded, replay_lead(timeline, versions, end), replay_lead(timeline, rules_at, end)


def _sales(
    months: Months,
    versions: InForce,
    recorded: Recorded,
    replayed: Outcome,
    simulated: Outcome,
    recorded_side: Side,
    simulated_side: Side,
    owners: dict[str, set[str]],
) -> None:
    """The lead's handoff as sales felt it, both ways: the day it lands, and whether its real pickup
    meets the deadline. A simulated handoff at another moment keeps the rep's recorded delay."""
    label = months.of(recorded.handoff_at)
    if label is not None and recorded.handoff_at is not None:
        if recorded.owner:
            owners[label].add(recorded.owner)
        # The version in force at the recorded handoff: the replay's may be another where it took
        # another path. A handoff no version was in force for has no calendar and no deadline.
        then = versions(recorded.handoff_at)
        if then is not None:
            recorded_side.handoff(recorded.handoff_at, then.calendar)
        if recorded.pickup_at is not None:
            hours = then.clauses.handoff.pickup_hours.get(recorded.temperature or "") if then else None
            recorded_side.pickup(label, recorded.handoff_at, recorded.pickup_at, hours, then)
    label = months.of(simulated.handoff_at)
    if label is not None and simulated.handoff_at is not None and simulated.rules:
        simulated_side.handoff(simulated.handoff_at, simulated.rules.calendar)
        if recorded.pickup_at is not None and recorded.handoff_at is not None:
            picked = simulated.handoff_at + (recorded.pickup_at - recorded.handoff_at)
            simulated_side.pickup(
                label, simulated.handoff_at, picked, simulated.pickup_hours, simulated.rules
            )


def _late(handed: datetime, picked: datetime, hours: float | None, rules: Rules | None) -> bool:
    """Picked up after the deadline `hours` of business time from the handoff gives (none: never late)."""
    if not hours or rules is None:
        return False
    # Business time never runs faster than the clock: picked up within the hours by the clock is in
    # time, with no calendar to consult (most pickups).
    if picked - handed <= timedelta(minutes=round(hours * 60)):
        return False
    due = pickup_deadline(handed, hours, rules.calendar)
    return due is not None and picked > due


def _load(
    period: Months,
    agreement_id: int,
    versions: RulesAt,
    rules_at: RulesAt,
    owners: dict[str, set[str]],
    recorded_side: Side,
    simulated_side: Side,
) -> None:
    # The reps a month's handoffs went to were the ones available then; a month without any falls back
    # on the sales team's reps available now.
    now_reps = available_reps(Agreement.objects.get(pk=agreement_id)).count()
    reps = {m: len(names) or now_reps for m, names in owners.items()}
    start, end = period.period
    for side, rules_of in ((recorded_side, versions), (simulated_side, rules_at)):
        calendars = {}
        for label, first in zip(period.labels, period.firsts, strict=True):
            rules = rules_of(first) or rules_of(end - timedelta(microseconds=1))
            calendars[label] = rules.calendar if rules else None
        side.load(reps, calendars, period.zone, start, end)


def _changed(timeline: Timeline, said: list[str], simulated: Outcome, replayed: Outcome) -> dict[str, Any]:
    def side(outcome: Outcome) -> dict[str, Any]:
        return {
            "mql_at": outcome.mql_at,
            "handoff_at": outcome.handoff_at,
            "temperature": outcome.temperature,
            "deadline": outcome.deadline,
            "checks": [check.as_dict() for check in explain(timeline, outcome)],
        }

    return {
        "lead_id": timeline.lead_id,
        "external_id": timeline.external_id,
        "changes": said,
        "recorded": side(replayed),
        "simulated": side(simulated),
    }
