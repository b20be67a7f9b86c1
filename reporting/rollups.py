"""The report's figures read from the tallies (leads.models.Tally) instead of the events they count.

A period's whole hours come from the tallies, a few thousand rows a month whatever the number of leads;
the minutes before its first whole hour and after its last (the current hour, up to now) are counted from
the stored events by the same rules (leads.services.tallies.deltas_between). The figures are the ones
reporting.selectors computes from the events, equal to them (tests/reporting/test_rollups.py compares the
two on random histories, `manage.py tallies --verify` the tallies of a live database).

A sales team's figures are its members' share of the leads, which a later step of a member can change;
they are counted from the events (reporting.selectors), not from the tallies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from leads.models import AccountMonth, Activity, Tally
from leads.services.recount import deltas_between
from leads.services.tallies import HOUR, Cell, hour_of
from leads.services.touches import month_of, next_month

# The trend chart's figures, as monthly_trends names them.
TREND_FIGURES = ("mqls", "handed_off", "accepted", "won", "pickups", "within")


_recounts: ContextVar[dict[tuple, Counter[Cell]] | None] = ContextVar("rollups_recounts", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Within it, a stretch of stored rows is recounted once however many figures read it: a dashboard
    reads the current hour for its counts, its statuses and its trend chart."""
    if _recounts.get() is not None:
        yield
        return
    token = _recounts.set({})
    try:
        yield
    finally:
        _recounts.reset(token)


def _recount(agreement_ids: tuple[int, ...], start: datetime, end: datetime) -> Counter[Cell]:
    memo = _recounts.get()
    if memo is None:
        return deltas_between(agreement_ids, start, end)
    key = (tuple(agreement_ids), start, end)
    if key not in memo:
        memo[key] = deltas_between(agreement_ids, start, end)
    return memo[key]


def _ceil_hour(at: datetime) -> datetime:
    floor = hour_of(at)
    return floor if floor == at else floor + HOUR


def tallied(agreement_ids: tuple[int, ...], start: datetime, end: datetime) -> Counter[tuple[str, str]]:
    """Each (figure, key)'s sum over [start, end): one query for the whole hours, the stored events of
    the edges (at most an hour each) for the rest."""
    out: Counter[tuple[str, str]] = Counter()
    first, last = _ceil_hour(start), hour_of(end)
    edges = [(start, end)]
    if first < last:
        rows = (
            Tally.objects.filter(agreement_id__in=agreement_ids, hour__gte=first, hour__lt=last)
            .values_list("figure", "key")
            .annotate(total=Sum("n"))
            .order_by()
        )
        out.update({(figure, key): total for figure, key, total in rows})
        edges = [(start, first), (last, end)]
    for a, b in edges:
        if a < b:
            for (_, _, figure, key), n in _recount(agreement_ids, a, b).items():
                out[(figure, key)] += n
    return out


@dataclass
class Counted:
    """What the report counts from the events, whichever way it was read."""

    counts: dict[str, int]
    rejected_by_reason: dict[str, int]
    minutes: list[tuple[int, int]]  # pickup business minutes and how many pickups took them, ascending
    reps: dict[str, dict[str, Any]]
    # Missed deadlines per rep that events record (reporting.breaches, cases 1 and 3).
    recorded_breaches: Counter[str | None] = field(default_factory=Counter)
    # Qualifications by the temperature marketing handed the lead off with, then the one sales gave it.
    matrix: dict[str, dict[str, int]] = field(default_factory=lambda: matrix_of({}))
    # The conversion cohorts (reporting.conversion), when the tallies were read: None from the events.
    cohorts: dict[str, dict[str, int]] | None = None


TEMPERATURES = ("cold", "warm", "hot")


