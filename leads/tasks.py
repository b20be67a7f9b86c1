"""Celery tasks for leads: thin wrappers over domain functions that management commands also call."""

from __future__ import annotations

from celery import shared_task

from leads import escalation, idempotency, outbox, services


@shared_task(name="leads.check_overdue_pickups")
def check_overdue_pickups() -> dict[str, int]:
    result = escalation.check_overdue_pickups()
    return {"breached": result.breached, "reminded": result.reminded}


@shared_task(name="leads.deliver_outbox")
def deliver_outbox() -> int:
    return outbox.outbox_deliver()


@shared_task(name="leads.return_recycled")
def return_recycled_leads() -> int:
    return services.leads_return_recycled()


@shared_task(name="leads.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.idempotency_purge()
