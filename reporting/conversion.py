"""Conversion from one stage of the funnel to the next, each over one cohort of leads.

A rate over two different groups (say, deals won in October over leads qualified in October, when most
of October's wins were qualified in September) can read 133 %. Here each rate follows one group: the
leads that reached a stage in the period, and how many of them have reached the next stage since (up to
`now`, the moment the figures are computed). So no rate can exceed 100 %, and a rate of a past period
may still rise while its leads move on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from leads.models import LeadEvent
from leads.selectors import next_status_change
from reporting.scope import Scope

Kind = LeadEvent.Kind

# Stage pairs after the MQL stage: (figure name, event that enters the cohort, event that converts it).
STEPS = (
    ("accepted_to_qualified", Kind.ACCEPTED, Kind.QUALIFIED),
    ("qualified_to_won", Kind.QUALIFIED, Kind.WON),
)
# What each cohort is, in words for the page and the CSV.
COHORTS = {
    "mql_to_accepted": ("leads that became MQLs in the period", "accepted by sales since"),
    "accepted_to_qualified": ("leads sales accepted in the period", "qualified since"),
    "qualified_to_won": ("leads sales qualified in the period", "won since"),
}


def ratio(part: float | None, whole: float | None) -> float | None:
    return round(100.0 * part / whole, 1) if part is not None and whole else None


def conversion_cohorts(
    *, scope: Scope, start: datetime, end: datetime, now: datetime
) -> dict[str, dict[str, int]]:
    """For each stage pair, the cohort's size and how many of it converted by `now`, from the events (the
    tallies count the same as the steps happen: reporting.rollups). Three queries.

    The MQL cohort is the leads that became MQLs in the period, converted when sales accepted one since.
    The later cohorts are steps, as the report counts them: the period's acceptances, each converted when
    the lead's next status was qualified, and its first qualifications (not revisions), each converted when
    the next was won. A lead accepted twice in a period is two acceptances."""
    accepted_since_mql = LeadEvent.objects.filter(
        lead=OuterRef("pk"), kind=Kind.ACCEPTED, at__gte=OuterRef("mql_at"), at__lt=now
    )
    mqls = (
        scope.leads()
        .filter(mql_at__gte=start, mql_at__lt=end)
        .aggregate(cohort=Count("pk"), converted=Count("pk", filter=Exists(accepted_since_mql)))
    )
    cohorts = {"mql_to_accepted": mqls}
    for name, entered, next_kind in STEPS:
        steps = scope.events().filter(kind=entered, at__gte=start, at__lt=end)
        if entered == Kind.QUALIFIED:
            steps = steps.exclude(from_status=LeadEvent.Kind.QUALIFIED)  # a revision is no new one
        next_kind_then = next_status_change(
            lead=OuterRef("lead"), at=OuterRef("at"), pk=OuterRef("pk"), before=now
        )
        cohorts[name] = steps.annotate(next_kind=next_kind_then).aggregate(
            cohort=Count("pk"), converted=Count("pk", filter=Q(next_kind=next_kind))
        )
    return cohorts


def conversion_rates(cohorts: dict[str, dict[str, int]]) -> dict[str, float | None]:
    """The rates as reports have always named them (…_pct), in percent with one decimal."""
    return {f"{name}_pct": ratio(c["converted"], c["cohort"]) for name, c in cohorts.items()}


def cohort_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """For templates: each rate with its cohort in words; reports stored before cohorts have none."""
    cohorts = figures.get("conversion_cohorts") or {}
    labels = {
        "mql_to_accepted": "MQL → accepted",
        "accepted_to_qualified": "Accepted → qualified",
        "qualified_to_won": "Qualified → won",
    }
    return [
        {
            "label": label,
            "pct": figures["conversion"].get(f"{name}_pct"),
            "cohort": cohorts.get(name, {}).get("cohort"),
            "converted": cohorts.get(name, {}).get("converted"),
            "over": COHORTS[name][0],
            "since": COHORTS[name][1],
        }
        for name, label in labels.items()
    ]
