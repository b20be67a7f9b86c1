"""What a rep is told when a lead becomes theirs: an in-app notice and an e-mail (slaportal.notices)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.urls import reverse

from agreements.selectors import signed_version
from leads.models import Lead
from slaportal.notices import notify
from slaportal.templatetags.clock import when_text


@lru_cache(maxsize=1)
def _lead_path_template() -> str:
    return reverse("leads:detail", args=[987654321]).replace("987654321", "{}")


def lead_path(lead_id: int) -> str:
    """The lead page's path; reverse() once, not once per lead of a thousand-lead sweep."""
    return _lead_path_template().format(int(lead_id))


def _due(lead: Lead) -> str:
    if lead.pickup_deadline is None:
        return "no pickup deadline"
    # Stored words cannot follow each reader's zone: they use the SLA calendar's, and name it.
    zone = signed_version(lead.sla_version_id).calendar.tz if lead.sla_version_id else None
    return "pick it up by " + when_text(lead.pickup_deadline, "short", zone)


def new_owner_note(lead: Lead, how: str) -> tuple[Any, str, str, str]:
    """What the lead's owner is told (user, text, url, e-mail subject). `how`: "was handed off to you",
    "was given to you by ann"."""
    company = f" ({lead.company_name})" if lead.company_name else ""
    return (
        lead.owner,
        f"{lead}{company} {how}: {_due(lead)}.",
        lead_path(lead.pk),
        f"[SLA Portal] A lead for you: {lead}",
    )


def tell_new_owner(lead: Lead, *, how: str, now: datetime, email: bool = True) -> None:
    """Tell the lead's owner it is theirs now. Call inside the change's transaction."""
    if lead.owner is None:
        return
    user, text, url, subject = new_owner_note(lead, how)
    notify([user], text=text, url=url, now=now, subject=subject, email=email)
