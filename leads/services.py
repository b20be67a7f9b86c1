"""Writes to leads: ingest, evaluation against the SLA in force, and the state machine's transitions.

Every change of status goes through `lead_transition`: a compare-and-set UPDATE that only lands when the
lead is still in the status (and with the owner) the caller saw, plus one LeadEvent naming the SLA
version and clause behind it. Views, the API, management commands and Celery tasks call these functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agreements import selectors as agreement_selectors
from agreements.business_hours import add_business_hours, add_business_time, business_time_between
from agreements.evaluation import ActivitySnapshot, Evaluation, LeadSnapshot, evaluate, sales_temperature
from agreements.models import Agreement, AgreementVersion
from leads import permissions
from leads.models import Activity, AssignmentCursor, Feedback, Lead, LeadEvent
from leads.selectors import available_reps
from slaportal.publishing import publish

Status = Lead.Status
Kind = LeadEvent.Kind

# The state machine, in one place: for each kind of transition, from which status to which statuses.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    Kind.HANDED_OFF: {Status.NURTURING: frozenset({Status.HANDED_OFF})},
    Kind.ACCEPTED: {Status.HANDED_OFF: frozenset({Status.ACCEPTED})},
    Kind.REJECTED: {Status.HANDED_OFF: frozenset({Status.NURTURING, Status.DISQUALIFIED, Status.RECYCLED})},
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
FEEDBACK_STATUSES = frozenset({Status.ACCEPTED, Status.QUALIFIED, Status.WON, Status.LOST})
LEAD_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "job_title",
    "source",
    "company_name",
    "company_employees",
    "company_annual_revenue",
    "company_industry",
    "company_country",
)
# PostgreSQL stores no NUL character in text or JSON; refuse it with a message instead of a server error.
NUL_MESSAGE = "Must not contain a NUL character."
# An activity time a little ahead of our clock is the sender's clock drift, not the future.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Actor:
    """Who did it: a person in the browser, an integration over the API, or SLA Portal itself."""

    type: str
    user: Any = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(LeadEvent.ActorType.USER, user)

    @classmethod
    def integration(cls, user: Any) -> Actor:
        return cls(LeadEvent.ActorType.INTEGRATION, user)

    @classmethod
    def system(cls) -> Actor:
        return cls(LeadEvent.ActorType.SYSTEM, None)


class LeadError(Exception):
    """A refused operation; the message is written for the person or integration that tried."""


class NotAllowed(LeadError):
    pass


class LeadValidationError(LeadError):
    def __init__(self, errors: dict[str, Any]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class TransitionRefused(LeadError):
    """The state machine does not allow this from the lead's current status."""

    def __init__(self, *, action: str, current: str):
        super().__init__(f"Cannot {action}: the lead is {Status(current).label.lower()}.")
        self.current = current


class TransitionConflict(LeadError):
    """Someone else moved the lead between our read and our write (a race, or a double click)."""

    def __init__(self, lead_id: int, action: str):
        row = Lead.objects.filter(pk=lead_id).values("status", "owner__username").first() or {}
        status = Status(row["status"]).label.lower() if row.get("status") else "gone"
        owner = f", owned by {row['owner__username']}" if row.get("owner__username") else ""
        super().__init__(f"Cannot {action}: someone else changed this lead first; it is now {status}{owner}.")
        self.current = row.get("status")


class NoAgreement(LeadError):
    pass


# ---------------------------------------------------------------------------------------------------------
# The transition


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
        if kind in PUBLISHED_EVENTS:
            sla = {"version": version.number if version else None, "clause": clause, "reason": reason}
            publish(PUBLISHED_EVENTS[kind], subject=lead, sla=sla, now=now)
    return lead


# The transitions published to whoever listens (integrations: webhook subscribers), by event name.
PUBLISHED_EVENTS = {
    Kind.HANDED_OFF: "lead.handed_off",
    Kind.ACCEPTED: "lead.accepted",
    Kind.REJECTED: "lead.rejected",
    Kind.BREACHED: "lead.pickup_overdue",
    Kind.REASSIGNED: "lead.reassigned",
    Kind.WON: "lead.closed",
    Kind.LOST: "lead.closed",
}


def _event(lead: Lead, kind: str, actor: Actor, now: datetime, **fields: Any) -> LeadEvent:
    return LeadEvent.objects.create(
        lead_id=lead.pk,
        kind=kind,
        at=now,
        actor_type=actor.type,
        actor=actor.user,
        from_status=lead.status,
        to_status=lead.status,
        **fields,
    )


