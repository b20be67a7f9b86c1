"""Webhooks for integrations, signed as Standard Webhooks specifies (standardwebhooks.com), delivered
through the outbox (after commit, retried with backoff).

Each delivery is an HTTP POST of a JSON body with these headers:

    webhook-id: msg_<id>            the same on every retry of one delivery: receivers drop repeats by it
    webhook-timestamp: <unix seconds of this attempt>
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">  (two, during a rotation)

The key is the subscription's secret (whsec_<base64>), made by SLA Portal and shown once. Any Standard
Webhooks library verifies a delivery, e.g. Python's `standardwebhooks.Webhook(secret).verify(body,
headers)`. A non-2xx answer, or no status and headers within WEBHOOK_DEADLINE_SECONDS all told, is a
failure, retried with backoff. A receiver that keeps failing is turned off (`receiver_failed`) and the
subscription's maker is told.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from integrations.api.serializers import lead_data
from integrations.models import Outbox, WebhookSubscription
from integrations.netguard import guarded_open
from integrations.outbox import SENDERS, Undeliverable, lane_of, outbox_add, outbox_add_many, outbox_email
from leads.models import Lead
from reporting.models import MonthlyReport
from slaportal.formats import utc_iso
from slaportal.roles import Role, users_with


class WebhookRefused(Exception):
    """The receiver did not take the delivery (an HTTP error status); the outbox tries again later."""


SECRET_PREFIX = "whsec_"
# How long the secret a rotation replaces keeps signing, so receivers can switch without losing a delivery.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    # A secret a client chose before SLA Portal made them is its own key, byte for byte.
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    return secret.encode()


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign now: the subscription's, and during a rotation's overlap the one before."""
    current = [subscription.secret]
    if (
        subscription.previous_secret
        and subscription.previous_secret_until
        and now < subscription.previous_secret_until
    ):
        current.append(subscription.previous_secret)
    return current


def signature(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: one v1 signature per secret, separated by spaces."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


def subscription_create(
    *, url: str, events: list[str], is_active: bool = True, created_by: Any = None
) -> tuple[WebhookSubscription, str]:
    """A subscription with a secret made here; the secret is returned to be shown once."""
    secret = new_secret()
    subscription = WebhookSubscription(
        url=url, events=events, is_active=is_active, secret=secret, created_by=created_by
    )
    subscription.full_clean()
    subscription.save()
    return subscription, secret


def subscription_rotate_secret(*, subscription: WebhookSubscription, now: datetime | None = None) -> str:
    """A new secret; the old one keeps signing for ROTATION_OVERLAP. Returns the new secret, shown once."""
    now = now or timezone.now()
    secret = new_secret()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        secret=secret, previous_secret=subscription.secret, previous_secret_until=now + ROTATION_OVERLAP
    )
    subscription.refresh_from_db()
    return secret


def webhooks_emit(
    event: str, data: dict[str, Any] | Callable[[], dict[str, Any]], *, now: datetime | None = None
) -> int:
    """Queue `event` for every active subscription that wants it. Call inside the causing transaction.

    `data` may be a function: every lead transition calls this, and most have no subscriber, so the
    payload is only built for one that has. `now` is the causing change's clock: the event occurred then.
    """
    build = data if callable(data) else (lambda: data)
    return webhooks_emit_many(event, [build], now=now or timezone.now())


def webhooks_emit_many(event: str, data: list[Callable[[], dict[str, Any]]], *, now: datetime) -> int:
    """`webhooks_emit` for many subjects of one event (a batch transition): one check of who subscribes,
    one multi-row insert of the deliveries, one nudge."""
    subscriptions = [
        pk
        for pk, events in WebhookSubscription.objects.filter(is_active=True).values_list("pk", "events")
        if event in events
    ]
    if not subscriptions or not data:
        return 0
    payloads = [
        {"subscription": subscription, "event": event, "body": _body(event, build(), now)}
        for build in data
        for subscription in subscriptions
    ]
    return len(outbox_add_many(channel=Outbox.Channel.WEBHOOK, payloads=payloads, now=now))


def _body(event: str, data: dict[str, Any], now: datetime) -> str:
    return json.dumps(
        {"event": event, "occurred_at": utc_iso(now), "data": data},
        cls=JSONEncoder,  # DRF's, so the lead reads exactly as in API responses
        separators=(",", ":"),
    )


def _queue(subscription: WebhookSubscription, event: str, body: str, now: datetime) -> Outbox:
    payload = {"subscription": subscription.pk, "event": event, "body": body}
    return outbox_add(channel=Outbox.Channel.WEBHOOK, payload=payload, now=now)


def delivery_id(message: Outbox | int | None) -> str:
    """The webhook-id of a delivery: the same on every retry, and signed with it."""
    return f"msg_{message.pk if isinstance(message, Outbox) else message}"


