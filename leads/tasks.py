"""Celery tasks for leads: thin wrappers over domain functions that management commands also call."""

from __future__ import annotations

from celery import shared_task

from leads import services
from leads.services import escalation


@shared_task(name="leads.check_overdue_pickups")
def check_overdue_pickups() -> dict[str, int]:
    result = escalation.check_overdue_pickups()
    return {"breached": result.breached, "reminded": result.reminded}


@shared_task(name="leads.return_recycled")
def return_recycled_leads() -> int:
    return services.leads_return_recycled()
