"""Sales' actions on a lead: accept, reject, qualify, close, reassign and feedback."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agreements.business_hours import business_time_between
from agreements.evaluation import sales_temperature
from leads import limits
from leads.models import Feedback, Lead, LeadEvent
from leads.selectors import available_reps
from leads.services.assignment import deadline_fields
from leads.services.transitions import (
    DESTINATION_STATUS,
    lead_transition,
    record_event,
    require_person,
    require_status,
)
from leads.services.vocabulary import Actor, LeadValidationError

Status = Lead.Status
Kind = LeadEvent.Kind


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _pickup_fields(lead: Lead, now: datetime) -> dict[str, Any]:
    version = lead.sla_version
    minutes = _minutes(business_time_between(lead.handed_off_at, now, version.calendar)) if version else None
    within = lead.pickup_deadline is not None and now <= lead.pickup_deadline
    return {"picked_up_at": now, "pickup_business_minutes": minutes, "pickup_within_sla": within}


def lead_accept(*, lead: Lead, actor: Actor, now: datetime | None = None) -> Lead:
    now = now or timezone.now()
    require_status("accept", lead, "accept")
    require_person("accept", lead, actor, "accept")
    pickup = _pickup_fields(lead, now)
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
        details={
            "within_deadline": pickup["pickup_within_sla"],
            "business_minutes": pickup["pickup_business_minutes"],
        },
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
            "within_deadline": pickup["pickup_within_sla"],
            "business_minutes": pickup["pickup_business_minutes"],
        },
        owner=None,
        pickup_deadline=None,
        reminder_at=None,
        rejection_reason=choice.code,
        recycle_at=recycle_at,
        nurture_since=now if choice.destination == "nurture" else None,
        **pickup,
    )


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
        details={"sales_temperature": level, "detail": check.detail},
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
    return lead_transition(
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
