"""Tallies: the figures reports add up, counted as they happen (leads.models.Tally).

The rules are here once, as functions of what a write knows: `event_deltas` of an event (the transition
core calls it for every event it writes), `mql_deltas` of an evaluation that made a lead an MQL or changed
an MQL's ICP fit, `touch_deltas` of activities stored. leads.services.recount applies the same rules to the
stored events, leads and activities of a time window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q

from leads.models import Lead, LeadEvent, Tally

Kind = LeadEvent.Kind
HOUR = timedelta(hours=1)
# (agreement id, UTC hour, figure, key): a delta's address.
Cell = tuple[int, datetime, str, str]
PICKUPS = (Kind.ACCEPTED, Kind.REJECTED)
# Conversion figures and the event detail that names the moment of the cohort's step
# (leads.selectors.conversion_marks).
CONVERSIONS = (
    ("converted_mql", "converts_mql"),
    ("converted_accepted", "converts_accepted"),
    ("converted_qualified", "converts_qualified"),
)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def event_deltas(
    *,
    agreement_id: int | None,
    kind: str,
    at: datetime,
    actor: str | None,
    from_status: str,
    reason: str,
    details: dict[str, Any],
    sign: int = 1,
) -> Counter[Cell]:
    """What one event adds to the figures (`sign` -1: what taking it back removes). Only events that name
    their SLA version count, as the report only counts those."""
    out: Counter[Cell] = Counter()
    if agreement_id is None:
        return out
    hour = hour_of(at)

    def add(figure: str, key: str = "", n: int = 1, when: datetime = hour) -> None:
        out[(agreement_id, when, figure, key)] += sign * n

    if kind == Kind.HANDED_OFF:
        add("handed_off")
        if details.get("temperature") == "hot":
            add("hot")
    elif kind in PICKUPS:
        add(kind)
        add("pickups")
        within = details.get("within_deadline") is True
        minutes = details.get("business_minutes")
        minutes = minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else None
        if within:
            add("within")
        if minutes is not None:
            add("pickup_minutes", str(minutes))
        if kind == Kind.REJECTED:
            add("rejected_reason", reason)
        if details.get("unrecorded_breach") is True:
            # A deadline missed before any sweep saw it, dated by the pickup (reporting.breaches, case 3).
            add("late_pickups", actor or "")
        if actor is not None:
            add("rep_pickups", actor)
            add(f"rep_{kind}", actor)
            if within:
                add("rep_within", actor)
            if minutes is not None:
                add("rep_minutes", actor, minutes)
                add("rep_timed", actor)
    elif kind == Kind.QUALIFIED and from_status != Lead.Status.QUALIFIED:  # a revision is no new one
        add("qualified")
        if details.get("sales_temperature") == "hot":
            add("qualified_hot")
        handed, given = details.get("handoff_temperature"), details.get("sales_temperature")
        if handed and given:
            add("matrix", f"{handed}:{given}")
    elif kind in (Kind.WON, Kind.LOST):
        add(kind)
    elif kind == Kind.BREACHED:
        # A missed deadline belongs to the hour of the deadline, as the report dates it.
        deadline = parse_time(details.get("deadline"))
        add("breaches", details.get("missed_by") or "", when=hour_of(deadline) if deadline else hour)
    # A conversion belongs to the hour of the step it completes: its cohort's (reporting.conversion).
    for figure, mark in CONVERSIONS:
        cohort = parse_time(details.get(mark))
        if cohort is not None:
            add(figure, when=hour_of(cohort))
    return out


def parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def mql_deltas(
    *, agreement_id: int, mql_at: datetime, became: bool, icp_before: bool, icp_now: bool
) -> Counter:
    """An evaluation's part: a lead that `became` an MQL counts in the hour of mql_at, and an MQL whose ICP
    fit changed moves between the ICP-fit MQLs of that hour and the rest."""
    hour = hour_of(mql_at)
    out: Counter[Cell] = Counter()
    if became:
        out[(agreement_id, hour, "mqls", "")] += 1
        out[(agreement_id, hour, "mqls_icp", "")] += int(bool(icp_now))
    elif bool(icp_before) != bool(icp_now):
        out[(agreement_id, hour, "mqls_icp", "")] += 1 if icp_now else -1
    return out


def status_deltas(
    *, agreement_id: int, at: datetime, from_status: str | None, to_status: str, sign: int = 1
) -> Counter[Cell]:
    """A lead's move between statuses, or its creation (`from_status` None): the leads in each status at
    any moment are the sum of these before it (`in_status`, keyed by status)."""
    out: Counter[Cell] = Counter()
    if from_status != to_status:
        hour = hour_of(at)
        if from_status is not None:
            out[(agreement_id, hour, "in_status", from_status)] -= sign
        out[(agreement_id, hour, "in_status", to_status)] += sign
    return out


def touch_deltas(touches: Iterable[tuple[int, datetime]]) -> Counter[Cell]:
    """Activities stored, each (agreement id, occurred_at): the report's touches, in their hour."""
    out: Counter[Cell] = Counter()
    for agreement_id, occurred_at in touches:
        out[(agreement_id, hour_of(occurred_at), "touches", "")] += 1
    return out


