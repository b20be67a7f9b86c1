"""What a rep is told when a lead becomes theirs: an in-app notice and an e-mail (slaportal.notices)."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from agreements.selectors import signed_version
from leads.models import Lead
from slaportal.notices import notify


def _due(lead: Lead) -> str:
    if lead.pickup_deadline is None:
        return "no pickup deadline"
    # Stored words cannot follow each reader's zone: they use the SLA calendar's, and name it.
    zone = signed_version(lead.sla_version_id).calendar.tz if lead.sla_version_id else None
    return "pick it up by " + timezone.localtime(lead.pickup_deadline, zone).strftime("%a %-d %b, %H:%M %Z")


def tell_new_owner(lead: Lead, *, how: str, now: datetime, email: bool = True) -> None:
    """`how`: "was handed off to you", "was given to you by ann". Call inside the change's transaction."""
    if lead.owner is None:
        return
    company = f" ({lead.company_name})" if lead.company_name else ""
    notify(
        [lead.owner],
        text=f"{lead}{company} {how}: {_due(lead)}.",
        url=reverse("leads:detail", args=[lead.pk]),
        now=now,
        subject=f"[SLA Portal] A lead for you: {lead}",
        email=email,
    )
