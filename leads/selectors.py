"""Reads of leads for pages and the API; each returns rows with their relations already joined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from agreements.models import Agreement, Team
from leads import permissions
from leads.models import Activity, Feedback, Lead, LeadEvent
from slaportal.formats import utc_iso
from slaportal.roles import Role, has_role

Status = Lead.Status


def _leads() -> QuerySet[Lead]:
    return Lead.objects.select_related("owner", "sla_version")


@dataclass(frozen=True)
class Inbox:
    awaiting: list[Lead]  # handed off to me, most urgent deadline first
    in_progress: list[Lead]  # accepted or qualified, mine


def inbox(*, user: Any) -> Inbox:
    mine = _leads().filter(owner=user)
    awaiting = list(
        mine.filter(status=Status.HANDED_OFF).order_by(F("pickup_deadline").asc(nulls_last=True), "pk")
    )
    in_progress = list(
        mine.filter(status__in=[Status.ACCEPTED, Status.QUALIFIED]).order_by("-accepted_at", "-pk")[:100]
    )
    return Inbox(awaiting, in_progress)


LIST_FILTERS = ("status", "marketing_temperature", "icp_fit", "owner", "source")


def handled_by(user: Any) -> Q:
    """A rep's leads: those they own (in every status, closed ones too), and those they handed back
    (rejected) while no one else owns them. A lead given to someone else is theirs no longer."""
    acted = Exists(LeadEvent.objects.filter(lead=OuterRef("pk"), actor=user))
    return Q(owner=user) | Q(acted, owner__isnull=True)


def leads_visible_to(*, user: Any) -> QuerySet[Lead]:
    """Marketing and managers see every lead; a rep the leads they own or handled; anyone else none."""
    rows = Lead.objects.select_related("owner")
    if permissions.can_view_all(user):
        return rows
    if has_role(user, Role.SALES_REP):
        return rows.filter(handled_by(user))
    return rows.none()


# The lead list's sortable columns: the `sort` parameter's values (a leading "-" reverses them).
SORTS = {
    "name": ("last_name", "first_name"),
    "company": ("company_name",),
    # The pipeline's order (Lead.Status lists it so), not the codes' spelling.
    "status": (Case(*[When(status=code, then=Value(n)) for n, code in enumerate(Status.values)]),),
    # Cold, warm, hot: by heat, not by the words' spelling.
    "temperature": (
        Case(
            When(marketing_temperature="cold", then=Value(1)),
            When(marketing_temperature="warm", then=Value(2)),
            When(marketing_temperature="hot", then=Value(3)),
        ),
    ),
    "owner": ("owner__username",),
    "deadline": ("pickup_deadline",),
    "updated": ("updated_at",),
}
DEFAULT_SORT = "-updated"


def _ordering(sort: str) -> list[Any]:
    key = sort.lstrip("-")
    fields = SORTS.get(key) or SORTS[DEFAULT_SORT.lstrip("-")]
    descending = sort.startswith("-") if key in SORTS else True
    # Empty values (no deadline, no owner) go last either way; the pk keeps pages stable.
    exprs = [F(f) if isinstance(f, str) else f for f in fields]
    order = [e.desc(nulls_last=True) if descending else e.asc(nulls_last=True) for e in exprs]
    return [*order, "-pk" if descending else "pk"]


def lead_list(
    *, filters: dict[str, Any], search: str = "", sort: str = DEFAULT_SORT, user: Any = None
) -> QuerySet[Lead]:
    """Leads, filtered and sorted; `filters` holds already-validated values (leads.forms.LeadFilterForm).
    Given a `user` who may not see every lead (a rep), only their history."""
    rows = _leads()
    if user is not None and not permissions.can_view_all(user):
        rows = rows.filter(handled_by(user)) if has_role(user, Role.SALES_REP) else rows.none()
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("marketing_temperature"):
        rows = rows.filter(marketing_temperature=filters["marketing_temperature"])
    if filters.get("icp_fit") in (True, False):
        rows = rows.filter(icp_fit=filters["icp_fit"])
    if filters.get("owner") == "none":
        rows = rows.filter(owner__isnull=True)
    elif filters.get("owner"):
        rows = rows.filter(owner__username=filters["owner"])
    if filters.get("source"):
        rows = rows.filter(source=filters["source"])
    if search:
        rows = rows.filter(
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(email__icontains=search)
            | Q(company_name__icontains=search)
            | Q(external_id=search)
        )
    return rows.order_by(*_ordering(sort))


def sources() -> list[str]:
    return list(
        Lead.objects.exclude(source="").order_by("source").values_list("source", flat=True).distinct()
    )


def lead_detail(*, lead_id: int) -> Lead:
    """A lead with its activities, timeline and feedback, for the lead page (a fixed number of queries)."""
    return (
        _leads()
        .prefetch_related(
            Prefetch(
                "activities",
                queryset=Activity.objects.order_by("-occurred_at", "-pk")[:200],
                to_attr="recent_activities",
            ),
            Prefetch(
                "events",
                queryset=LeadEvent.objects.select_related("actor", "sla_version").order_by("at", "pk"),
                to_attr="timeline",
            ),
            Prefetch(
                "feedback",
                queryset=Feedback.objects.select_related("author").order_by("created_at"),
                to_attr="answers",
            ),
        )
        .select_related("agreement")
        .get(pk=lead_id)
    )


def events_standing(events: QuerySet[LeadEvent]) -> QuerySet[LeadEvent]:
    """`events` without the rejections their rep took back at once: for the figures, those never
    happened. An undo is only allowed while the rejection is the lead's latest event
    (leads.services.sales.lead_undo_reject), so a rejection was taken back exactly when the lead's next
    event is the undo."""
    following = LeadEvent.objects.filter(lead=OuterRef("lead"), pk__gt=OuterRef("pk")).order_by("pk")
    return events.alias(next_kind=Subquery(following.values("kind")[:1])).filter(
        ~Q(kind=LeadEvent.Kind.REJECTED)
        | Q(next_kind__isnull=True)
        | ~Q(next_kind=LeadEvent.Kind.REJECTION_UNDONE)
    )


# The steps that begin or end an assignment's pickup deadline.
ASSIGNMENT_KINDS = (LeadEvent.Kind.HANDED_OFF, LeadEvent.Kind.REASSIGNED, LeadEvent.Kind.BREACHED)


def assignments_before(*, lead: Any, at: Any, pk: Any = None) -> QuerySet[LeadEvent]:
    """The lead's assignment steps before the event `pk` at the moment `at` (up to `at`, without `pk`),
    latest first, each with `unrecorded` 1 when it gave the lead a pickup deadline: the latest one then
    tells whether the assignment in hand had a deadline and no breach recorded for it since. Values or
    OuterRefs alike, so the report (reporting.breaches) and a pickup as it happens read the same rule."""
    before = Q(at__lt=at) | Q(at=at, pk__lt=pk) if pk is not None else Q(at__lte=at)
    return (
        LeadEvent.objects.filter(before, lead=lead, kind__in=ASSIGNMENT_KINDS)
        .annotate(hours=KeyTextTransform("pickup_hours", "details"))
        .order_by("-at", "-pk")
        .annotate(
            unrecorded=Case(
                When(kind=LeadEvent.Kind.HANDED_OFF, hours__isnull=False, then=Value(1)),
                When(kind=LeadEvent.Kind.REASSIGNED, clause__startswith="handoff.pickup.", then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    )


def handoff_temperature_before(*, lead: Any, at: Any) -> Subquery:
    """The marketing temperature the lead was handed off with, as of the moment `at` (its latest handoff
    before then): what a qualification is compared with (the temperature matrix)."""
    handoffs = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.HANDED_OFF, at__lte=at)
    return Subquery(
        handoffs.order_by("-at", "-pk").annotate(t=KeyTextTransform("temperature", "details")).values("t")[:1]
    )


def next_status_change(*, lead: Any, at: Any, pk: Any, before: Any = None) -> Subquery:
    """The kind of the lead's first step after the event `pk` at `at` that moved it to another status
    (before the moment `before`, when given). A conversion cohort's step converted when that is the next
    stage: an acceptance followed by a qualification, a qualification by a win (reporting.conversion)."""
    later = LeadEvent.objects.filter(Q(at__gt=at) | Q(at=at, pk__gt=pk), lead=lead).exclude(
        from_status=F("to_status")
    )
    if before is not None:
        later = later.filter(at__lt=before)
    return Subquery(later.order_by("at", "pk").values("kind")[:1])


def conversion_marks(lead: Lead, kind: str, now: Any) -> dict[str, str]:
    """What a step taken now completes, for the conversion cohorts (reporting.conversion), as its event's
    details: an acceptance, the lead's MQL moment if it is the first acceptance since; a qualification,
    the acceptance it follows; a win, the lead's first qualification it follows (not a revision)."""
    Kind = LeadEvent.Kind
    events = LeadEvent.objects.filter(lead=lead)
    if kind == Kind.ACCEPTED and lead.mql_at is not None and lead.mql_at <= now:
        if not events.filter(kind=Kind.ACCEPTED, at__gte=lead.mql_at).exists():
            return {"converts_mql": utc_iso(lead.mql_at)}
    elif kind == Kind.QUALIFIED and lead.status == Lead.Status.ACCEPTED and lead.accepted_at is not None:
        return {"converts_accepted": utc_iso(lead.accepted_at)}
    elif kind == Kind.WON and lead.status == Lead.Status.QUALIFIED:
        qualified = (
            events.filter(kind=Kind.QUALIFIED)
            .exclude(from_status=Lead.Status.QUALIFIED)
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        )
        if qualified is not None:
            return {"converts_qualified": utc_iso(qualified)}
    return {}


