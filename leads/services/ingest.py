"""What CRMs and marketing automation send: leads (create or update by external_id) and activities."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from agreements import selectors as agreement_selectors
from agreements.models import Agreement
from leads import limits
from leads.models import Activity, Lead, LeadEvent
from leads.services import batch_sql
from leads.services.evaluation import InForce, evaluate_locked, evaluate_new, leads_evaluate
from leads.services.tallies import tallies_add, touch_deltas
from leads.services.touches import spans_of, touches_add, touches_moved
from leads.services.vocabulary import Actor, LeadValidationError, NoAgreement

Status = Lead.Status
Kind = LeadEvent.Kind

LEAD_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "job_title",
    "source",
    "company_name",
    "company_employees",
    "company_annual_revenue",
    "company_industry",
    "company_country",
)
# PostgreSQL stores no NUL character in text or JSON; refuse it with a message instead of a server error.
NUL_MESSAGE = "Must not contain a NUL character."
# Ids are matched exactly: " 42" and "42" would be two leads, so a padded id is refused, never trimmed.
PADDED_MESSAGE = "Must not begin or end with spaces."
# An activity time a little ahead of our clock is the sender's clock drift, not the future.
CLOCK_SKEW = timedelta(minutes=5)


_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def clean_lead_data(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise lead fields; LeadValidationError names each bad field. Unknown keys are refused."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(LEAD_FIELDS)):
        errors[key] = ["Unknown field."]
    for key, limit in limits.LEAD_TEXT_MAX.items():
        if key not in data:
            continue
        value = data[key] if data[key] is not None else ""
        if not isinstance(value, str):
            errors[key] = ["Must be text."]
        elif "\x00" in value:
            errors[key] = [NUL_MESSAGE]
        elif len(value.strip()) > limit:
            errors[key] = [f"At most {limit} characters."]
        else:
            out[key] = value.strip()
    if out.get("email") and ("@" not in out["email"] or " " in out["email"]):
        errors["email"] = ["Enter a valid e-mail address."]
    if "company_country" in data:
        country = data["company_country"] or ""
        if not isinstance(country, str) or (country and not _COUNTRY.match(country)):
            errors["company_country"] = ["Use a two-letter ISO country code, such as PL."]
        else:
            out["company_country"] = country.upper()
    if "company_employees" in data:
        value = data["company_employees"]
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= limits.COMPANY_EMPLOYEES_MAX
        ):
            errors["company_employees"] = [
                f"Must be a whole number from 0 to {limits.COMPANY_EMPLOYEES_MAX:,}."
            ]
        else:
            out["company_employees"] = value
    if "company_annual_revenue" in data:
        value = data["company_annual_revenue"]
        if value is None:
            out["company_annual_revenue"] = None
        else:
            try:
                number = Decimal(str(value))
                if isinstance(value, bool) or not number.is_finite() or not 0 <= number < Decimal(10) ** 16:
                    raise InvalidOperation
                out["company_annual_revenue"] = number.quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors["company_annual_revenue"] = ["Must be a number from 0 below 10^16."]
    if errors:
        raise LeadValidationError(errors)
    return out


def lead_upsert(
    *,
    external_id: str,
    data: dict[str, Any],
    actor: Actor,
    agreement: Agreement | None = None,
    now: datetime | None = None,
) -> tuple[Lead, bool]:
    """Create or update the lead known to CRMs as `external_id`, then re-evaluate it."""
    now = now or timezone.now()
    if (
        not isinstance(external_id, str)
        or not external_id.strip()
        or len(external_id) > limits.EXTERNAL_ID_MAX
    ):
        raise LeadValidationError(
            {"external_id": [f"Give the CRM's id of the lead (1 to {limits.EXTERNAL_ID_MAX} characters)."]}
        )
    if "\x00" in external_id:
        raise LeadValidationError({"external_id": [NUL_MESSAGE]})
    if external_id != external_id.strip():
        raise LeadValidationError({"external_id": [PADDED_MESSAGE]})
    fields = clean_lead_data(data)
    versions = InForce()
    with transaction.atomic():
        lead = _locked(external_id, versions)
        if lead is None:
            lead = Lead(external_id=external_id, created_at=now, updated_at=now, **fields)
            lead.agreement_id = _agreement_for_new(agreement, versions)
            if evaluate_new(
                lead, actor=actor, now=now, versions=versions, created={"details": {"source": lead.source}}
            ):
                return lead, True
            # A concurrent request created it first: this one becomes an update.
            lead = _locked(external_id, versions)
            if lead is None:  # leads are never deleted (erasure keeps the row)
                raise RuntimeError(f"Lead {external_id!r} conflicted on INSERT but cannot be read.")
        changed = {name: value for name, value in fields.items() if getattr(lead, name) != value}
        if not changed:
            return lead, False
        company = lead.company_name
        changed_at = {**changed, "updated_at": now}
        for name, value in changed_at.items():
            setattr(lead, name, value)
        # The lead is locked in this transaction already: evaluated as it is now, its new fields written in
        # the evaluation's UPDATE and its `updated` event in the same INSERT as the evaluation's.
        evaluate_locked(
            [lead],
            actor=actor,
            now=now,
            versions=versions,
            before=[(lead, Kind.UPDATED, {"details": {"changed": sorted(changed)}})],
            changes={lead.pk: changed_at},
        )
        # The report counts a lead's activities for the company it names now.
        touches_moved(
            lead_id=lead.pk, agreement_id=lead.agreement_id, before=company, after=lead.company_name
        )
    return lead, False


def _locked(external_id: str, versions: InForce) -> Lead | None:
    """The lead known by `external_id`, locked, with its agreement's version in force read alongside."""
    lead = batch_sql.lead_locked(external_id)
    if lead is not None:
        versions.know(lead.agreement_id, lead.in_force_id)
    return lead


