"""The shared report dashboard and the stored reports. Thin: parse filters, call selectors, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from agreements.models import Agreement
from agreements.selectors import default_agreement
from reporting import charts, selectors, services
from reporting.forms import DashboardFilterForm
from reporting.models import MonthlyReport
from reporting.periods import parse_period, period_containing
from slaportal.roles import Role, role_required

# One dashboard for everyone: managers and both departments see the same figures.
ANY_ROLE = tuple(Role)


def _period_choices(now, tz: str) -> list[tuple[str, str]]:
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


@role_required(*ANY_ROLE)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    all_agreements = list(Agreement.objects.select_related("marketing_team", "sales_team").order_by("pk"))
    default = default_agreement()
    tz = services.agreement_timezone(default) if default else "UTC"
    form = DashboardFilterForm(request.GET or None, periods=_period_choices(now, tz))
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    agreements = all_agreements
    if data.get("agreement"):
        agreements = [a for a in agreements if a.pk == data["agreement"].pk]
    if data.get("team"):
        team = data["team"]
        agreements = [a for a in agreements if team.pk in (a.marketing_team_id, a.sales_team_id)]
    period = parse_period(data["period"], tz) if data.get("period") else period_containing(now, "month", tz)
    figures, trends = (
        selectors.dashboard_figures(agreements=agreements, period=period, now=now, tz=tz)
        if agreements
        else (None, [])
    )
    context = {
        "form": form,
        "period": period,
        "agreements": agreements,
        "figures": figures,
        "charts": [
            charts.bar_chart("MQLs", trends, "mqls"),
            charts.bar_chart("Handed off to sales", trends, "handed_off"),
            charts.bar_chart("Won", trends, "won"),
            charts.line_chart("% picked up within the deadline", trends, "pickup_within_sla_pct"),
        ]
        if trends
        else [],
        "breaches_now": selectors.current_breaches(agreements=agreements, now=now) if agreements else [],
        "reports": MonthlyReport.objects.filter(agreement__in=agreements).select_related("agreement")[:12],
        "now": now,
    }
    template = "reporting/dashboard.html#dashboard-body" if request.htmx else "reporting/dashboard.html"
    return render(request, template, context, status=400 if form.errors else 200)


@role_required(*ANY_ROLE)
@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(MonthlyReport.objects.select_related("agreement", "sla_version"), pk=report_id)
    return render(request, "reporting/report.html", {"report": report, "figures": report.figures})


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