def tallies_add(deltas: Counter[Cell]) -> None:
    """Write deltas in the caller's transaction: one multi-row INSERT, no row anyone else updates."""
    rows = [
        Tally(agreement_id=a, hour=h, figure=f, key=k[:200], n=n) for (a, h, f, k), n in deltas.items() if n
    ]
    if rows:
        Tally.objects.bulk_create(rows)


def deltas_of(events: Iterable[LeadEvent], sign: int = 1) -> Counter[Cell]:
    """What these events add to the figures, whether just built for writing or read back (with their
    version and actor at hand: no query)."""
    out: Counter[Cell] = Counter()
    for event in events:
        out.update(
            event_deltas(
                agreement_id=event.sla_version.agreement_id if event.sla_version_id else None,
                kind=event.kind,
                at=event.at,
                actor=event.actor.username if event.actor_id else None,
                from_status=event.from_status,
                reason=event.reason,
                details=event.details,
                sign=sign,
            )
        )
    return out


def rejection_taken_back(lead_ids: Iterable[int]) -> Counter[Cell]:
    """The deltas that undo each lead's latest rejection (taken back while it is the lead's latest
    event, leads.services.sales.lead_undo_reject). Undos come one lead at a time."""
    latest = [
        LeadEvent.objects.filter(lead_id=lead_id, kind=Kind.REJECTED)
        .select_related("actor", "sla_version")
        .annotate(lead_agreement=F("lead__agreement_id"))
        .order_by("-at", "-pk")
        .first()
        for lead_id in lead_ids
    ]
    out = deltas_of((event for event in latest if event is not None), sign=-1)
    for event in latest:
        if event is not None:  # its undo's own move is not counted: the lead is back where it was
            out.update(
                status_deltas(
                    agreement_id=event.lead_agreement,
                    at=event.at,
                    from_status=event.from_status,
                    to_status=event.to_status,
                    sign=-1,
                )
            )
    return out


def tallies_compact(*, before: datetime, hours_per_batch: int = 200) -> int:
    """Fold the deltas of the hours before `before` into one row per figure and key; the sums stay as they
    were at every moment (a delete and its insert commit together). Returns how many rows went."""
    removed = 0
    while True:
        with transaction.atomic():
            pending = list(
                Tally.objects.filter(folded=False, hour__lt=before)
                .order_by("hour", "agreement_id")
                .values_list("agreement_id", "hour")
                .distinct()[:hours_per_batch]
            )
            if not pending:
                return removed
            rows = Tally.objects.filter(
                Q(*[Q(agreement_id=a, hour=h) for a, h in pending], _connector=Q.OR)
            ).order_by("pk")
            if connection.features.has_select_for_update_skip_locked:
                # Another compaction's rows are left to it; a delta written meanwhile waits for the next.
                rows = rows.select_for_update(skip_locked=True)
            sums: Counter[Cell] = Counter()
            ids = []
            for pk, a, h, f, k, n in rows.values_list("pk", "agreement_id", "hour", "figure", "key", "n"):
                sums[(a, h, f, k)] += n
                ids.append(pk)
            if not ids:
                return removed  # another compaction holds these hours
            Tally.objects.filter(pk__in=ids).delete()
            Tally.objects.bulk_create(
                Tally(agreement_id=a, hour=h, figure=f, key=k, n=n, folded=True)
                for (a, h, f, k), n in sums.items()
                if n
            )
            removed += len(ids) - sum(1 for n in sums.values() if n)
            if len(pending) < hours_per_batch:
                return removed