def event_data(subject: Any, sla: dict[str, Any], details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event's payload: a lead as the API shows it, with the SLA version, clause and reason behind the
    step and what the step recorded (a rejection's note, a feedback's answers); or a report with its
    address."""
    if isinstance(subject, Lead):
        return {"lead": lead_data(subject), "sla": sla, "details": details or {}}
    if isinstance(subject, MonthlyReport):
        return {
            "id": subject.pk,
            "agreement": subject.agreement_id,
            "period": subject.period,
            "url": settings.SITE_URL + reverse("reporting:report", args=[subject.pk]),
        }
    raise TypeError(f"No webhook payload for {type(subject).__name__}.")


TEST_EVENT = "webhook.test"


def webhook_send_test(*, subscription: WebhookSubscription, now: datetime | None = None) -> Outbox:
    """A `webhook.test` delivery to this subscription alone, whatever events it chose: a receiver's
    check that it verifies and answers, sent and retried like any other delivery."""
    now = now or timezone.now()
    with transaction.atomic():
        return _queue(
            subscription, TEST_EVENT, _body(TEST_EVENT, {"subscription": subscription.pk}, now), now
        )


def deliveries_of(subscription: WebhookSubscription) -> QuerySet[Outbox]:
    """A subscription's deliveries, newest first."""
    return Outbox.objects.filter(lane=lane_of(Outbox.Channel.WEBHOOK, {"subscription": subscription.pk}))


def _deliver(payload: dict[str, Any], message_id: int | None = None) -> None:
    subscription = WebhookSubscription.objects.filter(pk=payload["subscription"], is_active=True).first()
    if subscription is None:
        raise Undeliverable("The subscription was deleted or deactivated; not sent.")
    body = payload["body"].encode()
    # The time of this attempt, not of the change: receivers refuse timestamps far from their clock.
    timestamp = int(time.time())
    msg_id = delivery_id(message_id)
    keys = signing_secrets(subscription, timezone.now())
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "SLA-Portal-Webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(keys, msg_id, timestamp, body),
            "X-SLA-Portal-Event": payload["event"],  # for routing; the body names it too
        },
    )
    try:
        _post(request)
    except Exception as exc:
        receiver_failed(subscription, reason=f"{type(exc).__name__}: {exc}", now=timezone.now())
        raise
    receiver_answered(subscription)


def _post(request: urllib.request.Request) -> None:
    try:
        with guarded_open(request, timeout=settings.WEBHOOK_DEADLINE_SECONDS) as response:
            if not 200 <= response.status < 300:
                raise WebhookRefused(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise WebhookRefused(
                f"HTTP {exc.code}: redirects are not followed; subscribe the final URL."
            ) from None
        raise WebhookRefused(f"HTTP {exc.code}") from None


def receiver_answered(subscription: WebhookSubscription) -> None:
    if subscription.consecutive_failures:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            consecutive_failures=0, failing_since=None
        )


def receiver_failed(subscription: WebhookSubscription, *, reason: str, now: datetime) -> None:
    """Count a failed delivery. A receiver that has failed WEBHOOK_DISABLE_AFTER_FAILURES times in a row,
    over at least WEBHOOK_DISABLE_AFTER_DAYS days, is turned off, and the subscription's maker (or, if
    none, every admin) is told by e-mail; its pending deliveries then fail unsent."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.consecutive_failures += 1
        locked.failing_since = locked.failing_since or now
        days = settings.WEBHOOK_DISABLE_AFTER_DAYS
        if (
            locked.is_active
            and locked.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
            and now - locked.failing_since >= timedelta(days=days)
        ):
            locked.is_active = False
            locked.disabled_at = now
            locked.disabled_reason = (
                f"{locked.consecutive_failures} deliveries in a row failed over {days} days or more; "
                f"the last: {reason}"
            )[:300]
            _tell_maker(locked, now)
        locked.save(
            update_fields=[
                "consecutive_failures",
                "failing_since",
                "is_active",
                "disabled_at",
                "disabled_reason",
            ]
        )


def _tell_maker(subscription: WebhookSubscription, now: datetime) -> None:
    maker = subscription.created_by
    if maker is not None and maker.is_active and maker.email:
        to = [maker.email]
    else:
        to = [user.email for user in users_with(Role.ADMIN) if user.email]
    outbox_email(
        to=to,
        subject=f"SLA Portal turned off the webhook to {subscription.url}",
        body=(
            f"Deliveries to {subscription.url} (subscription {subscription.pk}) have failed since "
            f"{utc_iso(subscription.failing_since)}: {subscription.disabled_reason}\n\n"
            "Nothing more is sent to it. Once the receiver answers again, turn the subscription back on "
            "(is_active, in the API or the admin); failed deliveries can be sent again from the admin."
        ),
        now=now,
    )


SENDERS[Outbox.Channel.WEBHOOK] = _deliver
