"""The state machine and its core: every change of a lead's status, and every LeadEvent, is written here.

`lead_transition` is a compare-and-set UPDATE that only lands when the lead is still in the status (and with
the owner) the caller saw, plus one LeadEvent naming the SLA version and clause behind it, published to
whoever listens (slaportal.publishing). `record_event` writes the events that change no status (created,
updated, evaluated, feedback, reminded). `allowed_actions` says what a person may do to a lead now, for the
views, the templates and the services alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, ExpressionWrapper, F, Model, Q, Value, When

from agreements.models import AgreementVersion
from leads import permissions
from leads.models import Lead, LeadEvent
from leads.services import batch_sql, tallies
from leads.services.vocabulary import Actor, NotAllowed, TransitionConflict, TransitionRefused
from slaportal.publishing import Publication, publish_many

Status = Lead.Status
Kind = LeadEvent.Kind

# The state machine, in one place: for each kind of transition, from which status to which statuses.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    Kind.HANDED_OFF: {Status.NURTURING: frozenset({Status.HANDED_OFF})},
    Kind.ACCEPTED: {Status.HANDED_OFF: frozenset({Status.ACCEPTED})},
    Kind.REJECTED: {Status.HANDED_OFF: frozenset({Status.NURTURING, Status.DISQUALIFIED, Status.RECYCLED})},
    # The rep takes a rejection back within seconds (leads.limits.REJECT_UNDO_SECONDS): it awaits them again.
    Kind.REJECTION_UNDONE: {
        s: frozenset({Status.HANDED_OFF}) for s in (Status.NURTURING, Status.DISQUALIFIED, Status.RECYCLED)
    },
    Kind.QUALIFIED: {
        Status.ACCEPTED: frozenset({Status.QUALIFIED}),
        Status.QUALIFIED: frozenset({Status.QUALIFIED}),  # sales revises its qualification
    },
    Kind.WON: {Status.ACCEPTED: frozenset({Status.WON}), Status.QUALIFIED: frozenset({Status.WON})},
    Kind.LOST: {Status.ACCEPTED: frozenset({Status.LOST}), Status.QUALIFIED: frozenset({Status.LOST})},
    # A new owner, same status; awaiting pickup, the lead also gets a fresh deadline.
    Kind.REASSIGNED: {s: frozenset({s}) for s in (Status.HANDED_OFF, Status.ACCEPTED, Status.QUALIFIED)},
    Kind.RETURNED: {Status.RECYCLED: frozenset({Status.NURTURING})},
    # A missed pickup deadline: the lead stays awaiting pickup, with the next rep or the manager.
    Kind.BREACHED: {Status.HANDED_OFF: frozenset({Status.HANDED_OFF})},
}
# Derived: every status a lead may move to from each status, whatever the transition.
ALLOWED: dict[str, frozenset[str]] = {
    status: frozenset().union(*(moves.get(status, frozenset()) for moves in TRANSITIONS.values()))
    for status in Status
}
DESTINATION_STATUS = {
    "nurture": Status.NURTURING,
    "disqualify": Status.DISQUALIFIED,
    "recycle": Status.RECYCLED,
}
REJECTED_STATUSES = frozenset(TRANSITIONS[Kind.REJECTED][Status.HANDED_OFF])
FEEDBACK_STATUSES = frozenset({Status.ACCEPTED, Status.QUALIFIED, Status.WON, Status.LOST})


@dataclass
class Move:
    """One lead's part of a transition: where it goes and what else changes (a value, or an expression
    such as F("pickup_breaches") + 1), and what its event records."""

    lead: Lead
    to: str
    changes: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    clause: str = ""
    reason: str = ""
    version: AgreementVersion | None = None
    expected_owner_id: int | object | None = ...


def _column(name: str, value: Any) -> tuple[str, Any]:
    """A change as a column and a value the UPDATE can take (a related object by its id)."""
    field_ = Lead._meta.get_field(name)
    if field_.is_relation:
        return field_.attname, value.pk if isinstance(value, Model) else value
    return name, value


def _set(moves: list[Move], column: str, values: list[Any]) -> Any:
    """`column`'s value for each lead of `moves` (`values`, in order): one value, or one CASE over them."""
    # Expressions compare by what they compute: F("n") + 1 equals F("n") + 1.
    if all(v == values[0] and type(v) is type(values[0]) for v in values):
        return values[0]
    output = Lead._meta.get_field(column)

    def typed(value: Any) -> Any:
        if hasattr(value, "resolve_expression"):
            return ExpressionWrapper(value, output_field=output)
        return Value(value, output_field=output)

    whens = [When(pk=move.lead.pk, then=typed(v)) for move, v in zip(moves, values, strict=True)]
    return Case(*whens, default=F(column), output_field=output)


