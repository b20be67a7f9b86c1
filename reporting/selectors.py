"""The figures of the seed article's report, for a period, computed by the database.

Counts come from the append-only LeadEvent log (a transfer is a `handed_off` event, so a reassignment is
not a new transfer), MQLs from Lead.mql_at, status at the end of a past period from each lead's last event
before it. Nothing here loops over leads in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, RowNumber, TruncMonth
from django.utils import timezone

from agreements.models import Agreement, AgreementVersion, VersionEvent
from leads.models import Activity, Lead, LeadEvent
from reporting.periods import Period, period_containing
from slaportal.formats import utc_iso

Kind = LeadEvent.Kind
PICKUP_KINDS = (Kind.ACCEPTED, Kind.REJECTED)
# The plain counts of a report, in the order reports and the CSV list them.
COUNT_FIGURES = (
    "mqls",
    "mqls_icp_match",
    "handed_off",
    "hot",
    "accepted",
    "rejected",
    "nurturing",
    "in_progress",
    "qualified",
    "qualified_hot",
    "won",
    "lost",
    "breaches",
)
IN_PROGRESS = (Lead.Status.ACCEPTED, Lead.Status.QUALIFIED)


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any):
        super().__init__(expression, fraction=float(fraction), **extra)


def _minutes() -> Cast:
    return Cast(KeyTextTransform("business_minutes", "details"), IntegerField())


def _percentiles(pickups: QuerySet[LeadEvent], fractions: Iterable[float]) -> list[float | None]:
    fractions = list(fractions)
    rows = pickups.annotate(minutes=_minutes()).filter(minutes__isnull=False)
    if connection.vendor == "postgresql":
        result = rows.aggregate(**{f"p{i}": PercentileCont("minutes", f) for i, f in enumerate(fractions)})
        return [result[f"p{i}"] for i in range(len(fractions))]
    # SQLite has no percentile function: read the period's pickup minutes (numbers only) and interpolate
    # exactly as percentile_cont does.
    values = sorted(rows.values_list("minutes", flat=True))
    return [_interpolate(values, f) for f in fractions]


def _interpolate(values: list[int], fraction: float) -> float | None:
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(100.0 * part / whole, 1) if part is not None and whole else None


def version_in_force(agreement: Agreement, at: datetime) -> AgreementVersion | None:
    return (
        AgreementVersion.objects.filter(agreement=agreement, effective_from__lte=at)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=at))
        .prefetch_related("sections")
        .first()
    )


def _events_of(agreement_ids: list[int]) -> QuerySet[LeadEvent]:
    """The events of these agreements' leads. Every event the figures count is a state-machine step,
    which names the SLA version it applied; going through the (small) versions table rather than the
    leads table spares a join with every lead."""
    return LeadEvent.objects.filter(sla_version__agreement_id__in=agreement_ids)


def report_figures(
    *, agreements: list[Agreement], period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """Every figure of the report for `period` (up to `now` for the current one)."""
    now = now or timezone.now()
    start, end = period.start, min(period.end, now)
    ids = [a.pk for a in agreements]
    events = _events_of(ids).filter(at__gte=start, at__lt=end)
    counts = events.aggregate(
        handed_off=Count("pk", filter=Q(kind=Kind.HANDED_OFF)),
        hot=Count("pk", filter=Q(kind=Kind.HANDED_OFF, details__temperature="hot")),
        accepted=Count("pk", filter=Q(kind=Kind.ACCEPTED)),
        rejected=Count("pk", filter=Q(kind=Kind.REJECTED)),
        qualified=Count("lead", filter=Q(kind=Kind.QUALIFIED), distinct=True),
        qualified_hot=Count(
            "lead", filter=Q(kind=Kind.QUALIFIED, details__sales_temperature="hot"), distinct=True
        ),
        won=Count("pk", filter=Q(kind=Kind.WON)),
        lost=Count("pk", filter=Q(kind=Kind.LOST)),
        breaches=Count("pk", filter=Q(kind=Kind.BREACHED)),
        pickups=Count("pk", filter=Q(kind__in=PICKUP_KINDS)),
        pickups_within=Count("pk", filter=Q(kind__in=PICKUP_KINDS, details__within_deadline=True)),
    )
    leads = Lead.objects.filter(agreement_id__in=ids)
    counts |= leads.filter(mql_at__gte=start, mql_at__lt=end).aggregate(
        mqls=Count("pk"), mqls_icp_match=Count("pk", filter=Q(icp_fit=True))
    )
    counts |= _status_at(leads, end, now)
    pickups = events.filter(kind__in=PICKUP_KINDS)
    median, p90 = _percentiles(pickups, (0.5, 0.9))
    rejected_by_reason = dict(
        events.filter(kind=Kind.REJECTED)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )
    touches = Activity.objects.filter(
        lead__agreement_id__in=ids, occurred_at__gte=start, occurred_at__lt=end
    ).aggregate(n=Count("pk"), accounts=Count("lead__company_name", distinct=True))
    figures: dict[str, Any] = {
        "period": period.label,
        "period_start": utc_iso(start),
        "period_end": utc_iso(period.end),
        "complete": period.end <= now,
        **{name: counts[name] for name in COUNT_FIGURES},
        "rejected_by_reason": rejected_by_reason,
        "top_rejection_reasons": list(rejected_by_reason.items())[:5],
        "pickup_within_sla_pct": _ratio(counts["pickups_within"], counts["pickups"]),
        "median_pickup_business_minutes": median,
        "p90_pickup_business_minutes": p90,
        "conversion": {
            "mql_to_accepted_pct": _ratio(counts["accepted"], counts["mqls"]),
            "accepted_to_qualified_pct": _ratio(counts["qualified"], counts["accepted"]),
            "qualified_to_won_pct": _ratio(counts["won"], counts["qualified"]),
        },
        "acceptance_rate_pct": _ratio(counts["accepted"], counts["accepted"] + counts["rejected"]),
        "touches_per_account_per_month": round(touches["n"] / touches["accounts"] / period.months, 2)
        if touches["accounts"]
        else None,
        "per_rep": _per_rep(events),
        "temperature_matrix": _matrix(leads, start, end),
    }
    figures["goals"] = _goals(agreements, figures, period, end) if len(agreements) == 1 else []
    return figures


def _status_at(leads: QuerySet[Lead], end: datetime, now: datetime) -> dict[str, int]:
    in_status = {"nurturing": Q(s=Lead.Status.NURTURING), "in_progress": Q(s__in=IN_PROGRESS)}
    if end >= now - timedelta(seconds=1):
        return leads.annotate(s=F("status")).aggregate(
            **{k: Count("pk", filter=q) for k, q in in_status.items()}
        )
    # A past moment: every lead created by then counts with its status now, unless it has moved since; each
    # event records the status it left, so a lead that moved was in the status its first later event left.
    # Only the leads that moved (a few weeks' worth) are looked at one by one, not every lead.
    existing = leads.filter(created_at__lt=end)
    counts = existing.annotate(s=F("status")).aggregate(
        **{k: Count("pk", filter=q) for k, q in in_status.items()}
    )
    first_later = (
        LeadEvent.objects.filter(at__gte=end, lead__in=existing)
        .annotate(n=Window(RowNumber(), partition_by=F("lead_id"), order_by=[F("at").asc(), F("pk").asc()]))
        .filter(n=1)
        .annotate(s=F("lead__status"), then=F("from_status"))
    )
    moved = first_later.aggregate(
        **{f"{k}_now": Count("pk", filter=q) for k, q in in_status.items()},
        nurturing_then=Count("pk", filter=Q(then=Lead.Status.NURTURING)),
        in_progress_then=Count("pk", filter=Q(then__in=IN_PROGRESS)),
    )
    return {k: counts[k] - moved[f"{k}_now"] + moved[f"{k}_then"] for k in in_status}


def _per_rep(events: QuerySet[LeadEvent]) -> list[dict[str, Any]]:
    pickups = (
        events.filter(kind__in=PICKUP_KINDS, actor__isnull=False)
        .values("actor__username")
        .annotate(
            pickups=Count("pk"),
            accepted=Count("pk", filter=Q(kind=Kind.ACCEPTED)),
            rejected=Count("pk", filter=Q(kind=Kind.REJECTED)),
            within=Count("pk", filter=Q(details__within_deadline=True)),
            avg_minutes=Avg(_minutes()),
        )
    )
    breaches = dict(
        events.filter(kind=Kind.BREACHED)
        .annotate(rep=KeyTextTransform("missed_by", "details"))
        .exclude(rep__isnull=True)
        .values_list("rep")
        .annotate(n=Count("pk"))
    )
    reps: dict[str, dict[str, Any]] = {}
    for row in pickups:
        reps[row["actor__username"]] = {
            "rep": row["actor__username"],
            "pickups": row["pickups"],
            "accepted": row["accepted"],
            "rejected": row["rejected"],
            "within_sla_pct": _ratio(row["within"], row["pickups"]),
            "avg_pickup_business_minutes": round(row["avg_minutes"], 1)
            if row["avg_minutes"] is not None
            else None,
            "breaches": 0,
        }
    for rep, n in breaches.items():
        reps.setdefault(
            rep,
            {
                "rep": rep,
                "pickups": 0,
                "accepted": 0,
                "rejected": 0,
                "within_sla_pct": None,
                "avg_pickup_business_minutes": None,
                "breaches": 0,
            },
        )["breaches"] = n
    return sorted(reps.values(), key=lambda r: r["rep"])


def _matrix(leads: QuerySet[Lead], start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Marketing temperature at handoff x sales temperature, for leads qualified in the period."""
    rows = (
        leads.filter(qualified_at__gte=start, qualified_at__lt=end, handoff_temperature__isnull=False)
        .values_list("handoff_temperature", "sales_temperature")
        .annotate(n=Count("pk"))
    )
    matrix = {m: {s: 0 for s in ("cold", "warm", "hot")} for m in ("cold", "warm", "hot")}
    for marketing, sales, n in rows:
        if marketing in matrix and sales in matrix[marketing]:
            matrix[marketing][sales] = n
    return matrix


