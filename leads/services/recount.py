"""The tallies worked out again from the stored rows (leads.services.tallies holds the rules): a window's
deltas, which is how the report reads the part of a period that is not whole hours; the rebuild, how an
installation counts its history once (`manage.py tallies --rebuild`); and the check of a live database
(`manage.py tallies --verify`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr

from leads.models import Activity, Lead, LeadEvent, Tally
from leads.selectors import (
    assignments_before,
    events_standing,
    handoff_temperature_before,
    next_status_change,
)
from leads.services.tallies import (
    CONVERSIONS,
    HOUR,
    PICKUPS,
    Cell,
    Kind,
    deltas_of,
    hour_of,
    mql_deltas,
    parse_time,
    status_deltas,
    touch_deltas,
)
from slaportal.formats import utc_iso


def deltas_between(agreement_ids: Iterable[int] | None, start: datetime, end: datetime) -> Counter[Cell]:
    """The deltas the writes of [start, end) added, worked out from the stored rows: events by their time
    (breaches by their deadline), a rejection taken back not at all, MQLs by mql_at with their ICP fit
    now. Reads the window's rows in Python: meant for windows of an hour or so, or chunk by chunk."""
    ids = None if agreement_ids is None else list(agreement_ids)
    events = LeadEvent.objects.filter(sla_version__isnull=False).exclude(kind=Kind.REJECTION_UNDONE)
    if ids is not None:
        events = events.filter(sla_version__agreement_id__in=ids)
    window = events_standing(events.filter(at__gte=start, at__lt=end).exclude(kind=Kind.BREACHED))
    # A late pickup is worked out again from the assignment steps before it, as the report's rule says
    # (reporting.breaches, case 3), not taken from the mark the pickup made: --verify checks the marks.
    unrecorded = Subquery(
        assignments_before(lead=OuterRef("lead"), at=OuterRef("at"), pk=OuterRef("pk")).values("unrecorded")[
            :1
        ]
    )
    late = Case(
        When(kind__in=PICKUPS, details__within_deadline=False, then=unrecorded),
        default=Value(0),
        output_field=IntegerField(),
    )
    # A qualification written before it named the handoff's temperature: the latest handoff's.
    handed = Case(
        When(kind=Kind.QUALIFIED, then=handoff_temperature_before(lead=OuterRef("lead"), at=OuterRef("at"))),
        default=None,
        output_field=TextField(),
    )
    window = window.annotate(late=late, handed=handed).select_related("actor", "sla_version")
    # A short window (a report's edges) is read at once; a long one (a rebuild) in chunks.
    long = end - start > timedelta(days=1)
    out = deltas_of(_marked(window.iterator(chunk_size=2000) if long else window))
    # A breach is dated by its deadline, which its details hold as text (narrowed here to whole seconds);
    # it is recorded after the deadline, so the window's deadlines are among the breaches since `start`.
    deadline = Substr(KeyTextTransform("deadline", "details"), 1, 19)
    breached = (
        events.filter(kind=Kind.BREACHED, at__gte=start)
        .alias(deadline=deadline)
        .filter(
            Q(deadline__gte=utc_iso(start)[:19], deadline__lt=utc_iso(end + timedelta(seconds=1))[:19])
            | Q(deadline__isnull=True, at__lt=end)
        )
    )
    out.update(
        deltas_of(
            event
            for event in breached.select_related("actor", "sla_version")
            if start <= (parse_time(event.details.get("deadline")) or event.at) < end
        )
    )
    out.update(_statuses_between(ids, start, end, long))
    touches = Activity.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if ids is not None:
        touches = touches.filter(lead__agreement_id__in=ids)
    touches = touches.values_list("lead__agreement_id", "occurred_at").order_by()
    out.update(touch_deltas(touches.iterator(5000) if long else touches))
    out.update(_conversions_between(events, start, end))
    # MQLs by mql_at, with their ICP fit now, and whether sales accepted them since (the MQL cohort).
    accepted = LeadEvent.objects.filter(lead=OuterRef("pk"), kind=Kind.ACCEPTED, at__gte=OuterRef("mql_at"))
    leads = Lead.objects.filter(mql_at__gte=start, mql_at__lt=end)
    if ids is not None:
        leads = leads.filter(agreement_id__in=ids)
    mqls = leads.annotate(accepted=Exists(accepted)).values_list(
        "agreement_id", "mql_at", "icp_fit", "accepted"
    )
    for agreement_id, mql_at, icp_fit, converted in mqls.iterator(2000) if long else mqls:
        out.update(
            mql_deltas(
                agreement_id=agreement_id, mql_at=mql_at, became=True, icp_before=False, icp_now=icp_fit
            )
        )
        out[(agreement_id, hour_of(mql_at), "converted_mql", "")] += int(converted)
    return Counter({cell: n for cell, n in out.items() if n})


def _conversions_between(events: QuerySet[LeadEvent], start: datetime, end: datetime) -> Counter[Cell]:
    """The conversions of the step cohorts of [start, end), by the rules of reporting.conversion: an
    acceptance of the window whose next status was qualified, a first qualification whose next was won
    (the MQL cohort's conversions are counted with the window's MQLs)."""
    out: Counter[Cell] = Counter()
    steps = (
        events.filter(at__gte=start, at__lt=end)
        .filter(Q(kind=Kind.ACCEPTED) | Q(kind=Kind.QUALIFIED, from_status=Lead.Status.ACCEPTED))
        .annotate(next_kind=next_status_change(lead=OuterRef("lead"), at=OuterRef("at"), pk=OuterRef("pk")))
        .filter(Q(kind=Kind.ACCEPTED, next_kind=Kind.QUALIFIED) | Q(kind=Kind.QUALIFIED, next_kind=Kind.WON))
    )
    for agreement_id, kind, at in steps.values_list("sla_version__agreement_id", "kind", "at"):
        figure = "converted_accepted" if kind == Kind.ACCEPTED else "converted_qualified"
        out[(agreement_id, hour_of(at), figure, "")] += 1
    return out


