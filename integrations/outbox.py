"""The outbox: e-mails (and webhooks) recorded with the change that caused them, delivered after commit.

`outbox_email` must be called inside the transaction that makes the change; if that transaction rolls
back, the message never existed. After commit a Celery task is nudged to deliver at once; if the broker
is down the nudge is dropped and beat's sweep (every minute) delivers later. Delivery claims rows with
SKIP LOCKED, so two workers never send the same message twice at the same time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import Outbox

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """A sender's word that retrying cannot help (its subscription is gone): the message fails at once."""


# channel -> function(payload, message id) that raises on failure; integrations.webhooks registers its own.
SENDERS: dict[str, Callable[[dict[str, Any], int | None], None]] = {}


def _send_email(payload: dict[str, Any], message_id: int | None = None) -> None:
    EmailMessage(
        subject=payload["subject"],
        body=payload["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=payload["to"],
    ).send(fail_silently=False)


SENDERS[Outbox.Channel.EMAIL] = _send_email


# Finding a broker down costs the publisher about two seconds (the client's connection retries). After
# a failure this process stops nudging for a while, so an outage slows one request, not every one.
NUDGE_PAUSE_AFTER_FAILURE = 30.0
_nudges_paused_until = 0.0


def _nudge() -> None:
    global _nudges_paused_until
    if time.monotonic() < _nudges_paused_until:
        return
    try:
        deliver_outbox.apply_async(retry=False)
    except Exception as exc:  # the broker is down: beat's sweep delivers later
        _nudges_paused_until = time.monotonic() + NUDGE_PAUSE_AFTER_FAILURE
        log.warning("Outbox delivery not queued (%s); the periodic sweep will send it.", exc)


def _nudge_after_commit() -> None:
    # One delivery task sends every due message, so one nudge per transaction is enough.
    pending = transaction.get_connection().run_on_commit
    if not any(callback is _nudge for _, callback, _ in pending):
        transaction.on_commit(_nudge)


def outbox_add(*, channel: str, payload: dict[str, Any], now: datetime | None = None) -> Outbox:
    """Record a message, due at `now`: the clock of the change that caused it (the wall clock if none)."""
    now = now or timezone.now()
    message = Outbox.objects.create(channel=channel, payload=payload, next_attempt_at=now, created_at=now)
    _nudge_after_commit()
    return message


def outbox_email(*, to: list[str], subject: str, body: str, now: datetime | None = None) -> Outbox | None:
    recipients = sorted({address for address in to if address})
    if not recipients:
        return None
    return outbox_add(
        channel=Outbox.Channel.EMAIL, payload={"to": recipients, "subject": subject, "body": body}, now=now
    )


ERASED = "[erased]"


def outbox_forget_lead(*, lead_id: int, lead_url: str) -> int:
    """Erasure reaches the outbox too: e-mails and webhook deliveries that carry the lead's data keep
    their record (when, where, how it went) but lose their text, and those not yet sent are not sent."""
    lead_deliveries = Q(channel=Outbox.Channel.WEBHOOK, payload__body__icontains=f'"lead":{{"id":{lead_id},')
    about = Outbox.objects.filter(
        Q(channel=Outbox.Channel.EMAIL, payload__body__icontains=lead_url)
        # The notice of the erasure itself names no one. (Every webhook payload has an event; an e-mail's
        # has none, and a missing key would make an exclude drop it too.)
        | (lead_deliveries & ~Q(payload__event="lead.erased"))
    )
    forgotten = 0
    for message in about.select_for_update():
        message.payload = {
            **message.payload,
            "body": ERASED,
            **({"subject": ERASED, "to": []} if message.channel == Outbox.Channel.EMAIL else {}),
        }
        if message.status == Outbox.Status.PENDING:
            message.status = Outbox.Status.FAILED
            message.last_error = "Not sent: the person's data was erased first."
        message.save(update_fields=["payload", "status", "last_error"])
        forgotten += 1
    return forgotten


def outbox_resend(*, message_ids: list[int], now: datetime | None = None) -> int:
    """Send these messages again now, from a fresh count of attempts (admins, after fixing the cause)."""
    with transaction.atomic():
        count = Outbox.objects.filter(pk__in=message_ids).update(
            status=Outbox.Status.PENDING, next_attempt_at=now or timezone.now(), attempts=0
        )
        _nudge_after_commit()
    return count


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def outbox_deliver(*, now: datetime | None = None, batch: int = 100) -> int:
    """Send what is due. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                Outbox.objects.select_for_update(skip_locked=True)
                .filter(status=Outbox.Status.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")[:batch]
            )
            if not due:
                return sent
            for message in due:
                message.attempts += 1
                try:
                    SENDERS[message.channel](message.payload, message.pk)
                except Exception as exc:
                    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if isinstance(exc, Undeliverable) or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                        message.status = Outbox.Status.FAILED
                    message.next_attempt_at = now + backoff(message.attempts)
                else:
                    message.status = Outbox.Status.SENT
                    message.sent_at = now
                    message.last_error = ""
                    sent += 1
                message.save(update_fields=["attempts", "status", "next_attempt_at", "last_error", "sent_at"])


@shared_task(name="integrations.deliver_outbox")
def deliver_outbox() -> int:
    """The task that beat runs every minute and that a commit nudges: here, beside what it runs."""
    return outbox_deliver()
