"""The outbox: e-mails (and webhooks) recorded with the change that caused them, delivered after commit.

`outbox_email` must be called inside the transaction that makes the change; if that transaction rolls
back, the message never existed. After commit a Celery task is nudged to deliver at once; if the broker
is down the nudge is dropped and beat's sweep (every minute) delivers later.

Messages to one destination form a lane (e-mail, or one webhook subscription), and each lane is delivered
by its own task, so a slow or failing receiver holds up its own messages and nothing else. A message is
claimed with a lease and sent outside any transaction: no row lock or transaction is held while a mail
server or a receiver takes its time, and each result is recorded by itself, so a worker killed mid-batch
sends again at most the message it was sending (receivers drop repeats by webhook-id).
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
from django.db.models import F, Q, QuerySet
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


EMAIL_LANE = "email"


def lease() -> timedelta:
    """How long a claim holds: well past the longest send (a webhook's whole deadline; an SMTP
    conversation, a few steps of EMAIL_TIMEOUT each). One left by a worker that died lapses then, and
    the message goes with a later sweep."""
    longest = max(settings.WEBHOOK_DEADLINE_SECONDS, settings.EMAIL_TIMEOUT or 60)
    return timedelta(seconds=4 * longest + 60)


def lane_of(channel: str, payload: dict[str, Any]) -> str:
    if channel == Outbox.Channel.WEBHOOK:
        return f"webhook:{payload.get('subscription')}"
    return EMAIL_LANE


def outbox_add(*, channel: str, payload: dict[str, Any], now: datetime | None = None) -> Outbox:
    """Record a message, due at `now`: the clock of the change that caused it (the wall clock if none)."""
    now = now or timezone.now()
    message = Outbox.objects.create(
        channel=channel,
        lane=lane_of(channel, payload),
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )
    _nudge_after_commit()
    return message


def outbox_add_many(*, channel: str, payloads: list[dict[str, Any]], now: datetime) -> list[Outbox]:
    """`outbox_add` for many messages at once: one multi-row insert, one nudge after commit."""
    messages = Outbox.objects.bulk_create(
        Outbox(
            channel=channel,
            lane=lane_of(channel, payload),
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for payload in payloads
    )
    if messages:
        _nudge_after_commit()
    return messages


def outbox_email(*, to: list[str], subject: str, body: str, now: datetime | None = None) -> Outbox | None:
    """One e-mail to `to` (none when no address is left)."""
    sent = outbox_email_many([(to, subject, body)], now=now or timezone.now())
    return sent[0] if sent else None


def outbox_email_many(mails: list[tuple[list[str], str, str]], *, now: datetime) -> list[Outbox]:
    """`outbox_email` for many (to, subject, body) at once: one insert."""
    payloads = []
    for to, subject, body in mails:
        recipients = sorted({address for address in to if address})
        if recipients:
            payloads.append({"to": recipients, "subject": subject, "body": body})
    return outbox_add_many(channel=Outbox.Channel.EMAIL, payloads=payloads, now=now)


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
        now = now or timezone.now()
        # Not one a worker is sending right now: it would go twice.
        sending = Q(status=Outbox.Status.PENDING, locked_until__gt=now)
        count = (
            Outbox.objects.filter(pk__in=message_ids)
            .exclude(sending)
            .update(status=Outbox.Status.PENDING, next_attempt_at=now, attempts=0, locked_until=None)
        )
        _nudge_after_commit()
    return count


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _due(now: datetime) -> QuerySet[Outbox]:
    unclaimed = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    return Outbox.objects.filter(unclaimed, status=Outbox.Status.PENDING, next_attempt_at__lte=now)


def due_lanes(now: datetime) -> list[str]:
    """The lanes with a message due, e-mail first."""
    lanes = set(_due(now).values_list("lane", flat=True).distinct())
    return sorted(lanes, key=lambda lane: (lane != EMAIL_LANE, lane))


def _claim(pk: int, now: datetime, until: datetime) -> bool:
    # One UPDATE that only one worker wins, on any database; the claim counts as the attempt, so a send
    # that kills its worker is counted too.
    return bool(_due(now).filter(pk=pk).update(locked_until=until, attempts=F("attempts") + 1))


def _busy(lane: str, now: datetime) -> bool:
    """Whether another worker is sending in this lane: one at a time per destination, so a slow receiver
    takes one worker slot, not all of them."""
    return Outbox.objects.filter(lane=lane, status=Outbox.Status.PENDING, locked_until__gt=now).exists()


def deliver_lane(lane: str, *, now: datetime | None = None, batch: int = 100) -> int:
    """Send what is due in one lane, oldest first, unless another worker is at it. The lane's first
    failure ends the run: the rest waits for the next sweep rather than for the same slow or broken
    destination. Returns how many were sent."""
    now = now or timezone.now()
    started = time.monotonic()

    def clock() -> datetime:
        # `now` is the run's clock for what it records (a test's, or the sweep's); leases also count the
        # time the run has taken, so a claim made late in a long run is not already lapsed.
        return now + timedelta(seconds=time.monotonic() - started)

    due = _due(now).filter(lane=lane).order_by("next_attempt_at", "pk").values_list("pk", flat=True)
    sent = 0
    for pk in list(due[:batch]):
        at = clock()
        if _busy(lane, at):
            break
        until = at + lease()
        if not _claim(pk, at, until):
            continue  # another worker has it
        message = Outbox.objects.get(pk=pk)
        # The result is recorded only while the claim is ours and the message still pending: not over
        # another worker's claim, nor over an erasure that failed the message meanwhile.
        ours = Outbox.objects.filter(pk=pk, locked_until=until, status=Outbox.Status.PENDING)
        if message.attempts > settings.OUTBOX_MAX_ATTEMPTS:
            # Its sends never finished (a worker died each time): give up rather than try for ever.
            ours.update(
                status=Outbox.Status.FAILED,
                last_error="Gave up: no attempt to send it ever finished.",
                locked_until=None,
            )
            continue
        try:
            SENDERS[message.channel](message.payload, message.pk)
        except Exception as exc:
            gave_up = isinstance(exc, Undeliverable) or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
            ours.update(
                status=Outbox.Status.FAILED if gave_up else Outbox.Status.PENDING,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                next_attempt_at=now + backoff(message.attempts),
                locked_until=None,
            )
            if not isinstance(exc, Undeliverable):
                break
        else:
            ours.update(status=Outbox.Status.SENT, sent_at=now, last_error="", locked_until=None)
            sent += 1
    return sent


def outbox_deliver(*, now: datetime | None = None, batch: int = 100) -> int:
    """Send what is due in every lane, here, one lane after another (the management command, and tests).
    Returns how many were sent."""
    now = now or timezone.now()
    return sum(deliver_lane(lane, now=now, batch=batch) for lane in due_lanes(now))


@shared_task(name="integrations.deliver_outbox")
def deliver_outbox() -> int:
    """Beat's sweep and a commit's nudge: a task per lane with something due, which the worker runs side
    by side (its pool's concurrency). Here, beside what it runs."""
    lanes = due_lanes(timezone.now())
    for lane in lanes:
        deliver_outbox_lane.delay(lane)
    return len(lanes)


@shared_task(name="integrations.deliver_outbox_lane")
def deliver_outbox_lane(lane: str) -> int:
    return deliver_lane(lane)
