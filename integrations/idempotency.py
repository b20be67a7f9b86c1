"""Idempotency-Key records: the first response to an API action, replayed to its retries.

A request claims its key by inserting the record (the unique constraint on user and key decides between
concurrent retries), runs, then stores its response on the record. Keys are kept for KEY_TTL, the window
in which an integration may retry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import IdempotencyRecord

KEY_TTL = timedelta(hours=24)
# A claim still without a response after this long belongs to a request that died (a killed worker): a
# retry may take it over. Far longer than any request may run (gunicorn's timeout is 30 s).
STALE_CLAIM = timedelta(minutes=5)


def _stale(now: datetime) -> Q:
    return Q(created_at__lt=now - KEY_TTL) | Q(status_code__isnull=True, created_at__lt=now - STALE_CLAIM)


def idempotency_claim(
    *, user: Any, key: str, request_hash: str, now: datetime | None = None
) -> tuple[IdempotencyRecord, bool]:
    """The record for `key`, and whether this request claimed it (True: run it; False: a retry)."""
    now = now or timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, request_hash=request_hash, created_at=now
                )
            return record, True
        except IntegrityError:
            # Take an expired or abandoned claim over; a live one is the first request's.
            if IdempotencyRecord.objects.filter(_stale(now), user=user, key=key).delete()[0]:
                continue
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is not None:
                return existing, False
            # Released between our insert and our read: try the insert again.
    # Three lost races in a row: answer as to a request still in progress, which the caller may retry.
    return IdempotencyRecord(user=user, key=key, request_hash=request_hash), False


def idempotency_store(*, record: IdempotencyRecord, status_code: int, body: str) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status_code, response=body)


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed unexpectedly, so that a retry really runs again."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than KEY_TTL; beat runs this hourly."""
    now = now or timezone.now()
    return IdempotencyRecord.objects.filter(created_at__lt=now - KEY_TTL).delete()[0]