def leads_transition(*, moves: list[Move], actor: Actor, kind: str, action: str, now: datetime) -> list[Lead]:
    """Move each lead of `moves` from the status it was read with, atomically and all at once: one guarded
    UPDATE, one multi-row INSERT of their events, one re-read, one publication. Each lead must still be in
    the status (and with the owner, where the move expects one) it was read with; otherwise nothing is
    written and TransitionConflict names the first lead that moved (the batch of one: `lead_transition`).
    """
    if not moves:
        return []
    if len({move.lead.pk for move in moves}) != len(moves):
        raise ValueError("A batch moves each lead once.")
    for move in moves:
        if move.to not in TRANSITIONS[kind].get(move.lead.status, ()):
            raise TransitionRefused(action=action, current=move.lead.status)
        move.changes = dict(_column(name, value) for name, value in move.changes.items())
    columns = sorted({column for move in moves for column in move.changes})
    fast = len(moves) > 1 and batch_sql.applies([move.changes for move in moves])
    if not fast:
        for move in moves:  # a column a move leaves alone keeps its value
            for column in columns:
                move.changes.setdefault(column, F(column))
    # The guard: each lead as its mover read it, grouped by what that was (usually one group).
    seen: dict[tuple[str, Any], list[int]] = {}
    for move in moves:
        seen.setdefault((move.lead.status, move.expected_owner_id), []).append(move.lead.pk)
    guard = Q(pk__in=[])
    for (status, owner), ids in seen.items():
        guard |= Q(pk__in=ids, status=status) & (Q() if owner is ... else Q(owner_id=owner))
    ids = [move.lead.pk for move in moves]
    with transaction.atomic():
        if fast:
            rows = [(m.lead.pk, m.lead.status, m.expected_owner_id, m.to, m.changes) for m in moves]
            moved = set(ids) - batch_sql.update_each(rows, columns, now)
        else:
            if len(moves) > 1:
                # Which lead moved can only be told before the write (after it, the batch's own leads no
                # longer match the guard either): lock them as read, then write.
                still = set(Lead.objects.select_for_update().filter(guard).values_list("pk", flat=True))
                if still != set(ids):
                    raise TransitionConflict(min(set(ids) - still), action)
            updates = {column: _set(moves, column, [m.changes[column] for m in moves]) for column in columns}
            status = _set(moves, "status", [m.to for m in moves])
            updated = Lead.objects.filter(guard).update(status=status, updated_at=now, **updates)
            moved = set(ids) if updated != len(moves) else set()
        if moved:
            # Nothing of the batch is kept: the caller reads the leads again and decides.
            raise TransitionConflict(min(moved), action)
        written = LeadEvent.objects.bulk_create(
            LeadEvent(
                lead_id=move.lead.pk,
                kind=kind,
                at=now,
                actor_type=actor.type,
                actor=actor.user,
                from_status=move.lead.status,
                to_status=move.to,
                sla_version=move.version,
                clause=move.clause,
                reason=move.reason,
                details=move.details,
            )
            for move in moves
        )
        deltas = tallies.deltas_of(written)
        if kind == Kind.REJECTION_UNDONE:
            deltas.update(tallies.rejection_taken_back(ids))  # and so the lead's status
        else:
            for move in moves:
                deltas.update(
                    tallies.status_deltas(
                        agreement_id=move.lead.agreement_id,
                        at=now,
                        from_status=move.lead.status,
                        to_status=move.to,
                    )
                )
        tallies.tallies_add(deltas)
        fresh = Lead.objects.select_related("owner").in_bulk(ids)
        leads = [fresh[pk] for pk in ids]
        if kind in PUBLISHED_EVENTS:
            publish_many(
                PUBLISHED_EVENTS[kind],
                [
                    _publication(lead, move.version, move.clause, move.reason, move.details)
                    for lead, move in zip(leads, moves, strict=True)
                ],
                now=now,
            )
    return leads


def _publication(
    lead: Lead, version: AgreementVersion | None, clause: str, reason: str, details: dict[str, Any] | None
) -> Publication:
    sla = {"version": version.number if version else None, "clause": clause, "reason": reason}
    return Publication(subject=lead, sla=sla, details=details or {})


def adopt(lead: Lead, fresh: Lead) -> Lead:
    """Make `lead`, an object a caller holds, read as `fresh` (the same lead read again), relations too."""
    lead.__dict__.update(
        {k: v for k, v in fresh.__dict__.items() if k not in ("_state", "_prefetched_objects_cache")}
    )
    lead.__dict__.pop("_prefetched_objects_cache", None)
    lead._state.fields_cache = fresh._state.fields_cache
    return lead