def _goals(
    agreements: list[Agreement], figures: dict[str, Any], period: Period, end: datetime
) -> list[dict[str, Any]]:
    version = version_in_force(agreements[0], end - timedelta(microseconds=1))
    if version is None:
        return []
    goals = version.clauses.goals
    months = period.months
    rows = [
        (
            "marketing",
            "ICP-fit MQLs",
            "goals.marketing.mqls",
            goals.mqls_icp_per_month * months,
            figures["mqls_icp_match"],
            True,
        ),
        (
            "marketing",
            "Touches per account per month",
            "goals.marketing.touches",
            goals.touches_per_account_per_month,
            figures["touches_per_account_per_month"],
            True,
        ),
        (
            "sales",
            "% picked up within the deadline",
            "goals.sales.pickup",
            goals.pickup_within_sla_pct,
            figures["pickup_within_sla_pct"],
            True,
        ),
        (
            "sales",
            "% of handed-off leads accepted",
            "goals.sales.acceptance",
            goals.acceptance_rate_pct,
            figures["acceptance_rate_pct"],
            True,
        ),
        ("sales", "Deals won", "goals.sales.won", goals.deals_won_per_month * months, figures["won"], True),
    ]
    return [
        {
            "department": department,
            "goal": name,
            "clause": f"v{version.number} §{clause}",
            "target": target,
            "actual": actual,
            "met": None if actual is None else (actual >= target if higher_is_better else actual <= target),
        }
        for department, name, clause, target, actual, higher_is_better in rows
    ]


