"""Building and publishing the stored reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, AgreementVersion
from reporting import selectors
from reporting.goals import version_in_force
from reporting.models import MonthlyReport
from reporting.periods import Period, ended_periods
from slaportal.formats import csv_cell
from slaportal.publishing import publish, tell


def agreement_timezone(agreement: Agreement) -> str:
    version = version_in_force(agreement, timezone.now()) or agreement.versions.order_by("-number").first()
    return version.clauses.handoff.timezone if version else "UTC"


def report_build(
    *, agreement: Agreement, period: Period, now: datetime | None = None
) -> tuple[MonthlyReport, bool]:
    """Build and publish the report unless it exists. Returns (report, created)."""
    now = now or timezone.now()
    existing = MonthlyReport.objects.filter(agreement=agreement, period=period.label).first()
    if existing:
        return existing, False
    figures = selectors.report_figures(agreements=[agreement], period=period, now=now)
    version = version_in_force(agreement, period.end)
    try:
        with transaction.atomic():
            report = MonthlyReport.objects.create(
                agreement=agreement,
                kind=period.kind,
                period=period.label,
                period_start=period.start,
                period_end=period.end,
                sla_version=version,
                figures=figures,
                built_at=now,
            )
            _publish(report, version, now)
    except IntegrityError:
        # A concurrent builder stored it first.
        return MonthlyReport.objects.get(agreement=agreement, period=period.label), False
    return report, True


def _publish(report: MonthlyReport, version: AgreementVersion | None, now: datetime) -> None:
    publish("report.published", subject=report, now=now)
    if version is None:
        return
    names = version.clauses.reporting.recipients
    emails = list(
        get_user_model().objects.filter(username__in=names, is_active=True).values_list("email", flat=True)
    )
    url = settings.SITE_URL + reverse("reporting:report", args=[report.pk])
    tell(
        to=emails,
        subject=f"[SLA Portal] {report.agreement} report for {report.period}",
        body=summary(report, url),
        now=now,
    )


def summary(report: MonthlyReport, url: str) -> str:
    f = report.figures
    version = f"SLA v{report.sla_version.number}" if report.sla_version else "no SLA in force"
    lines = [
        f"{report.agreement}: report for {report.period} ({version}).",
        "",
        f"MQLs: {f['mqls']} ({f['mqls_icp_match']} fit the ICP); "
        f"handed off to sales: {f['handed_off']} ({f['hot']} hot).",
        f"Accepted: {f['accepted']}; rejected: {f['rejected']}; qualified: {f['qualified']}; "
        f"won: {f['won']}; lost: {f['lost']}.",
        f"Picked up within the deadline: {_pct(f['pickup_within_sla_pct'])}; "
        f"missed deadlines: {f['breaches']}.",
        "",
        "Goals:",
    ]
    for goal in f["goals"]:
        verdict = "met" if goal["met"] else "missed" if goal["met"] is False else "no data"
        lines.append(
            f"  {goal['department']}: {goal['goal']}: "
            f"{'no figure yet' if goal['actual'] is None else goal['actual']} of {goal['target']} "
            f"({verdict}, {goal['clause']})"
        )
    lines += ["", f"The whole report: {url}", f"As CSV: {url}csv/"]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "no pickups" if value is None else f"{value}%"


def reports_build_due(*, now: datetime | None = None) -> list[MonthlyReport]:
    """Every report whose period has ended and that does not exist yet, for every agreement in force.

    Run daily; a beat that was down when a period ended catches up on its next run.
    """
    now = now or timezone.now()
    built = []
    agreements = Agreement.objects.filter(versions__status=AgreementVersion.Status.ACTIVE).distinct()
    for agreement in agreements:
        first = agreement.versions.exclude(effective_from=None).order_by("effective_from").first()
        active = agreement.versions.get(status=AgreementVersion.Status.ACTIVE)
        cadence = "quarter" if active.clauses.reporting.cadence == "quarterly" else "month"
        tz = active.clauses.handoff.timezone
        existing = set(MonthlyReport.objects.filter(agreement=agreement).values_list("period", flat=True))
        for period in ended_periods(since=first.effective_from, now=now, kind=cadence, tz=tz):
            if period.label not in existing:
                report, created = report_build(agreement=agreement, period=period, now=now)
                if created:
                    built.append(report)
    return built


CSV_FIELDS = (
    *selectors.COUNT_FIGURES,
    "pickup_within_sla_pct",
    "median_pickup_business_minutes",
    "p90_pickup_business_minutes",
    "acceptance_rate_pct",
    "touches_per_account_per_month",
)


def report_csv(figures: dict[str, Any] | None, *, about: list[tuple[str, Any]] = ()) -> str:
    """Section, name, value rows: easy to open in a spreadsheet and to diff month to month. `about` says
    whose figures they are (the dashboard's filters); no figures (nothing matched) leaves only that."""
    out = io.StringIO()
    writer = csv.writer(out)
    rows = [["section", "name", "value"], *(["scope", name, value] for name, value in about)]
    if figures is not None:
        rows += _report_rows(figures)
    # Every cell of every row goes through csv_cell here, so no row can forget to.
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def tidy(name: str, value: Any) -> Any:
    """A figure as the CSV writes it: None as an empty cell, and a float without noise (reports stored
    before figures were rounded hold medians like 66.00000000000001): percentages and minutes with one
    decimal, other rates with two. Ints stay ints."""
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 1 if name.endswith("_pct") or "minutes" in name else 2)
    return value


def _report_rows(figures: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["period", "period", figures["period"]]
    for name in CSV_FIELDS:
        yield ["figures", name, tidy(name, figures[name])]
    for name, value in figures["conversion"].items():
        yield ["conversion", name, tidy(name, value)]
    for name, cohort in (figures.get("conversion_cohorts") or {}).items():
        yield ["conversion_cohort", f"{name}: cohort", cohort["cohort"]]
        yield ["conversion_cohort", f"{name}: converted", cohort["converted"]]
    for reason, n in figures["rejected_by_reason"].items():
        yield ["rejected_by_reason", reason, n]
    for goal in figures["goals"]:
        name = f"{goal['department']}: {goal['goal']} (target {tidy('target', goal['target'])})"
        yield ["goal", name, tidy("actual", goal["actual"])]
    for rep in figures["per_rep"]:
        for key in (
            "pickups",
            "accepted",
            "rejected",
            "within_sla_pct",
            "avg_pickup_business_minutes",
            "breaches",
        ):
            yield ["rep", f"{rep['rep']}: {key}", tidy(key, rep[key])]
    for marketing, row in figures["temperature_matrix"].items():
        for sales, n in row.items():
            yield ["temperature_matrix", f"marketing {marketing} / sales {sales}", n]
