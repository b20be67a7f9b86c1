"""Celery tasks for leads: thin wrappers over leads.services."""

from __future__ import annotations

from celery import shared_task

from leads import services


@shared_task(name="leads.return_recycled")
def return_recycled_leads() -> int:
    return services.leads_return_recycled()
