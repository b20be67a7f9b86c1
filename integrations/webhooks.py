"""Signed webhooks for integrations, delivered through the outbox (after commit, retried with backoff).

Each delivery is an HTTP POST of a JSON body with these headers:

    X-SLA-Portal-Event: lead.accepted
    X-SLA-Portal-Delivery: <outbox id; the same on every retry of one delivery>
    X-SLA-Portal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the secret>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant time, and
rejects timestamps too far from its clock (replays). A non-2xx answer or no answer within 10 s is a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from integrations.api.serializers import LeadSerializer
from integrations.models import Outbox, WebhookSubscription
from integrations.netguard import guarded_open
from integrations.outbox import SENDERS, Undeliverable, outbox_add
from leads.models import Lead
from reporting.models import MonthlyReport

TIMEOUT_SECONDS = 10


class WebhookRefused(Exception):
    """The receiver did not take the delivery (an HTTP error status); the outbox tries again later."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def webhooks_emit(
    event: str, data: dict[str, Any] | Callable[[], dict[str, Any]], *, now: datetime | None = None
) -> int:
    """Queue `event` for every active subscription that wants it. Call inside the causing transaction.

    `data` may be a function: every lead transition calls this, and most have no subscriber, so the
    payload is only built for one that has. `now` is the causing change's clock: the event occurred then.
    """
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(is_active=True).only("pk", "events")
        if event in s.events
    ]
    if not subscriptions:
        return 0
    now = now or timezone.now()
    body = json.dumps(
        {
            "event": event,
            "occurred_at": now.astimezone(UTC).isoformat(),
            "data": data() if callable(data) else data,
        },
        cls=JSONEncoder,  # DRF's, so the lead reads exactly as in API responses
        separators=(",", ":"),
    )
    for subscription in subscriptions:
        outbox_add(
            channel=Outbox.Channel.WEBHOOK,
            payload={"subscription": subscription.pk, "event": event, "body": body},
            now=now,
        )
    return len(subscriptions)


def event_data(subject: Any, sla: dict[str, Any]) -> dict[str, Any]:
    """An event's payload: a lead as the API shows it, with the SLA version, clause and reason behind the
    step; or a report with its address."""
    if isinstance(subject, Lead):
        return {"lead": LeadSerializer(subject).data, "sla": sla}
    if isinstance(subject, MonthlyReport):
        return {
            "id": subject.pk,
            "agreement": subject.agreement_id,
            "period": subject.period,
            "url": settings.SITE_URL + reverse("reporting:report", args=[subject.pk]),
        }
    raise TypeError(f"No webhook payload for {type(subject).__name__}.")


def _deliver(payload: dict[str, Any], message_id: int | None = None) -> None:
    subscription = WebhookSubscription.objects.filter(pk=payload["subscription"], is_active=True).first()
    if subscription is None:
        raise Undeliverable("The subscription was deleted or deactivated; not sent.")
    body = payload["body"].encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "SLA-Portal-Webhooks/1",
            "X-SLA-Portal-Event": payload["event"],
            "X-SLA-Portal-Delivery": str(message_id or ""),
            "X-SLA-Portal-Signature": f"t={timestamp},v1={sign(subscription.secret, timestamp, body)}",
        },
    )
    try:
        with guarded_open(request, timeout=TIMEOUT_SECONDS) as response:
            if not 200 <= response.status < 300:
                raise WebhookRefused(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise WebhookRefused(
                f"HTTP {exc.code}: redirects are not followed; subscribe the final URL."
            ) from None
        raise WebhookRefused(f"HTTP {exc.code}") from None


SENDERS[Outbox.Channel.WEBHOOK] = _deliver
