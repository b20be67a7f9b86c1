""" "My work": the home page. What needs the signed-in person now, whatever their roles: leads awaiting
their pickup, SLA versions awaiting their signature, drafts sent back to them, their team's overdue leads,
and their unread notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from agreements import permissions as sla_permissions
from agreements.models import AgreementVersion, VersionEvent
from leads import permissions
from leads.models import Lead
from slaportal.models import Notice
from slaportal.roles import Role, has_role

Status = Lead.Status
Version = AgreementVersion.Status
# A home page lists what to act on first; the full lists are a click away.
SHOWN = 20


@dataclass
class Work:
    awaiting: list[Lead] = field(default_factory=list)
    to_sign: list[tuple[AgreementVersion, list[str]]] = field(default_factory=list)
    sent_back: list[tuple[AgreementVersion, VersionEvent | None]] = field(default_factory=list)
    team_overdue: list[Lead] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.awaiting or self.to_sign or self.sent_back or self.team_overdue or self.notices)


def _to_sign(user: Any) -> list[tuple[AgreementVersion, list[str]]]:
    sides = sla_permissions.signable_sides(user)
    if not sides:
        return []
    unsigned = Q(pk__in=[])
    for side in sides:
        unsigned |= Q(**{f"{side}_signed_by__isnull": True})
    # One person signs one side only: a version they signed already waits for someone else.
    versions = (
        AgreementVersion.objects.filter(unsigned, status=Version.IN_REVIEW)
        .exclude(Q(marketing_signed_by=user) | Q(sales_signed_by=user))
        .select_related("agreement")
    )
    return [
        (version, [side for side in sides if getattr(version, f"{side}_signed_by_id") is None])
        for version in versions.order_by("submitted_at")[:SHOWN]
    ]


def _sent_back(user: Any) -> list[tuple[AgreementVersion, VersionEvent | None]]:
    """Drafts an approver sent back that this person wrote or edited (theirs to rework)."""
    if not sla_permissions.can_edit(user):
        return []
    events = VersionEvent.objects.filter(version=OuterRef("pk"))
    drafts = (
        AgreementVersion.objects.filter(status=Version.DRAFT)
        .filter(Exists(events.filter(kind=VersionEvent.Kind.RETURNED)))
        .filter(Q(created_by=user) | Exists(events.filter(actor=user, kind=VersionEvent.Kind.EDITED)))
        .select_related("agreement")
        .order_by("-updated_at")[:SHOWN]
    )
    drafts = list(drafts)
    returns: dict[int, VersionEvent] = {}
    for event in (
        VersionEvent.objects.filter(version__in=drafts, kind=VersionEvent.Kind.RETURNED)
        .select_related("actor")
        .order_by("at", "pk")
    ):
        returns[event.version_id] = event  # the latest wins
    return [(draft, returns.get(draft.pk)) for draft in drafts]


def _team_overdue(user: Any, now: Any) -> list[Lead]:
    if not has_role(user, Role.SALES_MANAGER, Role.ADMIN):
        return []
    overdue = Lead.objects.filter(status=Status.HANDED_OFF, pickup_deadline__lt=now)
    # A manager in sales teams sees theirs; one in none (as escalation reads it) manages every team.
    teams = list(user.memberships.filter(team__department="sales").values_list("team_id", flat=True))
    if teams and not has_role(user, Role.ADMIN):
        overdue = overdue.filter(agreement__sales_team_id__in=teams)
    return list(overdue.select_related("owner", "sla_version").order_by("pickup_deadline", "pk")[:SHOWN])


def my_work(*, user: Any, now: Any = None) -> Work:
    now = now or timezone.now()
    work = Work()
    if has_role(user, *permissions.INBOX_ROLES):
        work.awaiting = list(
            Lead.objects.filter(owner=user, status=Status.HANDED_OFF)
            .select_related("sla_version")
            .order_by(F("pickup_deadline").asc(nulls_last=True), "pk")[:SHOWN]
        )
    work.to_sign = _to_sign(user)
    work.sent_back = _sent_back(user)
    work.team_overdue = _team_overdue(user, now)
    work.notices = list(Notice.objects.filter(user=user, read_at__isnull=True)[:SHOWN])
    return work


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    work = my_work(user=request.user)
    return render(request, "work.html", {"work": work, "now": timezone.now()})
