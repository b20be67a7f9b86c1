"""The shared report dashboard and the stored reports. Thin: parse filters, call selectors, render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from agreements.models import Agreement, Team
from agreements.selectors import default_agreement
from leads.permissions import is_manager
from reporting import charts, selectors, services
from reporting.conversion import cohort_rows
from reporting.forms import DashboardFilterForm
from reporting.models import MonthlyReport
from reporting.periods import Period, parse_period, period_containing
from reporting.scope import Scope, scope_for
from slaportal.roles import Role, role_required

# One dashboard for everyone: managers and both departments see the same figures.
ANY_ROLE = tuple(Role)


def _period_choices(now: datetime, tz: str) -> list[tuple[str, str]]:
    month = period_containing(now, "month", tz)
    quarter = period_containing(now, "quarter", tz)
    choices = []
    for _ in range(12):
        choices.append((month.label, month.title + (" (to date)" if month.end > now else "")))
        month = month.previous()
    for _ in range(4):
        choices.append((quarter.label, quarter.title + (" (to date)" if quarter.end > now else "")))
        quarter = quarter.previous()
    return choices


@dataclass
class Filters:
    form: DashboardFilterForm
    period: Period
    agreements: list[Agreement]
    team: Team | None
    scope: Scope
    tz: str
    now: datetime


def _filters(request: HttpRequest) -> Filters:
    """The dashboard's filters, read the same way for the page and its CSV. Input the form refuses is
    shown beside it, and the figures fall back to the defaults (this month, everything)."""
    now = timezone.now()
    everything = list(Agreement.objects.select_related("marketing_team", "sales_team").order_by("pk"))
    default = default_agreement()
    tz = services.agreement_timezone(default) if default else "UTC"
    form = DashboardFilterForm(request.GET or None, periods=_period_choices(now, tz))
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    chosen = [a for a in everything if a.pk == data["agreement"].pk] if data.get("agreement") else everything
    team = data.get("team")
    agreements, scope = scope_for(agreements=chosen, team=team)
    period = parse_period(data["period"], tz) if data.get("period") else period_containing(now, "month", tz)
    return Filters(form, period, agreements, team, scope, tz, now)


@role_required(*ANY_ROLE)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    f = _filters(request)
    # The same address with format=csv is the figures as a spreadsheet: one route, so one access rule.
    if request.GET.get("format") == "csv":
        return _dashboard_csv(f)
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    figures, trends = (
        selectors.dashboard_figures(
            agreements=f.agreements, period=f.period, now=f.now, tz=f.tz, scope=f.scope
        )
        if f.agreements
        else (None, [])
    )
    overdue = selectors.current_breaches(agreements=f.agreements, now=f.now, scope=f.scope)
    manager = is_manager(request.user)
    if manager:
        selectors.reassign_choices(overdue)
    context = {
        "form": f.form,
        "period": f.period,
        "agreements": f.agreements,
        "team": f.team,
        "scope": f.scope,
        "figures": figures,
        "conversion_rows": cohort_rows(figures) if figures else [],
        "as_of": f.now,
        "charts": [
            charts.bar_chart("MQLs", trends, "mqls"),
            charts.bar_chart("Handed off to sales", trends, "handed_off"),
            charts.bar_chart("Won", trends, "won"),
            charts.line_chart("Picked up within the deadline", trends, "pickup_within_sla_pct", "no pickups"),
        ]
        if trends
        else [],
        "breaches_now": overdue,
        "is_manager": manager,
        "reports": MonthlyReport.objects.filter(agreement__in=f.agreements).select_related("agreement")[:12],
        "csv_query": csv_query.urlencode(),
        "now": f.now,
    }
    template = "reporting/dashboard.html#dashboard-body" if request.htmx else "reporting/dashboard.html"
    return render(request, template, context, status=400 if f.form.errors else 200)


def _dashboard_csv(f: Filters) -> HttpResponse:
    """The figures the dashboard shows for the same filters, as the stored reports' CSV lays them out."""
    if f.form.errors:
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in f.form.errors.items())
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    figures = (
        selectors.report_figures(agreements=f.agreements, period=f.period, now=f.now, scope=f.scope)
        if f.agreements
        else None
    )
    about: list[tuple[str, Any]] = [
        ("agreements", ", ".join(a.name for a in f.agreements) or "none"),
        ("team", f.team.name if f.team else "all teams"),
    ]
    response = HttpResponse(services.report_csv(figures, about=about), content_type="text/csv; charset=utf-8")
    team = f"-team-{f.team.pk}" if f.team else ""
    response["Content-Disposition"] = f'attachment; filename="sla-dashboard-{f.period.label}{team}.csv"'
    return response


@role_required(*ANY_ROLE)
@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(MonthlyReport.objects.select_related("agreement", "sla_version"), pk=report_id)
    context = {
        "report": report,
        "figures": report.figures,
        "conversion_rows": cohort_rows(report.figures),
        "as_of": report.built_at,
    }
    return render(request, "reporting/report.html", context)


@role_required(*ANY_ROLE)
@require_GET
def report_csv(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(MonthlyReport.objects.select_related("agreement"), pk=report_id)
    response = HttpResponse(services.report_csv(report.figures), content_type="text/csv; charset=utf-8")
    name = f"sla-report-{report.agreement_id}-{report.period}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(*ANY_ROLE)
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    reports = MonthlyReport.objects.select_related("agreement", "sla_version")
    return render(request, "reporting/list.html", {"reports": reports[:200]})
