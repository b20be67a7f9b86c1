"""The lead list: every lead for marketing and managers, a rep's own history (all statuses) for a rep.
Filters, search and sortable columns; a CSV of exactly what is filtered; bulk reassign for managers."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from leads import permissions, selectors, services
from leads.forms import BulkReassignForm, LeadFilterForm
from leads.models import Lead
from leads.services import Actor
from slaportal.formats import csv_cell, utc_iso
from slaportal.roles import Role, role_required

LIST_ROLES = (*permissions.ALL_LEADS_ROLES, Role.SALES_REP)
COLUMNS = [
    ("name", "Lead"),
    ("company", "Company"),
    ("status", "Status"),
    ("temperature", "Temperature"),
    ("owner", "Owner"),
    ("deadline", "Pickup deadline"),
    ("updated", "Updated"),
]


def _filtered(request: HttpRequest) -> tuple[LeadFilterForm, Any, str]:
    sees_all = permissions.can_view_all(request.user)
    owners = None
    if sees_all:
        owners = list(
            Lead.objects.exclude(owner=None)
            .order_by("owner__username")
            .values_list("owner__username", flat=True)
            .distinct()
        )
    form = LeadFilterForm(request.GET or None, owners=owners, sources=selectors.sources())
    filters: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort = filters.get("sort") or selectors.DEFAULT_SORT
    rows = selectors.lead_list(filters=filters, search=filters.get("q", ""), sort=sort, user=request.user)
    return form, rows, sort


def _columns(request: HttpRequest, sort: str) -> list[dict[str, str]]:
    """Each column's header: its link sorts by it (again: the other way), and says how it is sorted now."""
    columns = []
    for key, label in COLUMNS:
        query = request.GET.copy()
        query.pop("page", None)
        now = {key: "ascending", f"-{key}": "descending"}.get(sort, "none")
        query["sort"] = f"-{key}" if now == "ascending" else key
        columns.append({"key": key, "label": label, "aria_sort": now, "query": query.urlencode()})
    return columns


@role_required(*LIST_ROLES)
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    form, rows, sort = _filtered(request)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    is_manager = permissions.is_manager(request.user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "is_manager": is_manager,
        "reps": list(selectors.available_reps_all()) if is_manager else [],
        "query": query.urlencode(),
        "columns": _columns(request, sort),
        "history": not permissions.can_view_all(request.user),
        "now": timezone.now(),
    }
    in_place = bool(request.htmx and request.htmx.target == "lead-table")
    if in_place:
        # A column header sorted the table: the "Sort by" choice outside it says so too (out of band).
        form.fields["sort"].widget.attrs["hx-swap-oob"] = "true"
    context["sort_out_of_band"] = in_place
    template = "leads/list.html#lead-table" if in_place else "leads/list.html"
    return render(request, template, context, status=200 if not form.errors else 400)


CSV_HEADER = [
    "external_id", "name", "email", "company", "status", "marketing_temperature", "sales_temperature",
    "icp_fit", "owner", "source", "handed_off_at", "pickup_deadline", "picked_up_at", "pickup_within_sla",
    "pickup_breaches", "updated_at",
]  # fmt: skip


def _when(value: Any) -> str:
    return utc_iso(value) if value else ""


def _csv_rows(rows: Any) -> Iterator[list[Any]]:
    yield CSV_HEADER
    for lead in rows.iterator(chunk_size=2000):
        yield [
            lead.external_id, lead.full_name, lead.email, lead.company_name, lead.status,
            lead.marketing_temperature or "", lead.sales_temperature or "",
            "" if lead.icp_fit is None else ("yes" if lead.icp_fit else "no"),
            lead.owner.username if lead.owner else "", lead.source, _when(lead.handed_off_at),
            _when(lead.pickup_deadline), _when(lead.picked_up_at),
            "" if lead.pickup_within_sla is None else ("yes" if lead.pickup_within_sla else "no"),
            lead.pickup_breaches, _when(lead.updated_at),
        ]  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


@role_required(*LIST_ROLES)
@require_GET
def lead_list_csv(request: HttpRequest) -> HttpResponse:
    """The filtered list (every page of it), streamed: a large export never sits whole in memory."""
    form, rows, _ = _filtered(request)
    if form.errors:
        return lead_list(request)  # the page, with the filter's errors: nothing to export
    writer = csv.writer(_Echo())
    lines = (writer.writerow([csv_cell(cell) for cell in row]) for row in _csv_rows(rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


@role_required(*permissions.MANAGER_ROLES)
@require_POST
def lead_bulk_reassign(request: HttpRequest) -> HttpResponse:
    reps = list(selectors.available_reps_all())
    form = BulkReassignForm(request.POST, reps=reps)
    back = reverse("leads:list") + _back_query(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    result = services.leads_reassign_many(
        lead_ids=form.cleaned_data["leads"], actor=Actor.of(request.user), owner=form.cleaned_data["owner"]
    )
    if result.done:
        names = ", ".join(str(lead) for lead in result.done[:5]) + ("…" if len(result.done) > 5 else "")
        count = len(result.done)
        owner = form.cleaned_data["owner"]
        messages.success(request, f"{count} lead{'s' if count != 1 else ''} given to {owner}: {names}.")
    for lead, why in result.refused:
        messages.error(request, f"{lead} was not reassigned: {why}")
    return redirect(back)


def _back_query(post: QueryDict) -> str:
    """The list's filters as they were (sent along by the form), so the manager lands where they were."""
    query = post.get("back", "")
    return f"?{query}" if query and len(query) < 2000 and "\n" not in query else ""