def _agreement_for_new(agreement: Agreement | None, versions: InForce) -> int:
    if agreement is not None:
        return agreement.pk
    default = agreement_selectors.default_agreement_in_force()
    if default is None:
        raise NoAgreement("No SLA exists yet: create and sign one before sending leads.")
    agreement_id, version_id = default
    versions.know(agreement_id, version_id)
    return agreement_id


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    lead_ids: list[int] = field(default_factory=list)


def activities_check(
    items: list[dict[str, Any]], *, now: datetime, versions: InForce | None = None
) -> tuple[dict[int, dict[str, list[str]]], dict[str, Lead]]:
    """Errors per item index, then field; and the leads the items name (by external_id)."""
    errors: dict[int, dict[str, list[str]]] = {}
    lead_ids = {i.get("lead_external_id") for i in items if isinstance(i.get("lead_external_id"), str)}
    leads = {lead.external_id: lead for lead in Lead.objects.filter(external_id__in=lead_ids)}
    versions = versions if versions is not None else InForce()
    for index, item in enumerate(items):
        item_errors: dict[str, list[str]] = {}
        lead = leads.get(item.get("lead_external_id"))
        if lead is None:
            item_errors["lead_external_id"] = ["No lead with this external_id; send the lead first."]
        ext = item.get("external_id")
        if not isinstance(ext, str) or not ext.strip() or len(ext) > limits.EXTERNAL_ID_MAX:
            item_errors["external_id"] = [
                f"Give the activity's id in the sending system (1 to {limits.EXTERNAL_ID_MAX} characters)."
            ]
        elif "\x00" in ext:
            item_errors["external_id"] = [NUL_MESSAGE]
        elif ext != ext.strip():
            item_errors["external_id"] = [PADDED_MESSAGE]
        occurred = item.get("occurred_at")
        if not isinstance(occurred, datetime) or occurred.tzinfo is None:
            item_errors["occurred_at"] = ["Give a date and time with a time zone."]
        elif occurred > now + CLOCK_SKEW:
            item_errors["occurred_at"] = ["Cannot be in the future."]
        details = item.get("details", {})
        if not isinstance(details, dict):
            item_errors["details"] = ["Must be an object."]
        elif "\\u0000" in json.dumps(details):
            item_errors["details"] = [NUL_MESSAGE]
        if lead is not None:
            version = versions.get_active(lead.agreement_id)
            known = version.clauses.temperature.activity_types if version else ()
            if item.get("type") not in known:
                item_errors["type"] = [
                    f"Not an activity type of the SLA in force; use one of: {', '.join(known)}."
                ]
        if item_errors:
            errors[index] = item_errors
    return errors, leads


def activities_ingest(
    *, items: Iterable[dict[str, Any]], actor: Actor, now: datetime | None = None
) -> IngestResult:
    """Store activities (all or nothing) and re-evaluate each lead that got new ones.

    Items: {lead_external_id, type, occurred_at (aware datetime), external_id, details}. Errors are keyed
    by the item's index, then its field. An external_id already stored is a duplicate, not an error.
    """
    now = now or timezone.now()
    items = list(items)
    versions = InForce()  # the checks and the evaluations look the SLA in force up once
    errors, leads = activities_check(items, now=now, versions=versions)
    if errors:
        raise LeadValidationError(errors)

    result = IngestResult()
    fresh: dict[str, Activity] = {}
    for item in items:
        ext = item["external_id"]
        if ext in fresh:
            continue
        fresh[ext] = Activity(
            lead=leads[item["lead_external_id"]],
            type=item["type"],
            occurred_at=item["occurred_at"],
            external_id=ext,
            details=item.get("details") or {},
            created_at=now,
        )
    with transaction.atomic():
        # One already stored, or stored first by a concurrent batch, counts once: as that batch's.
        stored = batch_sql.insert_activities(list(fresh.values()))
        result.stored, result.duplicates = len(stored), len(items) - len(stored)
        touched = sorted({activity.lead_id for activity in stored})
        leads_evaluate(lead_ids=touched, actor=actor, now=now, versions=versions)
        result.lead_ids = touched
        # The leads are locked now: their companies are the ones their activities count for.
        accounts = dict(Lead.objects.filter(pk__in=touched).values_list("pk", "company_name"))
        tallies_add(touch_deltas((a.lead.agreement_id, a.occurred_at) for a in stored))
        # Last before the commit: a busy account's row (or the one of the leads with no company) is held
        # by one ingest at a time, for as short as can be.
        touches_add(spans_of((a.lead.agreement_id, accounts[a.lead_id], a.occurred_at) for a in stored))
    return result
