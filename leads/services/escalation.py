"""What happens when sales misses a pickup deadline, and the reminder before it.

Set-based: each sweep reads overdue (or due-for-reminder) leads through a partial index, in batches it
claims with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent sweeps share the work instead of repeating it.
Idempotent: the PickupNotice unique constraint allows one breach and one reminder per assignment, and both
are claimed the same way (`_claim_notices`); a sweep that loses that race (or runs twice) records nothing
more. Recycled leads whose waiting time is over go back to nurture here too: periodic work on deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agreements.clauses import hours_phrase
from agreements.selectors import signed_version
from leads.models import Lead, LeadEvent, PickupNotice
from leads.services.assignment import Turns, deadline_fields
from leads.services.notices import lead_path, new_owner_note
from leads.services.transitions import Move, leads_transition, record_event
from leads.services.vocabulary import Actor
from slaportal.formats import utc_iso
from slaportal.notices import notify_many
from slaportal.publishing import Mail, tell, tell_many
from slaportal.roles import Role
from slaportal.templatetags.clock import when_text

Status = Lead.Status
Kind = LeadEvent.Kind


@dataclass
class SweepResult:
    breached: int = 0
    reminded: int = 0


def _lead_url(lead: Lead) -> str:
    return settings.SITE_URL + lead_path(lead.pk)


def _when(value: datetime | None, version: Any) -> str:
    if value is None:
        return "no deadline"
    return when_text(value, "long", version.calendar.tz)


def sales_managers(lead: Lead) -> list[Any]:
    """The sales managers of the lead's sales team; any sales manager when the team names none."""
    managers = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES_MANAGER.value)
    in_team = list(
        managers.filter(memberships__team_id=lead.agreement.sales_team_id).order_by("pk").distinct()
    )
    return in_team or list(managers.order_by("pk").distinct())


def _claim(rows: Any, batch: int) -> list[int]:
    return list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch])


def overdue_leads(now: datetime) -> Any:
    """Leads past their pickup deadline whose assignment has no breach yet (the partial index's query)."""
    already = PickupNotice.objects.filter(
        lead=OuterRef("pk"), assignment_no=OuterRef("assignment_no"), kind=PickupNotice.Kind.BREACH
    )
    return (
        Lead.objects.filter(status=Status.HANDED_OFF, pickup_deadline__lte=now)
        .exclude(Exists(already))
        .order_by("pickup_deadline")
    )


class _Sweep:
    """What every lead of one sweep shares: each sales team's managers, and the turns of the batch."""

    def __init__(self, now: datetime) -> None:
        self._managers: dict[int, list[Any]] = {}
        self.turns = Turns(now)  # for the batch in progress: its cursors stay locked until it commits

    def managers(self, lead: Lead) -> list[Any]:
        if lead.agreement.sales_team_id not in self._managers:
            self._managers[lead.agreement.sales_team_id] = sales_managers(lead)
        return self._managers[lead.agreement.sales_team_id]