def _statuses_between(ids: list[int] | None, start: datetime, end: datetime, long: bool) -> Counter[Cell]:
    """The status moves of [start, end): each lead created (into nurturing, where every lead begins), each
    event that moved one, a rejection taken back and its undo neither."""
    out: Counter[Cell] = Counter()
    created = Lead.objects.filter(created_at__gte=start, created_at__lt=end)
    moved = events_standing(
        LeadEvent.objects.filter(at__gte=start, at__lt=end)
        .exclude(kind__in=(Kind.CREATED, Kind.REJECTION_UNDONE))  # a creation is counted from the lead
        .exclude(from_status=F("to_status"))
    )
    if ids is not None:
        created, moved = created.filter(agreement_id__in=ids), moved.filter(lead__agreement_id__in=ids)
    created = created.values_list("agreement_id", "created_at")
    for agreement_id, at in created.iterator(2000) if long else created:
        out.update(
            status_deltas(agreement_id=agreement_id, at=at, from_status=None, to_status=Lead.Status.NURTURING)
        )
    moves = moved.values_list("lead__agreement_id", "at", "from_status", "to_status")
    for agreement_id, at, from_status, to_status in moves.iterator(2000) if long else moves:
        out.update(
            status_deltas(agreement_id=agreement_id, at=at, from_status=from_status, to_status=to_status)
        )
    return out


def _marked(events: Iterable[LeadEvent]) -> Iterable[LeadEvent]:
    marks = {mark for _, mark in CONVERSIONS}
    for event in events:
        if marks & event.details.keys():  # counted from the cohort's side (_conversions_between)
            event.details = {k: v for k, v in event.details.items() if k not in marks}
        if event.kind == Kind.QUALIFIED and "handoff_temperature" not in event.details:
            event.details = {**event.details, "handoff_temperature": event.handed}
        if event.kind in PICKUPS:
            details = {k: v for k, v in event.details.items() if k != "unrecorded_breach"}
            event.details = {**details, "unrecorded_breach": True} if event.late == 1 else details
        yield event


def stored_between(agreement_ids: Iterable[int] | None, start: datetime, end: datetime) -> Counter[Cell]:
    """The tallies written for the hours of [start, end)."""
    rows = Tally.objects.filter(hour__gte=start, hour__lt=end)
    if agreement_ids is not None:
        rows = rows.filter(agreement_id__in=list(agreement_ids))
    out: Counter[Cell] = Counter()
    for a, h, f, k, n in rows.values_list("agreement_id", "hour", "figure", "key", "n").iterator(5000):
        out[(a, h, f, k)] += n
    return Counter({cell: n for cell, n in out.items() if n})


def _months(start: datetime, end: datetime) -> Iterable[tuple[datetime, datetime]]:
    while start < end:
        step = min(start + timedelta(days=31), end)
        yield start, step
        start = step


def _span() -> tuple[datetime, datetime] | None:
    first = [
        LeadEvent.objects.filter(sla_version__isnull=False)
        .order_by("at")
        .values_list("at", flat=True)
        .first(),
        Lead.objects.filter(mql_at__isnull=False).order_by("mql_at").values_list("mql_at", flat=True).first(),
        Lead.objects.order_by("created_at").values_list("created_at", flat=True).first(),
        # A CRM may send a lead's history: activities from before the lead, or from any time before now.
        Activity.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first(),
    ]
    last = [
        LeadEvent.objects.order_by("-at").values_list("at", flat=True).first(),
        Activity.objects.order_by("-occurred_at").values_list("occurred_at", flat=True).first(),
    ]
    starts = [at for at in first if at is not None]
    if not starts:
        return None
    # A breach's deadline is before the breach was recorded: the latest event ends the span.
    end = max([*(at for at in last if at is not None), *starts])
    return hour_of(min(starts)), hour_of(end) + HOUR


def tallies_rebuild() -> int:
    """Count the whole history again from the stored events and leads, replacing every tally: for an
    installation that has history from before tallies, or one that `--verify` found wrong. Writes made
    meanwhile wait for it (the tallies table is locked on PostgreSQL). Returns the rows written."""
    written = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Tally._meta.db_table} IN EXCLUSIVE MODE")
        Tally.objects.all().delete()
        span = _span()
        for start, end in _months(*span) if span else ():
            cells = deltas_between(None, start, end)
            Tally.objects.bulk_create(
                (
                    Tally(agreement_id=a, hour=h, figure=f, key=k, n=n, folded=True)
                    for (a, h, f, k), n in cells.items()
                ),
                batch_size=5000,
            )
            written += len(cells)
    return written


def tallies_verify() -> list[str]:
    """Where the tallies differ from the stored events and leads, month by month: empty when they agree."""
    span = _span()
    problems = []
    for start, end in _months(*span) if span else ():
        counted, stored = deltas_between(None, start, end), stored_between(None, start, end)
        for cell in sorted(set(counted) | set(stored)):
            if counted[cell] != stored[cell]:
                a, h, f, k = cell
                problems.append(
                    f"agreement {a}, {h:%Y-%m-%d %H}:00 UTC, {f}{f'[{k}]' if k else ''}: "
                    f"tallied {stored[cell]}, events say {counted[cell]}"
                )
    return problems
