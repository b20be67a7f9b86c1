"""Who hears what the domain apps publish (slaportal.publishing): webhook subscribers hear events, and the
outbox's mail sender carries notices. Both write outbox rows inside the publisher's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from integrations.outbox import outbox_email, outbox_forget_lead
from integrations.webhooks import event_data, webhooks_emit
from slaportal.publishing import happened, notice


@receiver(happened, dispatch_uid="integrations.webhooks")
def webhooks_for_event(
    sender: Any,
    *,
    event: str,
    subject: Any,
    sla: dict[str, Any],
    details: dict[str, Any],
    now: datetime,
    **kwargs: Any,
) -> None:
    # Most steps have no subscriber: the payload is only built for one that has.
    webhooks_emit(event, lambda: event_data(subject, sla, details), now=now)


@receiver(notice, dispatch_uid="integrations.mail")
def mail_for_notice(
    sender: Any, *, to: list[str], subject: str, body: str, now: datetime, **kwargs: Any
) -> None:
    outbox_email(to=to, subject=subject, body=body, now=now)


@receiver(happened, dispatch_uid="integrations.erasure")
def forget_erased_lead(sender: Any, *, event: str, subject: Any, **kwargs: Any) -> None:
    if event == "lead.erased":
        url = settings.SITE_URL + reverse("leads:detail", args=[subject.pk])
        outbox_forget_lead(lead_id=subject.pk, lead_url=url)