def _require_transition(kind: str, lead: Lead, action: str) -> None:
    """Refuse early (before validating input) when the lead's status does not allow this transition."""
    if lead.status not in TRANSITIONS[kind]:
        raise TransitionRefused(action=action, current=lead.status)


def _require_owner(lead: Lead, actor: Actor, action: str) -> None:
    if not permissions.is_owner(actor.user, lead):
        raise NotAllowed(f"Only the lead's owner can {action} it.")


# ---------------------------------------------------------------------------------------------------------
# Round-robin


class RoundRobin:
    """Turns among a sales team's available reps; the turn is stored and locked, so two handoffs never
    share one. One object serves every assignment of a transaction (a sweep batch, an ingest batch): it
    locks the cursor and reads the reps once, and writes the last turn back with `save()`.

    Use inside a transaction: the cursor stays locked until it commits.
    """

    def __init__(self, agreement: Agreement) -> None:
        self.agreement = agreement
        self._cursor: AssignmentCursor | None = None
        self._reps: list[Any] = []

    def next(self, *, exclude_user_id: int | None = None) -> Any | None:
        if self._cursor is None:
            cursor, _ = AssignmentCursor.objects.get_or_create(team_id=self.agreement.sales_team_id)
            self._cursor = AssignmentCursor.objects.select_for_update().get(pk=cursor.pk)
            self._reps = list(available_reps(self.agreement))
        reps = [rep for rep in self._reps if rep.pk != exclude_user_id]
        if not reps:
            return None
        last = self._cursor.last_user_id
        after = [rep for rep in reps if last is not None and rep.pk > last]
        chosen = after[0] if after else reps[0]
        self._cursor.last_user = chosen
        return chosen

    def save(self) -> None:
        if self._cursor is not None:
            self._cursor.save(update_fields=["last_user", "updated_at"])


class Turns:
    """Each agreement's RoundRobin for the assignments of one transaction; `save()` before it commits."""

    def __init__(self) -> None:
        self._by_agreement: dict[int, RoundRobin] = {}

    def of(self, agreement: Agreement) -> RoundRobin:
        if agreement.pk not in self._by_agreement:
            self._by_agreement[agreement.pk] = RoundRobin(agreement)
        return self._by_agreement[agreement.pk]

    def save(self) -> None:
        for round_robin in self._by_agreement.values():
            round_robin.save()
        self._by_agreement.clear()


# ---------------------------------------------------------------------------------------------------------
# Evaluation and handoff


def default_agreement() -> Agreement:
    """The agreement that governs leads sent without one: the oldest with a version in force."""
    agreement = (
        Agreement.objects.filter(versions__status=AgreementVersion.Status.ACTIVE).order_by("pk").first()
        or Agreement.objects.order_by("pk").first()
    )
    if agreement is None:
        raise NoAgreement("No SLA exists yet: create and sign one before sending leads.")
    return agreement


class VersionCache(dict):
    """Active versions by agreement id, for one request or batch (clauses are parsed once)."""

    def get_active(self, agreement_id: int) -> AgreementVersion | None:
        if agreement_id not in self:
            self[agreement_id] = agreement_selectors.active_version_for_evaluation(agreement_id=agreement_id)
        return self[agreement_id]


def leads_evaluate(
    *,
    lead_ids: Iterable[int],
    actor: Actor,
    now: datetime | None = None,
    versions: VersionCache | None = None,
) -> dict[int, Evaluation | None]:
    """Re-evaluate these leads, each against its agreement's SLA in force, handing off those it says to.

    A batch costs two reads whatever its size: the leads (locked) and their activities in the window.
    """
    now = now or timezone.now()
    versions = versions if versions is not None else VersionCache()
    with transaction.atomic():
        # One evaluation of a lead at a time: two activity batches for it must not both hand it off.
        # Locked in id order, so two batches that share leads wait for each other instead of deadlocking.
        leads = list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk"))
        return _evaluate_locked(leads, actor=actor, now=now, versions=versions)


