"""Evaluation and handoff: a lead measured against the SLA in force, and handed to sales when it says so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements import selectors as agreement_selectors
from agreements.evaluation import ActivitySnapshot, Evaluation, LeadSnapshot, evaluate
from agreements.models import AgreementVersion
from leads.models import Activity, Lead, LeadEvent
from leads.services import batch_sql, tallies
from leads.services.assignment import Turns, deadline_fields
from leads.services.notices import new_owner_note
from leads.services.transitions import Move, adopt, leads_transition, record_events
from leads.services.vocabulary import Actor
from slaportal.formats import utc_iso
from slaportal.notices import notify_many

Status = Lead.Status
Kind = LeadEvent.Kind


class InForce(dict):
    """Active versions by agreement id, for one request or batch (clauses are parsed once)."""

    def get_active(self, agreement_id: int) -> AgreementVersion | None:
        if agreement_id not in self:
            self[agreement_id] = agreement_selectors.active_version_for_evaluation(agreement_id=agreement_id)
        return self[agreement_id]

    def know(self, agreement_id: int, version_id: int | None) -> None:
        """Take the version in force from a query that read its id with something else (no query here;
        its clauses come from the cache of signed versions)."""
        if agreement_id not in self:
            self[agreement_id] = agreement_selectors.signed_version(version_id) if version_id else None


def leads_evaluate(
    *,
    lead_ids: Iterable[int],
    actor: Actor,
    now: datetime | None = None,
    versions: InForce | None = None,
) -> dict[int, Evaluation | None]:
    """Re-evaluate these leads, each against its agreement's SLA in force, handing off those it says to.

    A batch costs two reads whatever its size: the leads (locked) and their activities in the window.
    """
    now = now or timezone.now()
    versions = versions if versions is not None else InForce()
    with transaction.atomic():
        # One evaluation of a lead at a time: two activity batches for it must not both hand it off.
        # Locked in id order, so two batches that share leads wait for each other instead of deadlocking.
        leads = list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk"))
        return evaluate_locked(leads, actor=actor, now=now, versions=versions)


def evaluate_locked(
    leads: list[Lead],
    *,
    actor: Actor,
    now: datetime,
    versions: InForce,
    before: list[tuple[Lead, str, dict[str, Any]]] | None = None,
    changes: dict[int, dict[str, Any]] | None = None,
) -> dict[int, Evaluation | None]:
    """Evaluate leads this transaction holds locked. The lead objects are brought up to date.

    `before`: the caller's own events, (lead, kind, fields), written ahead of the evaluation's in the same
    INSERT; `changes`: columns the caller changed on a lead (by id), written in the evaluation's UPDATE.
    """
    in_force = {
        agreement_id: versions.get_active(agreement_id) for agreement_id in {x.agreement_id for x in leads}
    }
    windows = {
        agreement_id: now - timedelta(days=version.clauses.temperature.window_days)
        for agreement_id, version in in_force.items()
        if version is not None
    }
    history: dict[int, list[ActivitySnapshot]] = {lead.pk: [] for lead in leads}
    if windows:
        rows = Activity.objects.filter(
            lead_id__in=list(history), occurred_at__gt=min(windows.values()), occurred_at__lte=now
        ).order_by("lead_id", "-occurred_at", "-pk")  # each lead's newest first, as Activity orders
        for lead_id, kind, at in rows.values_list("lead_id", "type", "occurred_at"):
            history[lead_id].append(ActivitySnapshot(kind, at))
    results: dict[int, Evaluation | None] = {}
    batch = _Batch(before, changes)
    for lead in leads:
        version = in_force[lead.agreement_id]
        since = windows.get(lead.agreement_id)
        activities = tuple(a for a in history[lead.pk] if since is not None and a.occurred_at > since)
        results[lead.pk] = _evaluate(lead, version, activities, actor, now, batch)
    batch.write(actor, now)
    return results


def evaluate_new(
    lead: Lead, *, actor: Actor, now: datetime, versions: InForce, created: dict[str, Any]
) -> bool:
    """Evaluate a lead not stored yet (so without activities) and INSERT it with its verdict, its
    `created` event (those fields) ahead of the evaluation's. False, with nothing written, when a lead with
    its external_id exists already (a concurrent request's): the caller updates that one instead."""
    batch = _Batch()
    _evaluate(lead, versions.get_active(lead.agreement_id), (), actor, now, batch)
    if not batch_sql.insert_new(lead, unique="external_id"):
        return False
    batch.updates.clear()  # the INSERT carried them
    batch.before.append((lead, Kind.CREATED, created))
    batch.tallies.update(
        tallies.status_deltas(agreement_id=lead.agreement_id, at=now, from_status=None, to_status=lead.status)
    )
    batch.write(actor, now)
    return True


class _Batch:
    """What evaluating a batch of leads writes, written at once: the leads' new verdicts (one UPDATE on
    PostgreSQL), the events (one INSERT) and the handoffs (one batch transition)."""

    def __init__(
        self,
        before: list[tuple[Lead, str, dict[str, Any]]] | None = None,
        changes: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        self.before = list(before or [])
        self.changes = changes or {}
        self.updates: list[tuple[Lead, dict[str, Any]]] = []
        self.events: list[tuple[Lead, dict[str, Any]]] = []
        self.handoffs: list[tuple[Lead, Evaluation, AgreementVersion]] = []
        self.tallies: Counter = Counter()

    def write(self, actor: Actor, now: datetime) -> None:
        updates = [(lead, {**self.changes.get(lead.pk, {}), **u}) for lead, u in self.updates]
        columns = sorted({column for _, u in updates for column in u} - {"updated_at"})
        if len(updates) > 1 and batch_sql.applies([u for _, u in updates]):
            rows = [(lead.pk, lead.status, ..., lead.status, u) for lead, u in updates]
            if len(batch_sql.update_each(rows, columns, now)) != len(rows):
                # The leads are locked (or new) in this transaction: a missing one is a bug, not a race.
                raise RuntimeError("A lead being evaluated changed under its lock.")
        else:
            for lead, u in updates:
                Lead.objects.filter(pk=lead.pk).update(**u)
        record_events(
            self.before + [(lead, Kind.EVALUATED, fields) for lead, fields in self.events], actor, now
        )
        tallies.tallies_add(self.tallies)
        if self.handoffs:
            _hand_off(self.handoffs, now)


def _evaluate(
    lead: Lead,
    version: AgreementVersion | None,
    activities: tuple[ActivitySnapshot, ...],
    actor: Actor,
    now: datetime,
    batch: _Batch,
) -> Evaluation | None:
    if version is None:
        lead.explanation = {"evaluated_at": utc_iso(now), "error": "No version of the SLA is in force."}
        batch.updates.append((lead, {"explanation": lead.explanation}))
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
        "evaluated_at": utc_iso(now),
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
    if lead.mql_at is not None or verdict.is_mql:
        batch.tallies.update(
            tallies.mql_deltas(
                agreement_id=lead.agreement_id,
                mql_at=lead.mql_at or now,
                became=lead.mql_at is None,
                icp_before=bool(lead.icp_fit),
                icp_now=verdict.icp_fit,
            )
        )
    batch.updates.append((lead, updates))
    for name, value in updates.items():
        setattr(lead, name, value)
    if changed:
        batch.events.append(
            (
                lead,
                {
                    "sla_version": version,
                    "clause": verdict.deciding_clause,
                    "details": {
                        "marketing_temperature": verdict.marketing_temperature,
                        "icp_fit": verdict.icp_fit,
                        "is_mql": verdict.is_mql,
                    },
                },
            )
        )
    if transfer and lead.status == Status.NURTURING:
        batch.handoffs.append((lead, verdict, version))
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


NO_REP = "no available rep: waits for the sales manager"


def _hand_off(handoffs: list[tuple[Lead, Evaluation, AgreementVersion]], now: datetime) -> None:
    """Hand these leads to sales in one batch transition: each an owner by round-robin (one locked
    cursor per agreement for the batch), its deadline, and a notice to its new owner."""
    turns = Turns(now)
    moves = []
    for lead, verdict, version in handoffs:
        rep = turns.of(version.agreement).next()
        moves.append(
            Move(
                lead=lead,
                to=Status.HANDED_OFF,
                changes={
                    "owner": rep,
                    "sla_version": version,
                    "handoff_temperature": verdict.marketing_temperature,
                    "handed_off_at": now,
                    **deadline_fields(version, verdict.marketing_temperature, now),
                    "assignment_no": lead.assignment_no + 1,  # the lead is locked: what was read stands
                    "accepted_at": None,
                    "picked_up_at": None,
                    "pickup_business_minutes": None,
                    "pickup_within_sla": None,
                    "rejection_reason": "",
                    "recycle_at": None,
                },
                details={
                    "temperature": verdict.marketing_temperature,
                    "pickup_hours": verdict.pickup_hours,
                    "owner": rep.username if rep else None,
                    "assignment": "handoff.assignment"
                    if rep
                    else "no available rep: waits for the sales manager",
                },
                clause=verdict.deciding_clause,
                version=version,
            )
        )
    turns.save()
    moved = leads_transition(
        moves=moves, actor=Actor.system(), kind=Kind.HANDED_OFF, action="hand off", now=now
    )
    notes = [
        new_owner_note(lead, f"was handed off to you as a {verdict.marketing_temperature} lead")
        for lead, (_, verdict, _) in zip(moved, handoffs, strict=True)
        if lead.owner is not None
    ]
    notify_many(notes, now=now)
    # The callers hold the lead objects they passed in: they read as the leads now are.
    for lead, (passed, _, _) in zip(moved, handoffs, strict=True):
        adopt(passed, lead)
