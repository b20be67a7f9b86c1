"""The figures of the seed article's report, for a period, computed by the database.

Counts come from the append-only LeadEvent log (a transfer is a `handed_off` event, so a reassignment is
not a new transfer), MQLs from Lead.mql_at, status at the end of a past period from each lead's last event
before it. Nothing here loops over leads in Python.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, RowNumber, TruncMonth
from django.utils import timezone

from agreements.models import Agreement, VersionEvent
from leads.models import Activity, Lead, LeadEvent, PickupNotice
from leads.selectors import available_reps, handoff_temperature_before
from reporting import rollups
from reporting.breaches import PICKUP_KINDS, breaches_by_rep
from reporting.conversion import conversion_cohorts, conversion_rates, ratio
from reporting.goals import goal_rows
from reporting.periods import Period, period_containing
from reporting.rollups import Counted
from reporting.scope import Scope
from slaportal.formats import utc_iso

Kind = LeadEvent.Kind
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


def _minutes() -> Cast:
    return Cast(KeyTextTransform("business_minutes", "details"), IntegerField())


def _ratio(part: float | None, whole: float | None) -> float | None:
    return ratio(part, whole)


def _decimal(value: float | None, places: int = 1) -> float | None:
    """Figures are rounded where they are made: a percentile or an average is a float like
    66.00000000000001, which no report should print."""
    return None if value is None else round(float(value), places)


@rollups.one_reading()
def report_figures(
    *,
    agreements: list[Agreement],
    period: Period,
    now: datetime | None = None,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """Every figure of the report for `period` (up to `now` for the current one), of `scope` (one team's
    part of the agreements; all of them by default)."""
    now = now or timezone.now()
    scope = scope or Scope(tuple(sorted(a.pk for a in agreements)))
    start, end = period.start, min(period.end, now)
    # An agreement's figures are added up from its tallies; a sales team's share is counted from events.
    events = scope.events().filter(at__gte=start, at__lt=end)
    leads = scope.leads()
    c = (
        _counted(events, leads, start, end)
        if scope.by_members
        else rollups.counted(scope.agreement_ids, start, end)
    )
    counts = c.counts | (
        _status_at(leads, end, now)
        if scope.by_members
        else _in_status(rollups.in_status(scope.agreement_ids, end))
    )
    # By deadline, recorded by the sweep or not yet (reporting.breaches); a deadline of the current period
    # that is still ahead is no breach, as breaches_by_rep only counts what is known at `now`.
    missed = breaches_by_rep(
        scope=scope,
        start=start,
        end=period.end,
        now=now,
        recorded=None if scope.by_members else c.recorded_breaches,
    )
    counts["breaches"] = sum(missed.values())
    rejected_by_reason = c.rejected_by_reason
    touches = (
        Activity.objects.filter(lead__in=leads, occurred_at__gte=start, occurred_at__lt=end).aggregate(
            n=Count("pk"), accounts=Count("lead__company_name", distinct=True)
        )
        if scope.by_members
        else {
            "n": c.counts["touches"],
            "accounts": rollups.accounts_touched(scope.agreement_ids, start, end),
        }
    )
    # The tallies hold every conversion stored so far: the same as the events' up to `now`, which is the
    # present for every report but one computed for a past moment (tests).
    cohorts = c.cohorts or conversion_cohorts(scope=scope, start=start, end=end, now=now)
    figures: dict[str, Any] = {
        "period": period.label,
        "period_start": utc_iso(start),
        "period_end": utc_iso(period.end),
        "complete": period.end <= now,
        **{name: counts[name] for name in COUNT_FIGURES},
        "rejected_by_reason": rejected_by_reason,
        "top_rejection_reasons": list(rejected_by_reason.items())[:5],
        "pickup_within_sla_pct": _ratio(counts["pickups_within"], counts["pickups"]),
        "median_pickup_business_minutes": _decimal(rollups.percentile(c.minutes, 0.5)),
        "p90_pickup_business_minutes": _decimal(rollups.percentile(c.minutes, 0.9)),
        "conversion": conversion_rates(cohorts),
        "conversion_cohorts": cohorts,
        "acceptance_rate_pct": _ratio(counts["accepted"], counts["accepted"] + counts["rejected"]),
        "touches_per_account_per_month": round(touches["n"] / touches["accounts"] / period.months, 2)
        if touches["accounts"]
        else None,
        "per_rep": _per_rep(c.reps, missed),
        "temperature_matrix": c.matrix,
    }
    # The goals are the agreement's: a sales team's share of its leads is not measured against them.
    whole = len(agreements) == 1 and not scope.by_members
    figures["goals"] = goal_rows(agreements, figures, period, end) if whole else []
    return figures


def _in_status(leads: Counter[str]) -> dict[str, int]:
    return {"nurturing": leads[Lead.Status.NURTURING], "in_progress": sum(leads[s] for s in IN_PROGRESS)}


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


def _counted(events: QuerySet[LeadEvent], leads: QuerySet[Lead], start: datetime, end: datetime) -> Counted:
    """What the report counts, from the events themselves (a sales team's share of them)."""
    not_revised = ~Q(from_status=Lead.Status.QUALIFIED)  # a revised qualification is no new one
    counts = events.aggregate(
        handed_off=Count("pk", filter=Q(kind=Kind.HANDED_OFF)),
        hot=Count("pk", filter=Q(kind=Kind.HANDED_OFF, details__temperature="hot")),
        accepted=Count("pk", filter=Q(kind=Kind.ACCEPTED)),
        rejected=Count("pk", filter=Q(kind=Kind.REJECTED)),
        qualified=Count("pk", filter=Q(kind=Kind.QUALIFIED) & not_revised),
        qualified_hot=Count(
            "pk", filter=Q(kind=Kind.QUALIFIED, details__sales_temperature="hot") & not_revised
        ),
        won=Count("pk", filter=Q(kind=Kind.WON)),
        lost=Count("pk", filter=Q(kind=Kind.LOST)),
        pickups=Count("pk", filter=Q(kind__in=PICKUP_KINDS)),
        pickups_within=Count("pk", filter=Q(kind__in=PICKUP_KINDS, details__within_deadline=True)),
    )
    counts |= leads.filter(mql_at__gte=start, mql_at__lt=end).aggregate(
        mqls=Count("pk"), mqls_icp_match=Count("pk", filter=Q(icp_fit=True))
    )
    rejected_by_reason = dict(
        events.filter(kind=Kind.REJECTED)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )
    pickups = events.filter(kind__in=PICKUP_KINDS)
    minutes = list(
        pickups.annotate(minutes=_minutes())
        .filter(minutes__isnull=False)
        .values_list("minutes")
        .annotate(n=Count("pk"))
        .order_by("minutes")
    )
    rows = (
        pickups.filter(actor__isnull=False)
        .values("actor__username")
        .annotate(
            pickups=Count("pk"),
            accepted=Count("pk", filter=Q(kind=Kind.ACCEPTED)),
            rejected=Count("pk", filter=Q(kind=Kind.REJECTED)),
            within=Count("pk", filter=Q(details__within_deadline=True)),
            avg_minutes=Avg(_minutes()),
        )
    )
    reps = {row.pop("actor__username"): row for row in rows}
    # A qualification names its handoff's temperature; one stored before it did, the latest handoff's.
    handed = Case(
        When(details__has_key="handoff_temperature", then=KeyTextTransform("handoff_temperature", "details")),
        default=handoff_temperature_before(lead=OuterRef("lead"), at=OuterRef("at")),
    )
    cells = (
        events.filter(Q(kind=Kind.QUALIFIED) & not_revised)
        .annotate(m=handed, s=KeyTextTransform("sales_temperature", "details"))
        .values_list("m", "s")
        .annotate(n=Count("pk"))
        .order_by()
    )
    matrix = rollups.matrix_of({(m, s): n for m, s, n in cells})
    return Counted(counts, rejected_by_reason, minutes, reps, matrix=matrix)


def _per_rep(counted_reps: dict[str, dict[str, Any]], missed: Counter[str | None]) -> list[dict[str, Any]]:
    reps: dict[str, dict[str, Any]] = {}
    for rep, row in counted_reps.items():
        reps[rep] = {
            "rep": rep,
            "pickups": row["pickups"],
            "accepted": row["accepted"],
            "rejected": row["rejected"],
            "within_sla_pct": _ratio(row["within"], row["pickups"]),
            "avg_pickup_business_minutes": _decimal(row["avg_minutes"]),
            "breaches": 0,
        }
    for rep, n in missed.items():
        if rep is None:  # a lead no rep had (none was available): counted in the total only
            continue
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


# Events and MQL times are written as they happen, so the figures of a month that has ended stay as they
# are; the dashboard keeps them this long (per process, or shared with CACHE_URL) and counts only the
# current month on every view. The expiry bounds what a back-dated import (the demo seed) leaves stale.
ENDED_MONTHS_CACHE_SECONDS = 3600


def _trend_counts(scope: Scope, start: datetime, end: datetime, zone: ZoneInfo) -> dict[str, dict]:
    """Per month label: the event counts and the MQLs between `start` and `end`: an agreement's from its
    tallies, a sales team's from the events (two queries)."""
    if not scope.by_members:
        return rollups.trend_counts(scope.agreement_ids, start, end, zone)
    return _trend_counts_from_events(scope, start, end, zone)


def _trend_counts_from_events(
    scope: Scope, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, dict]:
    events = {
        row.pop("month").astimezone(zone).strftime("%Y-%m"): row
        for row in scope.events()
        .filter(at__gte=start, at__lt=end)
        .annotate(month=TruncMonth("at", tzinfo=zone))
        .values("month")
        .annotate(
            handed_off=Count("pk", filter=Q(kind=Kind.HANDED_OFF)),
            accepted=Count("pk", filter=Q(kind=Kind.ACCEPTED)),
            won=Count("pk", filter=Q(kind=Kind.WON)),
            pickups=Count("pk", filter=Q(kind__in=PICKUP_KINDS)),
            within=Count("pk", filter=Q(kind__in=PICKUP_KINDS, details__within_deadline=True)),
        )
    }
    mqls = {
        month.astimezone(zone).strftime("%Y-%m"): n
        for month, n in scope.leads()
        .filter(mql_at__gte=start, mql_at__lt=end)
        .annotate(month=TruncMonth("mql_at", tzinfo=zone))
        .values_list("month")
        .annotate(n=Count("pk"))
    }
    return {"events": events, "mqls": mqls}


def monthly_trends(
    *,
    agreements: list[Agreement],
    months: int = 12,
    now: datetime | None = None,
    tz: str = "UTC",
    scope: Scope | None = None,
) -> list[dict[str, Any]]:
    """The last `months` months, month by month: the ended ones from the cache when it has them, the
    current one counted now (two queries each)."""
    now = now or timezone.now()
    scope = scope or Scope(tuple(sorted(a.pk for a in agreements)))
    current = period_containing(now, "month", tz)
    first = current
    for _ in range(months - 1):
        first = first.previous()
    zone = ZoneInfo(tz)
    key = f"reporting:trends:{tz}:{first.label}:{current.label}:{scope.key}"
    ended = cache.get(key)
    if ended is None:
        ended = _trend_counts(scope, first.start, current.start, zone)
        cache.set(key, ended, ENDED_MONTHS_CACHE_SECONDS)
    live = _trend_counts(scope, current.start, now, zone)
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
    *, agreements: list[Agreement], period: Period, now: datetime, tz: str, scope: Scope | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The period's figures and the 12-month trends, computed again only when the data has changed.

    Managers reload and filter the dashboard far more often than a month's figures move, and at a
    million leads computing them takes a second or more; a view after any change computes them afresh.
    A deadline passing changes the breaches without writing anything, so the key also holds the minute.
    """
    scope = scope or Scope(tuple(sorted(a.pk for a in agreements)))
    complete = period.end <= now
    stamp = "-".join(map(str, data_stamp()))
    minute = now.strftime("%Y%m%d%H%M")
    key = f"reporting:dashboard:{tz}:{period.label}:{complete}:{scope.key}:{stamp}:{minute}"
    cached = cache.get(key)
    if cached is None:
        with rollups.one_reading():  # the current hour's stored rows recounted once for both
            cached = (
                report_figures(agreements=agreements, period=period, now=now, scope=scope),
                monthly_trends(agreements=agreements, now=now, tz=tz, scope=scope),
            )
        cache.set(key, cached, DASHBOARD_CACHE_SECONDS)
    return cached


def current_breaches(
    *, agreements: list[Agreement], now: datetime | None = None, limit: int = 20, scope: Scope | None = None
) -> list[Lead]:
    """Leads awaiting pickup past their deadline right now, most overdue first, each with `missed`: its
    missed deadlines, counting the current one before the sweep has recorded it."""
    now = now or timezone.now()
    scope = scope or Scope(tuple(sorted(a.pk for a in agreements)))
    recorded = PickupNotice.objects.filter(
        lead=OuterRef("pk"), assignment_no=OuterRef("assignment_no"), kind=PickupNotice.Kind.BREACH
    )
    overdue = scope.owned(
        Lead.objects.filter(
            agreement_id__in=scope.agreement_ids, status=Lead.Status.HANDED_OFF, pickup_deadline__lt=now
        )
    )
    return list(
        overdue.annotate(missed=F("pickup_breaches") + Case(When(Exists(recorded), then=0), default=1))
        .select_related("owner")
        .order_by("pickup_deadline")[:limit]
    )


def reassign_choices(leads: list[Lead]) -> None:
    """Give each lead `reassign_to`: the available reps of its agreement's sales team but its owner, as
    leads.forms.ReassignForm offers them. One query per agreement among the leads."""
    reps: dict[int, list[Any]] = {}
    for lead in leads:
        if lead.agreement_id not in reps:
            reps[lead.agreement_id] = list(available_reps(lead.agreement))
        lead.reassign_to = [rep for rep in reps[lead.agreement_id] if rep.pk != lead.owner_id]
