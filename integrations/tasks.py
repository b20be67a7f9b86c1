"""Celery tasks of integrations: thin wrappers over the functions that management commands also call."""

from __future__ import annotations

from celery import shared_task

from integrations import idempotency
from integrations.outbox import deliver_outbox, deliver_outbox_lane

__all__ = ["deliver_outbox", "deliver_outbox_lane", "purge_idempotency_keys"]


@shared_task(name="integrations.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.idempotency_purge()