# Events and MQL times are written as they happen, so the figures of a month that has ended stay as they
# are; the dashboard keeps them this long (per process, or shared with CACHE_URL) and counts only the
# current month on every view. The expiry bounds what a back-dated import (the demo seed) leaves stale.
ENDED_MONTHS_CACHE_SECONDS = 3600


def _trend_counts(ids: list[int], start: datetime, end: datetime, zone: ZoneInfo) -> dict[str, dict]:
    """Per month label: the event counts and the MQLs between `start` and `end` (two queries)."""
    events = {
        row.pop("month").astimezone(zone).strftime("%Y-%m"): row
        for row in _events_of(ids)
        .filter(at__gte=start, at__lt=end)
        .annotate(month=TruncMonth("at", tzinfo=zone))
        .values("month")
        .annotate(
            handed_off=Count("pk", filter=Q(kind=Kind.HANDED_OFF)),
            accepted=Count("pk", filter=Q(kind=Kind.ACCEPTED)),
            won=Count("pk", filter=Q(kind=Kind.WON)),
            breaches=Count("pk", filter=Q(kind=Kind.BREACHED)),
            pickups=Count("pk", filter=Q(kind__in=PICKUP_KINDS)),
            within=Count("pk", filter=Q(kind__in=PICKUP_KINDS, details__within_deadline=True)),
        )
    }
    mqls = {
        month.astimezone(zone).strftime("%Y-%m"): n
        for month, n in Lead.objects.filter(agreement_id__in=ids, mql_at__gte=start, mql_at__lt=end)
        .annotate(month=TruncMonth("mql_at", tzinfo=zone))
        .values_list("month")
        .annotate(n=Count("pk"))
    }
    return {"events": events, "mqls": mqls}