def lead_transition(
    *,
    lead: Lead,
    to: str,
    actor: Actor,
    kind: str,
    action: str,
    now: datetime,
    expected_owner_id: int | object | None = ...,
    version: AgreementVersion | None = None,
    clause: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    **changes: Any,
) -> Lead:
    """Move `lead` from the status it was read with to `to`, atomically, with its event: the batch of one.

    `expected_owner_id` (when given) must still own the lead at the moment of the write.
    """
    move = Move(lead, to, changes, details or {}, clause, reason, version, expected_owner_id)
    (moved,) = leads_transition(moves=[move], actor=actor, kind=kind, action=action, now=now)
    return adopt(lead, moved)  # callers hold on to the object they passed in


# Every step published to whoever listens (integrations: webhook subscribers), by its catalogue name
# (slaportal.publishing.EVENTS): each transition, a new lead and each feedback answer.
PUBLISHED_EVENTS = {
    Kind.CREATED: "lead.created",
    Kind.HANDED_OFF: "lead.handed_off",
    Kind.QUALIFIED: "lead.qualified",
    Kind.RETURNED: "lead.returned_to_nurture",
    Kind.FEEDBACK: "lead.feedback",
    Kind.ERASED: "lead.erased",
    Kind.ACCEPTED: "lead.accepted",
    Kind.REJECTED: "lead.rejected",
    Kind.REJECTION_UNDONE: "lead.rejection_undone",
    Kind.BREACHED: "lead.pickup_overdue",
    Kind.REASSIGNED: "lead.reassigned",
    Kind.WON: "lead.closed",
    Kind.LOST: "lead.closed",
}


def record_event(lead: Lead, kind: str, actor: Actor, now: datetime, **fields: Any) -> LeadEvent:
    """An event that changes no status (created, updated, evaluated, feedback, reminded)."""
    (event,) = record_events([(lead, kind, fields)], actor, now)
    return event


def record_events(
    events: list[tuple[Lead, str, dict[str, Any]]], actor: Actor, now: datetime
) -> list[LeadEvent]:
    """`record_event` for many steps at once, each (lead, kind, fields): one multi-row INSERT in the order
    given (a lead's timeline reads it so), one publication for each kind published."""
    written = LeadEvent.objects.bulk_create(
        LeadEvent(
            lead_id=lead.pk,
            kind=kind,
            at=now,
            actor_type=actor.type,
            actor=actor.user,
            from_status=lead.status,
            to_status=lead.status,
            **fields,
        )
        for lead, kind, fields in events
    )
    tallies.tallies_add(tallies.deltas_of(written))
    published: dict[str, list[Publication]] = {}
    for lead, kind, f in events:
        if kind in PUBLISHED_EVENTS:
            published.setdefault(PUBLISHED_EVENTS[kind], []).append(
                _publication(lead, f.get("sla_version"), f.get("clause", ""), "", f.get("details"))
            )
    for event, publications in published.items():
        publish_many(event, publications, now=now)
    return written


# ---------------------------------------------------------------------------------------------------------
# What a person may do to a lead: the statuses come from TRANSITIONS, who may act from the permissions.


@dataclass(frozen=True)
class Action:
    statuses: frozenset[str]
    who: str  # "owner", "manager" or "owner or manager"


def _from(*kinds: str) -> frozenset[str]:
    return frozenset().union(*(TRANSITIONS[kind] for kind in kinds))


ACTIONS: dict[str, Action] = {
    "accept": Action(_from(Kind.ACCEPTED), "owner"),
    "reject": Action(_from(Kind.REJECTED), "owner"),
    "qualify": Action(_from(Kind.QUALIFIED), "owner"),
    "close": Action(_from(Kind.WON, Kind.LOST), "owner or manager"),
    "reassign": Action(_from(Kind.REASSIGNED), "manager"),
    # Feedback changes no status: sales answers once it has picked the lead up, and after it closes it.
    "feedback": Action(FEEDBACK_STATUSES, "owner"),
}
_REFUSAL = {
    "owner": "Only the lead's owner can {verb} it.",
    "manager": "Only a sales manager can {verb} a lead.",
    "owner or manager": "Only the lead's owner or a sales manager can {verb} it.",
}


def _may(who: str, user: Any, lead: Lead) -> bool:
    if who == "manager":
        return permissions.is_manager(user)
    owner = permissions.is_owner(user, lead)
    return owner or (who == "owner or manager" and permissions.is_manager(user))


def allowed_actions(lead: Lead, user: Any) -> dict[str, bool]:
    """Each action, and whether `user` may take it on `lead` as it is now."""
    return {name: lead.status in a.statuses and _may(a.who, user, lead) for name, a in ACTIONS.items()}


def require_status(action: str, lead: Lead, verb: str) -> None:
    """Refuse early (before validating input) when the lead's status does not allow `action`."""
    if lead.status not in ACTIONS[action].statuses:
        raise TransitionRefused(action=verb, current=lead.status)


def require_person(action: str, lead: Lead, actor: Actor, verb: str) -> None:
    who = ACTIONS[action].who
    if not _may(who, actor.user, lead):
        raise NotAllowed(_REFUSAL[who].format(verb=verb))
