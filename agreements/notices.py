"""Who hears of a version's review: its approvers when it awaits their signature, its writers when an
approver sends it back (in the app, and by e-mail through the outbox: slaportal.notices)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from agreements.models import AgreementVersion, VersionEvent
from agreements.permissions import SIGNER_ROLES
from slaportal.models import Notice
from slaportal.notices import notify
from slaportal.roles import users_with


def _url(version: AgreementVersion) -> str:
    return reverse("agreements:version", args=[version.agreement_id, version.number])


def signers(version: AgreementVersion, side: str) -> list[Any]:
    """Who signs `side` of the agreement: its approvers in that side's team, any approver when the team
    has none (as escalation finds a sales manager)."""
    team_id = version.agreement.marketing_team_id if side == "marketing" else version.agreement.sales_team_id
    holders = users_with(SIGNER_ROLES[side])
    return list(holders.filter(memberships__team_id=team_id).distinct()) or list(holders)


def tell_signers(version: AgreementVersion, *, now: datetime) -> None:
    """The version was submitted: the approvers of each side are asked to sign."""
    for side in SIGNER_ROLES:
        notify(
            signers(version, side),
            text=f"{version.agreement} {version.label} awaits your signature for {side}.",
            url=_url(version),
            now=now,
            subject=f"[SLA Portal] To sign: {version.agreement} {version.label}",
        )


def settle_signature(version: AgreementVersion, *, side: str, now: datetime) -> None:
    """`side` signed (or nobody needs to any more): its requests to sign are read, for everyone asked."""
    Notice.objects.filter(
        url=_url(version), read_at__isnull=True, text__endswith=f"awaits your signature for {side}."
    ).update(read_at=now)


def settle_sent_back(version: AgreementVersion, *, now: datetime) -> None:
    """The draft went back to review: the notices that it had been sent back are read."""
    Notice.objects.filter(url=_url(version), read_at__isnull=True, text__contains="back to draft").update(
        read_at=now
    )


def tell_writers(version: AgreementVersion, *, by: Any, comment: str, now: datetime) -> None:
    """The version was sent back to draft: whoever started or edited it hears why."""
    editors = VersionEvent.objects.filter(version=version, kind=VersionEvent.Kind.EDITED).values("actor")
    writers = get_user_model().objects.filter(pk__in=editors) | get_user_model().objects.filter(
        pk=version.created_by_id
    )
    who = by.get_full_name() or by.get_username() if by else "An approver"
    notify(
        [writer for writer in writers.distinct() if writer != by],
        text=f"{who} sent {version.agreement} {version.label} back to draft: “{comment[:300]}”",
        url=_url(version),
        now=now,
        subject=f"[SLA Portal] Sent back: {version.agreement} {version.label}",
    )