def monthly_trends(
    *, agreements: list[Agreement], months: int = 12, now: datetime | None = None, tz: str = "UTC"
) -> list[dict[str, Any]]:
    """The last `months` months, month by month: the ended ones from the cache when it has them, the
    current one counted now (two queries each)."""
    now = now or timezone.now()
    current = period_containing(now, "month", tz)
    first = current
    for _ in range(months - 1):
        first = first.previous()
    ids = sorted(a.pk for a in agreements)
    zone = ZoneInfo(tz)
    key = f"reporting:trends:{tz}:{first.label}:{current.label}:{'-'.join(map(str, ids))}"
    ended = cache.get(key)
    if ended is None:
        ended = _trend_counts(ids, first.start, current.start, zone)
        cache.set(key, ended, ENDED_MONTHS_CACHE_SECONDS)
    live = _trend_counts(ids, current.start, now, zone)
    per_month = {**ended["events"], **live["events"]}
    mqls = {**ended["mqls"], **live["mqls"]}
    series = []
    period = first
    for _ in range(months):
        row = per_month.get(period.label, {})
        series.append(
            {
                "month": period.label,
                "mqls": mqls.get(period.label, 0),
                "handed_off": row.get("handed_off", 0),
                "accepted": row.get("accepted", 0),
                "won": row.get("won", 0),
                "breaches": row.get("breaches", 0),
                "pickup_within_sla_pct": _ratio(row.get("within", 0), row.get("pickups", 0)),
            }
        )
        period = period.next()
    return series


# How long the dashboard may show figures while nothing has changed (see dashboard_figures).
DASHBOARD_CACHE_SECONDS = 300


def data_stamp() -> tuple[int, int, int]:
    """Changes whenever a figure can: every change to a lead writes a LeadEvent, engagement is an Activity,
    and a new version of an SLA (its goals) a VersionEvent. Three reads of a primary key's end."""
    return (
        LeadEvent.objects.aggregate(m=Max("pk"))["m"] or 0,
        Activity.objects.aggregate(m=Max("pk"))["m"] or 0,
        VersionEvent.objects.aggregate(m=Max("pk"))["m"] or 0,
    )


def dashboard_figures(
    *, agreements: list[Agreement], period: Period, now: datetime, tz: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The period's figures and the 12-month trends, computed again only when the data has changed.

    Managers reload and filter the dashboard far more often than a month's figures move, and at a
    million leads computing them takes a second or more; a view after any change computes them afresh.
    """
    ids = "-".join(str(a.pk) for a in sorted(agreements, key=lambda a: a.pk))
    complete = period.end <= now
    stamp = "-".join(map(str, data_stamp()))
    key = f"reporting:dashboard:{tz}:{period.label}:{complete}:{ids}:{stamp}"
    cached = cache.get(key)
    if cached is None:
        cached = (
            report_figures(agreements=agreements, period=period, now=now),
            monthly_trends(agreements=agreements, now=now, tz=tz),
        )
        cache.set(key, cached, DASHBOARD_CACHE_SECONDS)
    return cached


def current_breaches(
    *, agreements: list[Agreement], now: datetime | None = None, limit: int = 20
) -> list[Lead]:
    """Leads awaiting pickup past their deadline right now, most overdue first."""
    now = now or timezone.now()
    return list(
        Lead.objects.filter(agreement__in=agreements, status=Lead.Status.HANDED_OFF, pickup_deadline__lt=now)
        .select_related("owner")
        .order_by("pickup_deadline")[:limit]
    )