def deadline_unrecorded(*, lead_id: int, now: Any) -> bool:
    """Whether the lead's assignment in hand at `now` has a pickup deadline no sweep recorded a breach of
    (read with the lead locked). The steps up to `now`, as the report reads the steps before a pickup: a
    breach a sweep records with a later clock while the pickup waits for the lock comes after it."""
    return assignments_before(lead=lead_id, at=now).values_list("unrecorded", flat=True).first() == 1


def lead_events(*, lead: Lead) -> QuerySet[LeadEvent]:
    return LeadEvent.objects.filter(lead=lead).select_related("actor", "sla_version").order_by("at", "pk")


def _reps(**membership: Any) -> QuerySet[Any]:
    # One filter() call, so availability and team are checked on the same membership row: a rep on
    # leave in one team must not look available there through a membership in another team.
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__name=Role.SALES_REP.value,
            memberships__is_available=True,
            **{f"memberships__{key}": value for key, value in membership.items()},
        )
        .order_by("pk")
        .distinct()
    )


def available_reps(agreement: Agreement) -> QuerySet[Any]:
    """Active sales reps of the agreement's sales team who are not marked unavailable (on leave)."""
    return _reps(team_id=agreement.sales_team_id)


def available_reps_all() -> QuerySet[Any]:
    """Available reps of every sales team: the choices a manager sees on the lead list."""
    return _reps(team__department=Team.Department.SALES)


def why_not_yours(lead: Lead, user: Any) -> str:
    """Why `user` may no longer act on `lead` as its owner, naming who changed it and when: for a page
    that was stale when they clicked. Empty when it was never theirs to act on."""
    if lead.owner_id == getattr(user, "pk", None):
        return ""
    last = (
        LeadEvent.objects.filter(lead=lead, kind__in=[LeadEvent.Kind.REASSIGNED, LeadEvent.Kind.BREACHED])
        .select_related("actor")
        .order_by("-at", "-pk")
        .first()
    )
    if last is None:
        return ""
    who = last.actor.get_username() if last.actor else "SLA Portal"
    to = lead.owner.get_username() if lead.owner else "nobody yet"
    name = lead.full_name or lead.email or lead.external_id
    when = f"{timezone.localtime(last.at):%H:%M %Z}"
    return f"{name} is no longer yours: {who} gave it to {to} at {when} ({last.get_kind_display().lower()})."