def _evaluate_locked(
    leads: list[Lead], *, actor: Actor, now: datetime, versions: VersionCache, new: bool = False
) -> dict[int, Evaluation | None]:
    """Evaluate leads this transaction holds locked (or has just created: `new`, so no activities yet).
    The lead objects are brought up to date."""
    in_force = {
        agreement_id: versions.get_active(agreement_id) for agreement_id in {x.agreement_id for x in leads}
    }
    windows = {
        agreement_id: now - timedelta(days=version.clauses.temperature.window_days)
        for agreement_id, version in in_force.items()
        if version is not None
    }
    history: dict[int, list[ActivitySnapshot]] = {lead.pk: [] for lead in leads}
    if windows and not new:
        rows = Activity.objects.filter(
            lead_id__in=list(history), occurred_at__gt=min(windows.values()), occurred_at__lte=now
        ).order_by("lead_id", "-occurred_at", "-pk")  # each lead's newest first, as Activity orders
        for lead_id, kind, at in rows.values_list("lead_id", "type", "occurred_at"):
            history[lead_id].append(ActivitySnapshot(kind, at))
    results: dict[int, Evaluation | None] = {}
    turns = Turns()  # the handoffs of this batch take turns from one locked cursor per agreement
    for lead in leads:
        version = in_force[lead.agreement_id]
        since = windows.get(lead.agreement_id)
        activities = tuple(a for a in history[lead.pk] if since is not None and a.occurred_at > since)
        results[lead.pk] = _evaluate(lead, version, activities, actor, now, turns)
    turns.save()
    return results


def _evaluate(
    lead: Lead,
    version: AgreementVersion | None,
    activities: tuple[ActivitySnapshot, ...],
    actor: Actor,
    now: datetime,
    turns: Turns,
) -> Evaluation | None:
    if version is None:
        Lead.objects.filter(pk=lead.pk).update(
            explanation={"evaluated_at": now.isoformat(), "error": "No version of the SLA is in force."}
        )
        return None
    clauses = version.clauses
    verdict = evaluate(_snapshot(lead, activities), clauses, now)
    checks = [check.as_dict() for check in verdict.checks]
    transfer = verdict.transfer
    if transfer and lead.nurture_since and not any(a.occurred_at > lead.nurture_since for a in activities):
        # Sales handed it back: the same engagement must not bounce it straight back to sales.
        transfer = False
        checks.append(
            {
                "clause": "handoff.threshold",
                "matched": False,
                "rule": "A lead sales handed back goes to sales again only after new engagement.",
                "detail": f"back in nurture since {now_text(lead.nurture_since)}; no engagement since",
            }
        )
    explanation = {
        "version_id": version.pk,
        "version": version.number,
        "evaluated_at": now.isoformat(),
        "icp_fit": verdict.icp_fit,
        "marketing_temperature": verdict.marketing_temperature,
        "is_mql": verdict.is_mql,
        "transfer": transfer,
        "checks": checks,
    }
    outcome = (verdict.marketing_temperature, verdict.icp_fit, verdict.is_mql)
    changed = outcome != (lead.marketing_temperature, lead.icp_fit, lead.is_mql)
    updates: dict[str, Any] = {
        "marketing_temperature": verdict.marketing_temperature,
        "icp_fit": verdict.icp_fit,
        "is_mql": verdict.is_mql,
        "explanation": explanation,
        "updated_at": now,
    }
    if verdict.is_mql and lead.mql_at is None:
        updates["mql_at"] = now
    Lead.objects.filter(pk=lead.pk).update(**updates)
    for name, value in updates.items():
        setattr(lead, name, value)
    if changed:
        _event(
            lead,
            Kind.EVALUATED,
            actor,
            now,
            sla_version=version,
            clause=verdict.deciding_clause,
            details={
                "marketing_temperature": verdict.marketing_temperature,
                "icp_fit": verdict.icp_fit,
                "is_mql": verdict.is_mql,
            },
        )
    if transfer and lead.status == Status.NURTURING:
        _hand_off(lead, verdict, version, now, turns.of(version.agreement))
    return verdict


