"""The state machine and its core: every change of a lead's status, and every LeadEvent, is written here.

`lead_transition` is a compare-and-set UPDATE that only lands when the lead is still in the status (and with
the owner) the caller saw, plus one LeadEvent naming the SLA version and clause behind it, published to
whoever listens (slaportal.publishing). `record_event` writes the events that change no status (created,
updated, evaluated, feedback, reminded). `allowed_actions` says what a person may do to a lead now, for the
views, the templates and the services alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from agreements.models import AgreementVersion
from leads import permissions
from leads.models import Lead, LeadEvent
from leads.services.vocabulary import Actor, NotAllowed, TransitionConflict, TransitionRefused
from slaportal.publishing import publish

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
    """Move `lead` from the status it was read with to `to`, atomically, with its event.

    `expected_owner_id` (when given) must still own the lead at the moment of the write.
    """
    current = lead.status
    if to not in TRANSITIONS[kind].get(current, ()):
        raise TransitionRefused(action=action, current=current)
    with transaction.atomic():
        rows = Lead.objects.filter(pk=lead.pk, status=current)
        if expected_owner_id is not ...:
            rows = rows.filter(owner_id=expected_owner_id)
        if rows.update(status=to, updated_at=now, **changes) != 1:
            raise TransitionConflict(lead.pk, action)
        LeadEvent.objects.create(
            lead_id=lead.pk,
            kind=kind,
            at=now,
            actor_type=actor.type,
            actor=actor.user,
            from_status=current,
            to_status=to,
            sla_version=version,
            clause=clause,
            reason=reason,
            details=details or {},
        )
        lead.refresh_from_db()
        _publish(kind, lead, version, clause, reason, details or {}, now)
    return lead


def _publish(
    kind: str,
    lead: Lead,
    version: AgreementVersion | None,
    clause: str,
    reason: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    if kind in PUBLISHED_EVENTS:
        sla = {"version": version.number if version else None, "clause": clause, "reason": reason}
        publish(PUBLISHED_EVENTS[kind], subject=lead, sla=sla, details=details, now=now)


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
    event = LeadEvent.objects.create(
        lead_id=lead.pk,
        kind=kind,
        at=now,
        actor_type=actor.type,
        actor=actor.user,
        from_status=lead.status,
        to_status=lead.status,
        **fields,
    )
    version = fields.get("sla_version")
    _publish(kind, lead, version, fields.get("clause", ""), "", fields.get("details") or {}, now)
    return event


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
