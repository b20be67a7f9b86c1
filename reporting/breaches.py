"""Missed pickup deadlines, counted from the deadlines themselves rather than only from the sweep's writes.

The escalation sweep (leads.services.escalation) records a breach once per assignment, a minute or so after
the deadline passes. Between the two, and whenever the sweep is down, the deadline is still missed: a
report that only counted the sweep's BREACHED events said "0 missed deadlines" beside a list of overdue
leads. So an assignment counts as breached when

1. the sweep recorded it (a BREACHED event), or
2. the lead still awaits pickup past its deadline and the sweep has not recorded it yet (the sweep's own
   query, `overdue_leads`, so the two can never disagree on which leads those are), or
3. it was picked up after its deadline before any sweep saw it (the pickup says `within_deadline: false`
   and the assignment it ended had a deadline and no recorded breach), or
4. a manager gave it to another rep after its deadline before any sweep saw it (from the dashboard's
   overdue table, say): the new assignment does not undo the missed one.

A breach belongs to the period its deadline falls in, whether or not it is recorded yet, so running the
sweep moves no breach from one period to another. Case 3 is dated by the pickup, as its event does not
name the deadline. One gap: an assignment the sweep made (a breach reassigned to another rep) that is
then also picked up late or reassigned before the next sweep counts once, not twice; the sweep runs
every minute.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr

from agreements.business_hours import add_business_hours
from agreements.models import AgreementVersion
from leads.models import LeadEvent
from leads.selectors import assignments_before
from leads.services.escalation import overdue_leads
from reporting.scope import Scope
from slaportal.formats import utc_iso

Kind = LeadEvent.Kind
PICKUP_KINDS = (Kind.ACCEPTED, Kind.REJECTED)
# An assignment starts at a handoff or a reassignment; a breach either keeps it or starts a new one.


def _second(value: datetime) -> str:
    """The deadline as the breach event writes it (utc_iso), cut to whole seconds: fixed width, so text
    order is time order on every database."""
    return utc_iso(value)[:19]


def breaches_by_rep(
    *,
    scope: Scope,
    start: datetime,
    end: datetime,
    now: datetime,
    recorded: Counter[str | None] | None = None,
) -> Counter[str | None]:
    """Missed deadlines falling in [start, end), as known at `now`, per rep (None: no rep had the lead).
    Four queries (five with reassignments), none of them a loop over leads; two when the caller has
    the `recorded` ones (cases 1 and 3) already, from the tallies (reporting.rollups)."""
    per_rep: Counter[str | None] = Counter(recorded or {})
    if recorded is None:
        per_rep.update(_recorded(scope=scope, start=start, end=end, now=now))
        per_rep.update(_late(scope=scope, start=start, end=end, now=now))
    # 2. Overdue now, not recorded yet: whoever owns the lead is missing it.
    waiting = (
        scope.owned(overdue_leads(now).filter(agreement_id__in=scope.agreement_ids))
        .filter(pickup_deadline__gte=start, pickup_deadline__lt=end)
        .order_by()
        .values_list("owner__username")
        .annotate(n=Count("pk"))
    )
    per_rep.update(dict(waiting))
    per_rep.update(_reassigned_late(scope=scope, start=start, end=end, now=now))
    return per_rep


def _recorded(*, scope: Scope, start: datetime, end: datetime, now: datetime) -> dict[str | None, int]:
    """1. Recorded. A breach is recorded after its deadline, so none of the period's is older than `start`."""
    return dict(
        scope.events()
        .filter(kind=Kind.BREACHED, at__gte=start, at__lte=now)
        .annotate(deadline=Substr(KeyTextTransform("deadline", "details"), 1, 19))
        .filter(
            Q(deadline__gte=_second(start), deadline__lt=_second(end)) | Q(deadline__isnull=True, at__lt=end)
        )
        .annotate(rep=KeyTextTransform("missed_by", "details"))
        .values_list("rep")
        .annotate(n=Count("pk"))
    )


def _late(*, scope: Scope, start: datetime, end: datetime, now: datetime) -> dict[str | None, int]:
    """3. Picked up late before the sweep came: the assignment the pickup ended had a deadline (a handoff
    with pickup hours, or a reassignment that set one) and no breach since it began. Worked out from the
    events before each pickup; a pickup marks it as it happens too (`unrecorded_breach`), which the
    tallies count."""
    return dict(
        scope.events()
        .filter(kind__in=PICKUP_KINDS, at__gte=start, at__lt=min(end, now), details__within_deadline=False)
        .annotate(unrecorded=Subquery(_assignment_before().values("unrecorded")[:1]))
        .filter(unrecorded=1)
        .values_list("actor__username")
        .annotate(n=Count("pk"))
    )


def _assignment_before() -> QuerySet[LeadEvent]:
    """For an outer event: the assignment it ended, latest first (leads.selectors.assignments_before)."""
    return assignments_before(lead=OuterRef("lead"), at=OuterRef("at"), pk=OuterRef("pk"))


def _reassigned_late(*, scope: Scope, start: datetime, end: datetime, now: datetime) -> Counter[str | None]:
    """Case 4. A reassignment's event does not name the deadline it came after, so it is worked out as the
    assignment set it: business hours of the SLA version from the assignment's start. Reassignments are a
    manager's hand actions, a few a period, so they are looked at one by one here. A deadline is never
    before its assignment began, so none of the period's comes from a reassignment before `start`."""
    before = _assignment_before()
    rows = (
        LeadEvent.objects.filter(sla_version__agreement_id__in=scope.agreement_ids, kind=Kind.REASSIGNED)
        .filter(at__gte=start, at__lte=now)
        .annotate(
            unrecorded=Subquery(before.values("unrecorded")[:1]),
            began=Subquery(before.values("at")[:1]),
            handoff_hours=Subquery(before.values("hours")[:1]),
            temperature=F("lead__handoff_temperature"),
            rep=KeyTextTransform("from", "details"),
        )
        .filter(unrecorded=1)
    )
    if scope.by_members:
        rows = rows.filter(details__from__in=list(scope.member_names or ()))
    rows = list(rows.values_list("at", "began", "handoff_hours", "temperature", "sla_version_id", "rep"))
    versions = {
        v.pk: v
        for v in AgreementVersion.objects.filter(pk__in={row[4] for row in rows}).prefetch_related("sections")
    }
    per_rep: Counter[str | None] = Counter()
    for at, began, handoff_hours, temperature, version_id, rep in rows:
        version = versions[version_id]
        pickup_hours = version.clauses.handoff.pickup_hours
        hours = float(handoff_hours) if handoff_hours else pickup_hours.get(temperature)
        if not hours:
            continue
        deadline = add_business_hours(began, hours, version.calendar)
        if at > deadline and start <= deadline < end:
            per_rep[rep] += 1
    return per_rep
