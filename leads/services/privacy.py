"""Erasure of a person's data (GDPR Art. 17): the lead keeps its anonymous steps, so reports do not change,
and loses everything that names or describes the person."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leads import permissions
from leads.models import Activity, Feedback, Lead, LeadEvent
from leads.services.touches import touches_moved
from leads.services.transitions import record_event
from leads.services.vocabulary import Actor, NotAllowed
from slaportal.models import Notice

# What identifies or describes the person; the company's size, industry and country stay (they are what
# the ICP and the reports count, and they name no one).
PERSONAL_FIELDS = ("email", "first_name", "last_name", "job_title", "company_name")
# Free text that people wrote about the lead, in its events' details.
FREE_TEXT = ("note", "answers")
TOMBSTONE = "[erased]"
ERASED_NOTICE = "A lead whose person's data was erased."


def lead_erase(*, lead: Lead, actor: Actor, now: datetime | None = None) -> Lead:
    """Erase the lead's personal data, once: erasing an erased lead changes nothing and says so again."""
    now = now or timezone.now()
    if not permissions.can_erase(actor.user):
        raise NotAllowed("Only an admin can erase a person's data.")
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.erased_at is not None:
            return locked
        # The CRM's id points at the person in the CRM, so it goes too; a later upsert is a new lead.
        Lead.objects.filter(pk=lead.pk).update(
            external_id=f"erased-{lead.pk}",
            erased_at=now,
            updated_at=now,
            **dict.fromkeys(PERSONAL_FIELDS, ""),
        )
        Activity.objects.filter(lead_id=lead.pk).update(details={})
        # Its activities now count for no company, as the report reads the lead's.
        touches_moved(lead_id=lead.pk, agreement_id=locked.agreement_id, before=locked.company_name, after="")
        for feedback in Feedback.objects.filter(lead_id=lead.pk):
            feedback.answers = dict.fromkeys(feedback.answers, TOMBSTONE)
            feedback.save(update_fields=["answers"])
        # Events are append-only; erasure is the one rewrite the law asks for, of their free text alone.
        for event in LeadEvent.objects.filter(lead_id=lead.pk).only("pk", "details"):
            if any(key in event.details for key in FREE_TEXT):
                scrubbed = {k: (TOMBSTONE if k in FREE_TEXT else v) for k, v in event.details.items()}
                LeadEvent.objects.filter(pk=event.pk).update(details=scrubbed)
        # The decision stays (each check's clause and verdict); what the ICP checks read of the person goes.
        explanation = dict(locked.explanation or {})
        if explanation.get("checks"):
            explanation["checks"] = [
                {**c, "detail": TOMBSTONE} if str(c.get("clause", "")).startswith("icp") else c
                for c in explanation["checks"]
            ]
            Lead.objects.filter(pk=lead.pk).update(explanation=explanation)
        # The in-app notices about the lead named the person too (their e-mails: integrations' outbox).
        Notice.objects.filter(url=reverse("leads:detail", args=[lead.pk])).update(text=ERASED_NOTICE)
        locked.refresh_from_db()
        record_event(locked, LeadEvent.Kind.ERASED, actor, now, details={"fields": list(PERSONAL_FIELDS)})
    return locked