def _claim_notices(kind: str, ids: list[int], now: datetime) -> set[int]:
    """Insert this assignment's notice of `kind` (breach or reminder) for each lead; return the leads whose
    notice this sweep wrote.

    One statement for the batch. A notice another sweep already recorded is left alone (the unique
    constraint) and not returned, so that lead is skipped here: one notice per assignment, whatever runs.
    """
    notice, lead = PickupNotice._meta, Lead._meta
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {notice.db_table} (lead_id, assignment_no, kind, at)
                SELECT id, assignment_no, %s, %s FROM {lead.db_table} WHERE id IN ({placeholders})
                ON CONFLICT DO NOTHING RETURNING lead_id""",
            # Adapted as the ORM would write it (SQLite stores UTC text), since this SQL bypasses the ORM.
            [str(kind), connection.ops.adapt_datetimefield_value(now), *ids],
        )
        return {row[0] for row in cursor.fetchall()}


def leads_escalate_overdue(*, now: datetime | None = None, batch: int = 200) -> SweepResult:
    """Record a breach for every lead whose pickup deadline passed, once per assignment, and escalate it."""
    now = now or timezone.now()
    result = SweepResult()
    overdue = overdue_leads(now)
    sweep = _Sweep(now)
    while True:
        with transaction.atomic():
            ids = _claim(overdue, batch)
            if not ids:
                return result
            mine = _claim_notices(PickupNotice.Kind.BREACH, ids, now)
            leads = list(
                Lead.objects.filter(pk__in=mine)
                .select_related("owner", "agreement")
                .order_by("pickup_deadline", "pk")  # the longest overdue gets the next rep first
            )
            result.breached += _breach(leads, now, sweep)
            sweep.turns.save()


def _breach(leads: list[Lead], now: datetime, sweep: _Sweep) -> int:
    """Escalate a batch of overdue leads in one transition (leads_transition), then tell who must hear."""
    moves, plans = [], []
    for lead in leads:
        version = signed_version(lead.sla_version_id)
        handoff = version.clauses.handoff
        managers = sweep.managers(lead)
        turns = sweep.turns.of(lead.agreement)
        new_owner = turns.next(exclude_user_id=lead.owner_id) if handoff.escalation_reassign else None
        if new_owner is not None:
            changes = {"owner": new_owner, **deadline_fields(version, lead.handoff_temperature, now)}
            outcome = f"It was reassigned to {new_owner.username}, who must pick it up by {{deadline}}."
        elif handoff.escalation_reassign:
            # No other rep is available: the lead waits with the sales manager, with no new deadline.
            changes = {
                "owner": managers[0] if managers else None,
                "pickup_deadline": None,
                "reminder_at": None,
            }
            outcome = "No other rep is available, so it is now with the sales manager."
        else:
            changes = {"reminder_at": None}
            outcome = "It stays with its owner; the SLA does not reassign it."
        moves.append(
            Move(
                lead=lead,
                to=Status.HANDED_OFF,
                # Plain values, not F() + 1: the claim holds these rows locked, so what was read stands.
                changes={
                    **changes,
                    "pickup_breaches": lead.pickup_breaches + 1,
                    "assignment_no": lead.assignment_no + (1 if "owner" in changes else 0),
                },
                details={
                    "missed_by": lead.owner.username if lead.owner else None,
                    "deadline": utc_iso(lead.pickup_deadline),
                    "new_owner": changes["owner"].username if changes.get("owner") else None,
                },
                clause="handoff.escalation",
                version=version,
                expected_owner_id=lead.owner_id,
            )
        )
        plans.append((lead.owner, lead.handed_off_at, managers, outcome))
    escalated = leads_transition(
        moves=moves, actor=Actor.system(), kind=Kind.BREACHED, action="escalate", now=now
    )
    mails, notes = [], []
    for lead, (missed_by, handed_off_at, managers, outcome) in zip(escalated, plans, strict=True):
        mails.append(_breach_mail(lead, missed_by, handed_off_at, managers, outcome))
        # The e-mail tells them all; these are its in-app twins.
        if lead.owner and lead.owner != missed_by:
            notes.append(new_owner_note(lead, "was escalated to you (a missed pickup deadline)"))
        now_with = lead.owner.get_username() if lead.owner else "nobody"
        if missed_by:
            notes.append(
                (
                    missed_by,
                    f"You missed the pickup deadline of {lead}; it is now with {now_with}.",
                    lead_path(lead.pk),
                    "",
                )
            )
        if signed_version(lead.sla_version_id).clauses.handoff.escalation_notify_manager:
            who = missed_by.get_username() if missed_by else "Nobody"
            text = f"{who} missed the pickup deadline of {lead}; it is now with {now_with}."
            notes += [(m, text, lead_path(lead.pk), "") for m in managers if m not in (missed_by, lead.owner)]
    tell_many(mails, now=now)
    notify_many(notes, now=now, email=False)
    return len(escalated)


def _breach_mail(
    lead: Lead, missed_by: Any, handed_off_at: datetime | None, managers: list[Any], outcome: str
) -> Mail:
    version = signed_version(lead.sla_version_id)
    handoff = version.clauses.handoff
    hours = handoff.pickup_hours.get(lead.handoff_temperature)
    body = (
        f"{lead} ({lead.company_name or 'no company'}) was handed off to sales on "
        f"{_when(handed_off_at, version)} as a {lead.handoff_temperature} lead.\n\n"
        f"Under SLA v{version.number} §handoff.pickup.{lead.handoff_temperature} "
        f"it had to be picked up within "
        f"{hours_phrase(hours) if hours else 'the agreed time'}"
        f"{f' by {missed_by.username}' if missed_by else ''}. That deadline passed.\n\n"
        f"Under §handoff.escalation: {outcome.format(deadline=_when(lead.pickup_deadline, version))}\n\n"
        f"Lead: {_lead_url(lead)}\n"
    )
    recipients = [missed_by.email] if missed_by else []
    if handoff.escalation_notify_manager:
        recipients += [m.email for m in managers]
    if lead.owner and lead.owner != missed_by:
        recipients.append(lead.owner.email)
    return Mail(recipients, f"[SLA Portal] Pickup deadline missed: {lead}", body)


def leads_send_reminders(*, now: datetime | None = None, batch: int = 200) -> int:
    """Remind owners whose pickup time is mostly used up (PICKUP_REMINDER_SHARE), once per assignment."""
    now = now or timezone.now()
    # A lead already past its deadline gets the breach instead; a reminder then would only be noise.
    due = Lead.objects.filter(
        status=Status.HANDED_OFF, reminder_at__lte=now, pickup_deadline__gt=now
    ).order_by("reminder_at")
    sent = 0
    while True:
        with transaction.atomic():
            ids = _claim(due, batch)
            if not ids:
                return sent
            # Whatever happens next, these assignments' reminder time is used up.
            Lead.objects.filter(pk__in=ids).update(reminder_at=None)
            mine = _claim_notices(PickupNotice.Kind.REMINDER, ids, now)
            for lead in Lead.objects.filter(pk__in=mine).select_related("owner"):
                _remind(lead, now)
                sent += 1


def _remind(lead: Lead, now: datetime) -> None:
    version = signed_version(lead.sla_version_id)
    record_event(
        lead,
        Kind.REMINDED,
        Actor.system(),
        now,
        sla_version=version,
        clause=f"handoff.pickup.{lead.handoff_temperature}",
        details={"owner": lead.owner.username if lead.owner else None},
    )
    if lead.owner:
        tell(
            to=[lead.owner.email],
            subject=f"[SLA Portal] Pick up {lead} by {_when(lead.pickup_deadline, version)}",
            body=(
                f"{lead} ({lead.company_name or 'no company'}) is waiting for you. "
                f"Under SLA v{version.number} §handoff.pickup.{lead.handoff_temperature} "
                f"you must accept or reject it by {_when(lead.pickup_deadline, version)}; "
                f"after that it is escalated (§handoff.escalation).\n\n"
                f"Lead: {_lead_url(lead)}\n"
            ),
            now=now,
        )


def check_overdue_pickups(*, now: datetime | None = None) -> SweepResult:
    """The periodic check: reminders first (they may still help), then breaches."""
    now = now or timezone.now()
    result = SweepResult(reminded=leads_send_reminders(now=now))
    result.breached = leads_escalate_overdue(now=now).breached
    return result


def leads_return_recycled(*, now: datetime | None = None, batch: int = 500) -> int:
    """Recycled leads whose waiting time is over go back to marketing's nurture, a batch per transition
    (claimed as the sweep claims, so two workers share the work). Returns how many."""
    now = now or timezone.now()
    due = Lead.objects.filter(status=Status.RECYCLED, recycle_at__lte=now).order_by("recycle_at")
    moved = 0
    while True:
        with transaction.atomic():
            ids = _claim(due, batch)
            if not ids:
                return moved
            leads = list(Lead.objects.filter(pk__in=ids).select_related("sla_version").order_by("pk"))
            moves = [
                Move(
                    lead=lead,
                    to=Status.NURTURING,
                    changes={"recycle_at": None, "nurture_since": now},
                    clause=f"handoff.rejection.{lead.rejection_reason}" if lead.rejection_reason else "",
                    reason=lead.rejection_reason,
                    version=lead.sla_version,
                )
                for lead in leads
            ]
            moved += len(
                leads_transition(
                    moves=moves, actor=Actor.system(), kind=Kind.RETURNED, action="return to nurture", now=now
                )
            )
