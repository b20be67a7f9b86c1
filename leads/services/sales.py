"""Sales' actions on a lead: accept, reject, qualify, close, reassign and feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agreements.business_hours import business_time_between
from agreements.evaluation import sales_temperature
from leads import limits
from leads.models import Feedback, Lead, LeadEvent
from leads.selectors import available_reps, conversion_marks, deadline_unrecorded
from leads.services.assignment import deadline_fields
from leads.services.notices import tell_new_owner
from leads.services.transitions import (
    DESTINATION_STATUS,
    lead_transition,
    record_event,
    require_person,
    require_status,
)
from leads.services.vocabulary import Actor, LeadError, LeadValidationError, TransitionRefused
from slaportal.formats import utc_iso

Status = Lead.Status
Kind = LeadEvent.Kind


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _pickup_fields(lead: Lead, now: datetime) -> dict[str, Any]:
    version = lead.sla_version
    minutes = _minutes(business_time_between(lead.handed_off_at, now, version.calendar)) if version else None
    within = lead.pickup_deadline is not None and now <= lead.pickup_deadline
    return {"picked_up_at": now, "pickup_business_minutes": minutes, "pickup_within_sla": within}


def _lock(lead: Lead) -> None:
    """Hold the lead's row for the caller's transaction: what is read next about it stays true until the
    step that follows is written."""
    list(Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk", flat=True))


def _pickup_details(lead: Lead, pickup: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a pickup's event says of its deadline. A late pickup of an assignment whose breach no sweep
    recorded is a missed deadline of its own (reporting.breaches, case 3), marked so that the figures
    count it as it happens. Read under the lead's lock (the caller's transaction), by the rule the report
    applies to the steps before the pickup (leads.selectors.deadline_unrecorded)."""
    details = {
        "within_deadline": pickup["pickup_within_sla"],
        "business_minutes": pickup["pickup_business_minutes"],
    }
    if pickup["pickup_within_sla"] is False:
        _lock(lead)
        if deadline_unrecorded(lead_id=lead.pk, now=now):
            details["unrecorded_breach"] = True
    return details


def lead_accept(*, lead: Lead, actor: Actor, now: datetime | None = None) -> Lead:
    now = now or timezone.now()
    require_status("accept", lead, "accept")
    require_person("accept", lead, actor, "accept")
    pickup = _pickup_fields(lead, now)
    with transaction.atomic():  # the lead locked while its pickup is read (_pickup_details)
        return lead_transition(
            lead=lead,
            to=Status.ACCEPTED,
            actor=actor,
            kind=Kind.ACCEPTED,
            action="accept",
            now=now,
            expected_owner_id=lead.owner_id,
            version=lead.sla_version,
            clause=f"handoff.pickup.{lead.handoff_temperature}" if lead.handoff_temperature else "",
            details={**_pickup_details(lead, pickup, now), **conversion_marks(lead, Kind.ACCEPTED, now)},
            accepted_at=now,
            reminder_at=None,
            **pickup,
        )


def lead_reject(*, lead: Lead, actor: Actor, reason: str, note: str, now: datetime | None = None) -> Lead:
    now = now or timezone.now()
    require_status("reject", lead, "reject")
    require_person("reject", lead, actor, "reject")
    version = lead.sla_version
    choice = version.clauses.handoff.rejection_reason(reason) if version and isinstance(reason, str) else None
    errors: dict[str, list[str]] = {}
    if choice is None:
        codes = ", ".join(r.code for r in version.clauses.handoff.rejection_reasons) if version else ""
        errors["reason"] = [f"Choose a rejection reason of the SLA: {codes}."]
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        errors["note"] = ["Say why, in a few words: marketing learns from it."]
    elif len(note) > limits.REJECT_NOTE_MAX:
        errors["note"] = [f"At most {limits.REJECT_NOTE_MAX} characters."]
    if errors:
        raise LeadValidationError(errors)
    recycle_at = now + timedelta(days=choice.recycle_days) if choice.destination == "recycle" else None
    pickup = _pickup_fields(lead, now)
    # What an undo puts back (lead_undo_reject): the pickup as it stood.
    before = {name: getattr(lead, name) for name in UNDONE_FIELDS}
    with transaction.atomic():
        return lead_transition(
            lead=lead,
            to=DESTINATION_STATUS[choice.destination],
            actor=actor,
            kind=Kind.REJECTED,
            action="reject",
            now=now,
            expected_owner_id=lead.owner_id,
            version=version,
            clause=f"handoff.rejection.{choice.code}",
            reason=choice.code,
            details={
                "note": note,
                "destination": choice.destination,
                "recycle_days": choice.recycle_days,
                **_pickup_details(lead, pickup, now),
                "before": {name: utc_iso(v) if isinstance(v, datetime) else v for name, v in before.items()},
            },
            owner=None,
            pickup_deadline=None,
            reminder_at=None,
            rejection_reason=choice.code,
            recycle_at=recycle_at,
            nurture_since=now if choice.destination == "nurture" else None,
            **pickup,
        )


