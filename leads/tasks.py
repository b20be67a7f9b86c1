"""Celery tasks for leads: thin wrappers over domain functions that management commands also call."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from leads import services
from leads.services import escalation, tallies


@shared_task(name="leads.check_overdue_pickups")
def check_overdue_pickups() -> dict[str, int]:
    result = escalation.check_overdue_pickups()
    return {"breached": result.breached, "reminded": result.reminded}


@shared_task(name="leads.return_recycled")
def return_recycled_leads() -> int:
    return services.leads_return_recycled()


@shared_task(name="leads.compact_tallies")
def compact_tallies() -> int:
    """Fold the ended hours' tally deltas (the current hour still takes writes)."""
    return tallies.tallies_compact(before=tallies.hour_of(timezone.now()))
