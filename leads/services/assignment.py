"""Who picks a lead up and by when: round-robin among the available reps, and the pickup deadline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from agreements.business_hours import add_business_hours, add_business_time
from agreements.models import Agreement, AgreementVersion
from leads.models import AssignmentCursor, Lead, LeadEvent
from leads.selectors import available_reps

Status = Lead.Status
Kind = LeadEvent.Kind


class RoundRobin:
    """Turns among a sales team's available reps; the turn is stored and locked, so two handoffs never
    share one. One object serves every assignment of a transaction (a sweep batch, an ingest batch): it
    locks the cursor and reads the reps once, and writes the last turn back with `save()`.

    Use inside a transaction: the cursor stays locked until it commits.
    """

    def __init__(self, agreement: Agreement, now: datetime) -> None:
        self.agreement = agreement
        self.now = now
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
            self._cursor.updated_at = self.now
            self._cursor.save(update_fields=["last_user", "updated_at"])


class Turns:
    """Each agreement's RoundRobin for the assignments of one transaction; `save()` before it commits."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._by_agreement: dict[int, RoundRobin] = {}

    def of(self, agreement: Agreement) -> RoundRobin:
        if agreement.pk not in self._by_agreement:
            self._by_agreement[agreement.pk] = RoundRobin(agreement, self.now)
        return self._by_agreement[agreement.pk]

    def save(self) -> None:
        for round_robin in self._by_agreement.values():
            round_robin.save()
        self._by_agreement.clear()


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