# The fields a rejection changes besides the status, which an undo restores.
UNDONE_FIELDS = (
    "owner_id", "pickup_deadline", "reminder_at", "rejection_reason", "recycle_at", "nurture_since",
    "picked_up_at", "pickup_business_minutes", "pickup_within_sla",
)  # fmt: skip


def undo_deadline(event: LeadEvent) -> datetime:
    return event.at + timedelta(seconds=limits.REJECT_UNDO_SECONDS)


def undoable_rejection(lead: Lead, user: Any, now: datetime) -> LeadEvent | None:
    """The rejection `user` may still take back: the lead's latest step, theirs, a few seconds old."""
    last = LeadEvent.objects.filter(lead_id=lead.pk).order_by("-at", "-pk").first()
    if last is None or last.kind != Kind.REJECTED or last.actor_id != getattr(user, "pk", None):
        return None
    return last if now <= undo_deadline(last) else None


def lead_undo_reject(*, lead: Lead, actor: Actor, now: datetime | None = None) -> Lead:
    """Take a rejection back within REJECT_UNDO_SECONDS: the lead awaits its owner again, with the pickup
    deadline it had (a deadline that passed meanwhile is then escalated as any other)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, so nothing (an evaluation, the CRM's update) lands between the check and the undo: the
        # rejection is still the lead's latest event when it is taken back, as the figures assume.
        _lock(lead)
        event = undoable_rejection(lead, actor.user, now)
        if event is None:
            raise TransitionRefused(
                action="undo the rejection",
                current=lead.status,
                why="only the rep who rejected the lead can take it back, within "
                f"{limits.REJECT_UNDO_SECONDS} seconds and before anything else happens to it",
            )
        before = event.details.get("before") or {}
        restored = {name: before.get(name) for name in UNDONE_FIELDS}
        for name in ("pickup_deadline", "reminder_at", "recycle_at", "nurture_since", "picked_up_at"):
            restored[name] = parse_datetime(restored[name]) if restored[name] else None
        restored["rejection_reason"] = restored["rejection_reason"] or ""
        lead = lead_transition(
            lead=lead,
            to=Status.HANDED_OFF,
            actor=actor,
            kind=Kind.REJECTION_UNDONE,
            action="undo the rejection",
            now=now,
            expected_owner_id=None,
            version=lead.sla_version,
            clause=event.clause,
            reason=event.reason,
            details={"rejected_at": utc_iso(event.at)},
            **restored,
        )
    return lead


def lead_qualify(
    *,
    lead: Lead,
    actor: Actor,
    product_potential: Any,
    purchase_timeframe_months: Any,
    now: datetime | None = None,
) -> Lead:
    now = now or timezone.now()
    require_status("qualify", lead, "qualify")
    require_person("qualify", lead, actor, "qualify")
    errors: dict[str, list[str]] = {}
    if not isinstance(product_potential, bool):
        errors["product_potential"] = ["Say yes or no."]
    months = purchase_timeframe_months
    if (
        isinstance(months, bool)
        or not isinstance(months, int)
        or not 0 <= months <= limits.PURCHASE_MONTHS_MAX
    ):
        errors["purchase_timeframe_months"] = [
            f"Give the months until purchase, from 0 to {limits.PURCHASE_MONTHS_MAX}."
        ]
    if errors:
        raise LeadValidationError(errors)
    level, check = sales_temperature(
        product_potential=product_potential,
        purchase_timeframe_months=months,
        rules=lead.sla_version.clauses.temperature,
    )
    return lead_transition(
        lead=lead,
        to=Status.QUALIFIED,
        actor=actor,
        kind=Kind.QUALIFIED,
        action="qualify",
        now=now,
        expected_owner_id=lead.owner_id,
        version=lead.sla_version,
        clause=check.clause,
        # With the temperature marketing handed it off with: the two side by side (the temperature matrix).
        details={
            "sales_temperature": level,
            "detail": check.detail,
            "handoff_temperature": lead.handoff_temperature,
            **conversion_marks(lead, Kind.QUALIFIED, now),
        },
        product_potential=product_potential,
        purchase_timeframe_months=months,
        sales_temperature=level,
        qualified_at=now,
    )


def lead_close(*, lead: Lead, actor: Actor, outcome: Any, now: datetime | None = None) -> Lead:
    now = now or timezone.now()
    require_person("close", lead, actor, "close")
    if outcome not in ("won", "lost"):
        raise LeadValidationError({"outcome": ["Choose won or lost."]})
    require_status("close", lead, f"close as {outcome}")
    return lead_transition(
        lead=lead,
        to=Status.WON if outcome == "won" else Status.LOST,
        actor=actor,
        kind=Kind.WON if outcome == "won" else Kind.LOST,
        action=f"close as {outcome}",
        now=now,
        expected_owner_id=lead.owner_id,
        version=lead.sla_version,
        details=conversion_marks(lead, Kind.WON if outcome == "won" else Kind.LOST, now),
        closed_at=now,
    )


def lead_reassign(*, lead: Lead, actor: Actor, owner: Any, now: datetime | None = None) -> Lead:
    """A sales manager gives the lead to another available rep; awaiting pickup, it gets a fresh deadline."""
    now = now or timezone.now()
    require_person("reassign", lead, actor, "reassign")
    require_status("reassign", lead, "reassign")
    new_owner = (
        available_reps(lead.agreement).filter(username=owner).first() if isinstance(owner, str) else None
    )
    if new_owner is None:
        raise LeadValidationError(
            {"owner": ["Choose an available sales rep of this agreement's sales team."]}
        )
    if new_owner.pk == lead.owner_id:
        raise LeadValidationError({"owner": [f"{new_owner.username} already owns this lead."]})
    changes: dict[str, Any] = {"owner": new_owner}
    clause = "handoff.assignment"
    if lead.status == Status.HANDED_OFF and lead.sla_version is not None:
        changes.update(deadline_fields(lead.sla_version, lead.handoff_temperature, now))
        if changes["pickup_deadline"]:
            clause = f"handoff.pickup.{lead.handoff_temperature}"
        changes["assignment_no"] = F("assignment_no") + 1
    with transaction.atomic():
        lead = lead_transition(
            lead=lead,
            to=lead.status,
            actor=actor,
            kind=Kind.REASSIGNED,
            action="reassign",
            now=now,
            expected_owner_id=lead.owner_id,
            version=lead.sla_version,
            clause=clause,
            details={"from": lead.owner.username if lead.owner else None, "to": new_owner.username},
            **changes,
        )
        by = f" by {actor.user.get_username()}" if actor.user else ""
        tell_new_owner(lead, how=f"was given to you{by}", now=now)
    return lead


@dataclass
class Reassigned:
    done: list[Lead] = field(default_factory=list)
    refused: list[tuple[Lead, str]] = field(default_factory=list)


def leads_reassign_many(
    *, lead_ids: list[int], actor: Actor, owner: Any, now: datetime | None = None
) -> Reassigned:
    """Reassign each lead on its own (one may be refused while the others go through), saying why not."""
    now = now or timezone.now()
    result = Reassigned()
    for lead in Lead.objects.filter(pk__in=lead_ids).select_related("owner", "sla_version", "agreement"):
        try:
            result.done.append(lead_reassign(lead=lead, actor=actor, owner=owner, now=now))
        except LeadValidationError as exc:
            result.refused.append((lead, "; ".join(str(m) for ms in exc.errors.values() for m in ms)))
        except LeadError as exc:
            result.refused.append((lead, str(exc)))
    return result


def lead_feedback(*, lead: Lead, actor: Actor, answers: Any, now: datetime | None = None) -> Feedback:
    """The owner answers the SLA's feedback questions after contacting the lead."""
    now = now or timezone.now()
    require_status("feedback", lead, "give feedback")
    require_person("feedback", lead, actor, "give feedback on")
    questions = {q.code: q.text for q in lead.sla_version.clauses.feedback.questions}
    if not isinstance(answers, dict):
        raise LeadValidationError({"answers": ["Give an answer per question code."]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for code, answer in answers.items():
        if code not in questions:
            errors[str(code)[:50]] = [f"Not a feedback question of the SLA; use: {', '.join(questions)}."]
        elif not isinstance(answer, str):
            errors[code] = ["Must be text."]
        elif len(answer) > limits.FEEDBACK_ANSWER_MAX:
            errors[code] = [f"At most {limits.FEEDBACK_ANSWER_MAX} characters."]
        elif answer.strip():
            clean[code] = answer.strip()
    if not errors and not clean:
        errors["answers"] = ["Answer at least one question."]
    if errors:
        raise LeadValidationError(errors)
    with transaction.atomic():
        feedback = Feedback.objects.create(
            lead=lead, author=actor.user, sla_version=lead.sla_version, answers=clean, created_at=now
        )
        record_event(
            lead,
            Kind.FEEDBACK,
            actor,
            now,
            sla_version=lead.sla_version,
            clause="feedback",
            details={"answers": {questions[code]: text for code, text in clean.items()}},
        )
    return feedback