def now_text(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _snapshot(lead: Lead, activities: tuple[ActivitySnapshot, ...]) -> LeadSnapshot:
    return LeadSnapshot(
        company_employees=lead.company_employees,
        company_annual_revenue=lead.company_annual_revenue,
        company_industry=lead.company_industry,
        company_country=lead.company_country,
        job_title=lead.job_title,
        activities=activities,
    )


def deadline_fields(version: AgreementVersion, temperature: str | None, start: datetime) -> dict[str, Any]:
    """The pickup deadline for a lead of `temperature` assigned at `start`, and when to remind its owner."""
    hours = version.clauses.handoff.pickup_hours.get(temperature) if temperature else None
    if not hours:
        return {"pickup_deadline": None, "reminder_at": None}
    share = settings.PICKUP_REMINDER_SHARE
    return {
        "pickup_deadline": add_business_hours(start, hours, version.calendar),
        "reminder_at": add_business_time(
            start, timedelta(minutes=round(hours * 60 * share)), version.calendar
        )
        if share
        else None,
    }


def _hand_off(
    lead: Lead, verdict: Evaluation, version: AgreementVersion, now: datetime, turns: RoundRobin
) -> Lead:
    rep = turns.next()
    return lead_transition(
        lead=lead,
        to=Status.HANDED_OFF,
        actor=Actor.system(),
        kind=Kind.HANDED_OFF,
        action="hand off",
        now=now,
        version=version,
        clause=verdict.deciding_clause,
        details={
            "temperature": verdict.marketing_temperature,
            "pickup_hours": verdict.pickup_hours,
            "owner": rep.username if rep else None,
            "assignment": "handoff.assignment" if rep else "no available rep: waits for the sales manager",
        },
        owner=rep,
        sla_version=version,
        handoff_temperature=verdict.marketing_temperature,
        handed_off_at=now,
        **deadline_fields(version, verdict.marketing_temperature, now),
        assignment_no=F("assignment_no") + 1,
        accepted_at=None,
        picked_up_at=None,
        pickup_business_minutes=None,
        pickup_within_sla=None,
        rejection_reason="",
        recycle_at=None,
    )


# ---------------------------------------------------------------------------------------------------------
# Ingest

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_TEXT_LIMITS = {
    "email": 254,
    "first_name": 150,
    "last_name": 150,
    "job_title": 200,
    "source": 100,
    "company_name": 200,
    "company_industry": 100,
}


def clean_lead_data(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise lead fields; LeadValidationError names each bad field. Unknown keys are refused."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(LEAD_FIELDS)):
        errors[key] = ["Unknown field."]
    for key, limit in _TEXT_LIMITS.items():
        if key not in data:
            continue
        value = data[key] if data[key] is not None else ""
        if not isinstance(value, str):
            errors[key] = ["Must be text."]
        elif "\x00" in value:
            errors[key] = [NUL_MESSAGE]
        elif len(value.strip()) > limit:
            errors[key] = [f"At most {limit} characters."]
        else:
            out[key] = value.strip()
    if out.get("email") and ("@" not in out["email"] or " " in out["email"]):
        errors["email"] = ["Enter a valid e-mail address."]
    if "company_country" in data:
        country = data["company_country"] or ""
        if not isinstance(country, str) or (country and not _COUNTRY.match(country)):
            errors["company_country"] = ["Use a two-letter ISO country code, such as PL."]
        else:
            out["company_country"] = country.upper()
    if "company_employees" in data:
        value = data["company_employees"]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**8
        ):
            errors["company_employees"] = ["Must be a whole number from 0 to 100 000 000."]
        else:
            out["company_employees"] = value
    if "company_annual_revenue" in data:
        value = data["company_annual_revenue"]
        if value is None:
            out["company_annual_revenue"] = None
        else:
            try:
                number = Decimal(str(value))
                if isinstance(value, bool) or not number.is_finite() or not 0 <= number < Decimal(10) ** 16:
                    raise InvalidOperation
                out["company_annual_revenue"] = number.quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors["company_annual_revenue"] = ["Must be a number from 0 below 10^16."]
    if errors:
        raise LeadValidationError(errors)
    return out


def lead_upsert(
    *,
    external_id: str,
    data: dict[str, Any],
    actor: Actor,
    agreement: Agreement | None = None,
    now: datetime | None = None,
) -> tuple[Lead, bool]:
    """Create or update the lead known to CRMs as `external_id`, then re-evaluate it."""
    now = now or timezone.now()
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 200:
        raise LeadValidationError({"external_id": ["Give the CRM's id of the lead (1 to 200 characters)."]})
    if "\x00" in external_id:
        raise LeadValidationError({"external_id": [NUL_MESSAGE]})
    external_id = external_id.strip()
    fields = clean_lead_data(data)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(external_id=external_id).first()
        created = False
        if lead is None:
            try:
                with transaction.atomic():
                    lead = Lead.objects.create(
                        external_id=external_id,
                        agreement=agreement or default_agreement(),
                        created_at=now,
                        updated_at=now,
                        **fields,
                    )
                created = True
            except IntegrityError:
                # A concurrent request created it first: this one becomes an update.
                lead = Lead.objects.select_for_update().get(external_id=external_id)
        if created:
            _event(lead, Kind.CREATED, actor, now, details={"source": lead.source})
        else:
            changed = {name: value for name, value in fields.items() if getattr(lead, name) != value}
            if not changed:
                return lead, False
            Lead.objects.filter(pk=lead.pk).update(updated_at=now, **changed)
            for name, value in {**changed, "updated_at": now}.items():
                setattr(lead, name, value)
            _event(lead, Kind.UPDATED, actor, now, details={"changed": sorted(changed)})
        # The lead is locked (or new) in this transaction already: evaluate it as it is, no second read.
        _evaluate_locked([lead], actor=actor, now=now, versions=VersionCache(), new=created)
    return lead, created


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    lead_ids: list[int] = field(default_factory=list)


def activities_check(
    items: list[dict[str, Any]], *, now: datetime, versions: VersionCache | None = None
) -> tuple[dict[int, dict[str, list[str]]], dict[str, Lead]]:
    """Errors per item index, then field; and the leads the items name (by external_id)."""
    errors: dict[int, dict[str, list[str]]] = {}
    lead_ids = {i.get("lead_external_id") for i in items if isinstance(i.get("lead_external_id"), str)}
    leads = {lead.external_id: lead for lead in Lead.objects.filter(external_id__in=lead_ids)}
    versions = versions if versions is not None else VersionCache()
    for index, item in enumerate(items):
        item_errors: dict[str, list[str]] = {}
        lead = leads.get(item.get("lead_external_id"))
        if lead is None:
            item_errors["lead_external_id"] = ["No lead with this external_id; send the lead first."]
        ext = item.get("external_id")
        if not isinstance(ext, str) or not ext.strip() or len(ext) > 200:
            item_errors["external_id"] = [
                "Give the activity's id in the sending system (1 to 200 characters)."
            ]
        elif "\x00" in ext:
            item_errors["external_id"] = [NUL_MESSAGE]
        occurred = item.get("occurred_at")
        if not isinstance(occurred, datetime) or occurred.tzinfo is None:
            item_errors["occurred_at"] = ["Give a date and time with a time zone."]
        elif occurred > now + CLOCK_SKEW:
            item_errors["occurred_at"] = ["Cannot be in the future."]
        details = item.get("details", {})
        if not isinstance(details, dict):
            item_errors["details"] = ["Must be an object."]
        elif "\\u0000" in json.dumps(details):
            item_errors["details"] = [NUL_MESSAGE]
        if lead is not None:
            version = versions.get_active(lead.agreement_id)
            known = version.clauses.temperature.activity_types if version else ()
            if item.get("type") not in known:
                item_errors["type"] = [
                    f"Not an activity type of the SLA in force; use one of: {', '.join(known)}."
                ]
        if item_errors:
            errors[index] = item_errors
    return errors, leads


def activities_ingest(
    *, items: Iterable[dict[str, Any]], actor: Actor, now: datetime | None = None
) -> IngestResult:
    """Store activities (all or nothing) and re-evaluate each lead that got new ones.

    Items: {lead_external_id, type, occurred_at (aware datetime), external_id, details}. Errors are keyed
    by the item's index, then its field. An external_id already stored is a duplicate, not an error.
    """
    now = now or timezone.now()
    items = list(items)
    versions = VersionCache()  # the checks and the evaluations look the SLA in force up once
    errors, leads = activities_check(items, now=now, versions=versions)
    if errors:
        raise LeadValidationError(errors)

    result = IngestResult()
    with transaction.atomic():
        ext_ids = [item["external_id"].strip() for item in items]
        existing = set(Activity.objects.filter(external_id__in=ext_ids).values_list("external_id", flat=True))
        fresh: dict[str, Activity] = {}
        for item, ext in zip(items, ext_ids, strict=True):
            if ext in existing or ext in fresh:
                result.duplicates += 1
                continue
            fresh[ext] = Activity(
                lead=leads[item["lead_external_id"]],
                type=item["type"],
                occurred_at=item["occurred_at"],
                external_id=ext,
                details=item.get("details") or {},
                created_at=now,
            )
        # ignore_conflicts: a concurrent batch that stored the same activity first wins; it still counts once.
        Activity.objects.bulk_create(fresh.values(), ignore_conflicts=True, batch_size=1000)
        result.stored = len(fresh)
        touched = sorted({activity.lead_id for activity in fresh.values()})
        leads_evaluate(lead_ids=touched, actor=actor, now=now, versions=versions)
        result.lead_ids = touched
    return result


# ---------------------------------------------------------------------------------------------------------
# Sales' actions


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _pickup_fields(lead: Lead, now: datetime) -> dict[str, Any]:
    version = lead.sla_version
    minutes = _minutes(business_time_between(lead.handed_off_at, now, version.calendar)) if version else None
    within = lead.pickup_deadline is not None and now <= lead.pickup_deadline
    return {"picked_up_at": now, "pickup_business_minutes": minutes, "pickup_within_sla": within}


def lead_accept(*, lead: Lead, actor: Actor, now: datetime | None = None) -> Lead:
    now = now or timezone.now()
    _require_transition(Kind.ACCEPTED, lead, "accept")
    _require_owner(lead, actor, "accept")
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
    _require_transition(Kind.REJECTED, lead, "reject")
    _require_owner(lead, actor, "reject")
    version = lead.sla_version
    choice = version.clauses.handoff.rejection_reason(reason) if version and isinstance(reason, str) else None
    errors: dict[str, list[str]] = {}
    if choice is None:
        codes = ", ".join(r.code for r in version.clauses.handoff.rejection_reasons) if version else ""
        errors["reason"] = [f"Choose a rejection reason of the SLA: {codes}."]
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        errors["note"] = ["Say why, in a few words: marketing learns from it."]
    elif len(note) > 2000:
        errors["note"] = ["At most 2000 characters."]
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
    _require_transition(Kind.QUALIFIED, lead, "qualify")
    _require_owner(lead, actor, "qualify")
    errors: dict[str, list[str]] = {}
    if not isinstance(product_potential, bool):
        errors["product_potential"] = ["Say yes or no."]
    months = purchase_timeframe_months
    if isinstance(months, bool) or not isinstance(months, int) or not 0 <= months <= 240:
        errors["purchase_timeframe_months"] = ["Give the months until purchase, from 0 to 240."]
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
    if not (permissions.is_owner(actor.user, lead) or permissions.is_manager(actor.user)):
        raise NotAllowed("Only the lead's owner or a sales manager can close it.")
    if outcome not in ("won", "lost"):
        raise LeadValidationError({"outcome": ["Choose won or lost."]})
    _require_transition(Kind.WON if outcome == "won" else Kind.LOST, lead, f"close as {outcome}")
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
    if not permissions.is_manager(actor.user):
        raise NotAllowed("Only a sales manager can reassign a lead.")
    _require_transition(Kind.REASSIGNED, lead, "reassign")
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
    if lead.status not in FEEDBACK_STATUSES:
        raise TransitionRefused(action="give feedback", current=lead.status)
    _require_owner(lead, actor, "give feedback on")
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
        elif len(answer) > 5000:
            errors[code] = ["At most 5000 characters."]
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
        _event(
            lead,
            Kind.FEEDBACK,
            actor,
            now,
            sla_version=lead.sla_version,
            clause="feedback",
            details={"answers": {questions[code]: text for code, text in clean.items()}},
        )
    return feedback


# ---------------------------------------------------------------------------------------------------------
# Periodic work


def leads_return_recycled(*, now: datetime | None = None, batch: int = 500) -> int:
    """Recycled leads whose waiting time is over go back to marketing's nurture. Returns how many."""
    now = now or timezone.now()
    due = list(
        Lead.objects.filter(status=Status.RECYCLED, recycle_at__lte=now).order_by("recycle_at")[:batch]
    )
    moved = 0
    for lead in due:
        try:
            lead_transition(
                lead=lead,
                to=Status.NURTURING,
                actor=Actor.system(),
                kind=Kind.RETURNED,
                action="return to nurture",
                now=now,
                version=lead.sla_version,
                clause=f"handoff.rejection.{lead.rejection_reason}" if lead.rejection_reason else "",
                reason=lead.rejection_reason,
                recycle_at=None,
                nurture_since=now,
            )
            moved += 1
        except TransitionConflict:
            continue  # another worker returned it first
    return moved
