"""Simulations in the browser: the panel on a draft's page, asking for one, and following it to its
results. Thin: the service validates and queues, the worker replays (reporting.simulations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements import permissions
from agreements.models import AgreementVersion
from reporting import charts, simulations, whatif
from reporting.models import Simulation
from slaportal.roles import role_required

# As reporting.simulations checks them: who weighs a version, and who simulates one.
VIEWERS, EDITORS = permissions.WEIGHER_ROLES, permissions.EDITOR_ROLES
# Results list this many changed leads; the rest are counted.
CHANGED_SHOWN = 50
TIMES = ("mql_at", "handoff_at", "deadline")


class SimulateForm(forms.Form):
    months = forms.TypedChoiceField(
        label="Replay the last",
        choices=[(3, "3 months"), (6, "6 months"), (12, "12 months"), (24, "24 months")],
        coerce=int,
        initial=12,
    )


def period_label(simulation: Simulation) -> str:
    """The months replayed, in the agreement's zone: "2025-12 to 2026-11"."""
    months = whatif.month_labels(simulation.start, simulation.end, simulation.tz)
    if not months:
        return ""
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def _panel_context(request: HttpRequest, version: AgreementVersion, form: SimulateForm | None = None) -> dict:
    recent = list(version.simulations.select_related("requested_by").order_by("-created_at", "-pk")[:5])
    for simulation in recent:
        simulation.period_label = period_label(simulation)
        simulation.change_names = simulations.change_names(simulation.changes or {})
    # A version that is signed already is simulated through changes to it (the API's), not as it is.
    open_to_change = version.status in (AgreementVersion.Status.DRAFT, AgreementVersion.Status.IN_REVIEW)
    return {
        "version": version,
        "agreement": version.agreement,
        "recent": recent,
        "can_simulate": open_to_change and simulations.can_simulate(request.user),
        "form": form or SimulateForm(),
    }


@role_required(*VIEWERS)
@require_GET
def version_simulation(request: HttpRequest, version_id: int) -> HttpResponse:
    """The latest simulation of a version and, for marketing, the form to run one (a panel of the
    version's page, loaded by htmx, or a page of its own)."""
    version = get_object_or_404(AgreementVersion.objects.select_related("agreement"), pk=version_id)
    context = _panel_context(request, version)
    template = "reporting/_version_simulation.html" if request.htmx else "reporting/version_simulation.html"
    return render(request, template, context)


@role_required(*EDITORS)
@require_POST
def simulate(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(AgreementVersion.objects.select_related("agreement"), pk=version_id)
    form = SimulateForm(request.POST)
    if form.is_valid():
        now = timezone.now()
        tz = simulations.agreement_timezone(version.agreement)
        start, end = simulations.last_ended_months(now, tz, form.cleaned_data["months"])
        try:
            simulation = simulations.simulation_request(
                agreement=version.agreement, user=request.user, version=version, start=start, end=end, now=now
            )
        except simulations.SimulationError as exc:
            for messages in exc.errors.values():
                for message in messages:
                    form.add_error(None, message)
        else:
            return redirect("reporting:simulation", simulation.pk)
    return render(
        request, "reporting/version_simulation.html", _panel_context(request, version, form), status=400
    )


def _simulation_context(request: HttpRequest, simulation: Simulation) -> dict[str, Any]:
    results = simulations.stored_results(simulation)
    months = results.get("months", [])
    return {
        "simulation": simulation,
        "period": period_label(simulation),
        "change_names": simulations.change_names(simulation.changes or {}),
        "changed_clauses": simulations.change_sentences(simulation),
        "results": results,
        "totals": {side: _totals([m[side] for m in months]) for side in ("recorded", "simulated")},
        "charts": [
            charts.paired_chart("Leads handed off", months, "handoffs"),
            charts.paired_chart("MQLs", months, "mqls"),
            charts.paired_chart("Most handoffs a rep gets", months, "load_max", per="in one day, each month"),
            charts.paired_chart("Pickups in time", months, "pickups_in_time", unit="%"),
        ]
        if months
        else [],
        "changed": [_readable(c) for c in results.get("changed", [])[:CHANGED_SHOWN]],
        "can_cancel": simulations.can_simulate(request.user)
        and simulation.status in (Simulation.Status.QUEUED, Simulation.Status.RUNNING),
        "percent": round(simulation.progress * 100),
        # Still queued after a minute: no worker has taken it, which the page should say.
        "waited": _minutes_queued(simulation),
        "resend_minutes": int(simulations.STALE.total_seconds() // 60),
    }


def _minutes_queued(simulation: Simulation) -> int | None:
    if simulation.status != Simulation.Status.QUEUED:
        return None
    minutes = int((timezone.now() - simulation.created_at).total_seconds() // 60)
    return minutes if minutes >= 1 else None


def _totals(months: list[dict[str, Any]]) -> dict[str, Any]:
    """The period's figures of one side: sums, the share of pickups in time, the load over the period."""
    totals = {name: sum(m.get(name) or 0 for m in months) for name in whatif.COUNTS if name != "reps"}
    rep_days = sum((m.get("reps") or 0) * (m.get("business_days") or 0) for m in months)
    pickups, late = totals["pickups"], totals["pickups_late"]
    totals["pickups_in_time"] = round(100 * (pickups - late) / pickups, 1) if pickups else None
    totals["load_mean"] = round(totals["load_handoffs"] / rep_days, 2) if rep_days else None
    totals["load_max"] = max((m["load_max"] for m in months if m.get("load_max") is not None), default=None)
    return totals


def _readable(changed: dict[str, Any]) -> dict[str, Any]:
    """A changed lead as stored (times as ISO text) with its times as datetimes, for the page."""

    def side(data: dict[str, Any]) -> dict[str, Any]:
        times = {k: datetime.fromisoformat(data[k]) if data.get(k) else None for k in TIMES}
        return {**data, **times}

    recorded, simulated = side(changed["recorded"]), side(changed["simulated"])
    # The clauses whose verdict or wording differs between the two sides: what a reader looks for.
    seen = {(c["clause"], c["matched"], c["rule"]) for c in recorded["checks"]}
    shown = {(c["clause"], c["matched"], c["rule"]) for c in simulated["checks"]}
    for data, other in ((recorded, shown), (simulated, seen)):
        data["checks"] = [
            {**c, "differs": (c["clause"], c["matched"], c["rule"]) not in other} for c in data["checks"]
        ]
    return {**changed, "recorded": recorded, "simulated": simulated}


@role_required(*VIEWERS)
@require_GET
def simulation_detail(request: HttpRequest, simulation_id: int) -> HttpResponse:
    simulation = get_object_or_404(
        Simulation.objects.select_related("agreement", "version", "requested_by"), pk=simulation_id
    )
    context = _simulation_context(request, simulation)
    template = "reporting/_simulation_body.html" if request.htmx else "reporting/simulation.html"
    return render(request, template, context)


@role_required(*EDITORS)
@require_POST
def simulation_cancel(request: HttpRequest, simulation_id: int) -> HttpResponse:
    simulation = get_object_or_404(Simulation, pk=simulation_id)
    simulations.simulation_cancel(simulation=simulation, user=request.user)
    return redirect("reporting:simulation", simulation.pk)
