"""Who hears what the domain apps publish (slaportal.publishing): webhook subscribers hear events, and the
outbox's mail sender carries notices. Both write outbox rows inside the publisher's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from integrations.outbox import outbox_email_many, outbox_forget_lead
from integrations.webhooks import event_data, webhooks_emit, webhooks_emit_many
from slaportal.publishing import Mail, Publication, happened, happened_many, notice


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


@receiver(happened_many, dispatch_uid="integrations.webhooks_many")
def webhooks_for_events(
    sender: Any, *, event: str, publications: list[Publication], now: datetime, **kwargs: Any
) -> None:
    builds = [lambda p=p: event_data(p.subject, p.sla, p.details) for p in publications]
    webhooks_emit_many(event, builds, now=now)
    if event == "lead.erased":
        for publication in publications:
            forget_erased_lead(sender, event=event, subject=publication.subject)


@receiver(notice, dispatch_uid="integrations.mail")
def mail_for_notices(sender: Any, *, mails: list[Mail], now: datetime, **kwargs: Any) -> None:
    outbox_email_many([(m.to, m.subject, m.body) for m in mails], now=now)


@receiver(happened, dispatch_uid="integrations.erasure")
def forget_erased_lead(sender: Any, *, event: str, subject: Any, **kwargs: Any) -> None:
    if event == "lead.erased":
        url = settings.SITE_URL + reverse("leads:detail", args=[subject.pk])
        outbox_forget_lead(lead_id=subject.pk, lead_url=url)