def matrix_of(cells: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """The temperature matrix, every cell present: cells (handoff temperature, sales temperature): n."""
    return {m: {s: cells.get((m, s), 0) for s in TEMPERATURES} for m in TEMPERATURES}


def counted(agreement_ids: tuple[int, ...], start: datetime, end: datetime) -> Counted:
    t = tallied(agreement_ids, start, end)

    def keyed(figure: str) -> dict[str, int]:
        return {key: n for (f, key), n in t.items() if f == figure and n}

    names = ("handed_off", "hot", "accepted", "rejected", "qualified", "qualified_hot", "won", "lost")
    counts = {name: t[(name, "")] for name in names}
    counts |= {
        "pickups": t[("pickups", "")],
        "pickups_within": t[("within", "")],
        "mqls": t[("mqls", "")],
        "mqls_icp_match": t[("mqls_icp", "")],
        "touches": t[("touches", "")],
    }
    reasons = sorted(keyed("rejected_reason").items(), key=lambda item: (-item[1], item[0]))
    minutes = sorted((int(key), n) for key, n in keyed("pickup_minutes").items())
    reps: dict[str, dict[str, Any]] = {}
    for rep, n in keyed("rep_pickups").items():
        timed = t[("rep_timed", rep)]
        reps[rep] = {
            "pickups": n,
            "accepted": t[("rep_accepted", rep)],
            "rejected": t[("rep_rejected", rep)],
            "within": t[("rep_within", rep)],
            "avg_minutes": t[("rep_minutes", rep)] / timed if timed else None,
        }
    # The deadlines the events tell were missed: the sweep's breaches, and pickups late before any sweep.
    recorded = Counter({key or None: n for key, n in keyed("breaches").items()})
    recorded.update({key or None: n for key, n in keyed("late_pickups").items()})
    cells = {tuple(key.split(":", 1)): n for key, n in keyed("matrix").items()}
    cohorts = {
        name: {"cohort": t[(cohort, "")], "converted": t[(converted, "")]}
        for name, cohort, converted in (
            ("mql_to_accepted", "mqls", "converted_mql"),
            ("accepted_to_qualified", "accepted", "converted_accepted"),
            ("qualified_to_won", "qualified", "converted_qualified"),
        )
    }
    return Counted(counts, dict(reasons), minutes, reps, recorded, matrix_of(cells), cohorts)


def in_status(agreement_ids: tuple[int, ...], at: datetime) -> Counter[str]:
    """How many leads were in each status at `at`: the sum of every status move's tally before it (one
    query over the `in_status` rows, tally_figure_idx), and the stored moves of its last part hour."""
    last = hour_of(at)
    rows = (
        Tally.objects.filter(agreement_id__in=agreement_ids, figure="in_status", hour__lt=last)
        .values_list("key")
        .annotate(total=Sum("n"))
        .order_by()
    )
    out: Counter[str] = Counter(dict(rows))
    if last < at:
        for (_, _, figure, key), n in _recount(agreement_ids, last, at).items():
            if figure == "in_status":
                out[key] += n
    return out


def accounts_touched(agreement_ids: tuple[int, ...], start: datetime, end: datetime) -> int:
    """How many accounts the activities of [start, end) touched, from one row per account and UTC month
    (leads.models.AccountMonth). A month inside the window counts every account it holds; the month
    the window begins in, those touched last at or after `start`; the one it ends in, those touched
    first before `end`. Only a window cut from inside one month leaves some accounts in doubt, those
    touched both before and after it: their activities in the window say."""
    months = AccountMonth.objects.filter(
        agreement_id__in=agreement_ids, month__gte=month_of(start), month__lt=end
    )
    touched = Q(first_at__gte=start, first_at__lt=end) | Q(last_at__gte=start, last_at__lt=end)
    if month_of(start) < start and end < next_month(month_of(start)):
        around = Q(first_at__lt=start, last_at__gte=end)
        doubtful = set(months.filter(around).values_list("account", flat=True))
        if doubtful:  # two more queries, only for accounts touched around the window
            within = Activity.objects.filter(
                lead__agreement_id__in=agreement_ids,
                lead__company_name__in=doubtful,
                occurred_at__gte=start,
                occurred_at__lt=end,
            )
            confirmed = set(within.values_list("lead__company_name", flat=True).order_by().distinct())
            touched |= around & Q(account__in=confirmed)
    return months.filter(touched).values("account").distinct().count()


def percentile(minutes: list[tuple[int, int]], fraction: float) -> float | None:
    """percentile_cont over the values `minutes` holds with their counts, as PostgreSQL computes it."""
    total = sum(n for _, n in minutes)
    if not total:
        return None
    position = fraction * (total - 1)
    low, high = int(position), min(int(position) + 1, total - 1)

    def value_at(index: int) -> int:
        seen = 0
        for value, n in minutes:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    below, above = value_at(low), value_at(high)
    return below + (above - below) * (position - low)


def _month_starts(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The starts of the months (in `zone`) strictly between `start` and `end`."""
    local = start.astimezone(zone)
    year, month = local.year, local.month
    starts = []
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        at = datetime(year, month, 1, tzinfo=zone)
        if at >= end:
            return starts
        starts.append(at)


def trend_counts(agreement_ids: tuple[int, ...], start: datetime, end: datetime, zone: ZoneInfo) -> dict:
    """Per month label: the trend chart's figures between `start` and `end`, from the tallies in one
    query. Whatever is not a whole hour of one month (the edges, and in a zone with a half-hour offset
    the hour around each midnight between two months) is counted from the events, each part in its month."""
    events: dict[str, dict[str, int]] = {}
    first, last = _ceil_hour(start), hour_of(end)
    parts = [(start, first), (max(first, last), end)] if first < last else [(start, end)]
    split = []  # hours two months share
    for boundary in _month_starts(start, end, zone):
        hour = hour_of(boundary)
        if hour != boundary and first <= hour < last:
            split.append(hour)
            parts += [(hour, boundary), (boundary, hour + HOUR)]
    rows = (
        Tally.objects.filter(
            agreement_id__in=agreement_ids,
            hour__gte=first,
            hour__lt=max(first, last),
            figure__in=TREND_FIGURES,
        )
        .exclude(hour__in=split)
        .annotate(month=TruncMonth("hour", tzinfo=zone))
        .values_list("month", "figure")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for month, figure, total in rows:
        events.setdefault(month.astimezone(zone).strftime("%Y-%m"), Counter())[figure] += total
    for a, b in parts:
        if a >= b:
            continue
        label = a.astimezone(zone).strftime("%Y-%m")
        for (_, _, figure, _), n in _recount(agreement_ids, a, b).items():
            if figure in TREND_FIGURES:
                events.setdefault(label, Counter())[figure] += n
    return {
        "events": {label: {**row, "within": row.get("within", 0)} for label, row in events.items()},
        "mqls": {label: row.get("mqls", 0) for label, row in events.items()},
    }
