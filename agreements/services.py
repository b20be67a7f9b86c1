"""Writes to the SLA document. Every state change of a version happens here, atomically, with an event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from agreements import notices, permissions, selectors
from agreements.clauses import SECTION_KEYS, ClauseError, parse_clauses, parse_section, to_data
from agreements.models import Agreement, AgreementSection, AgreementVersion, Team, VersionEvent

Status = AgreementVersion.Status


class AgreementError(Exception):
    """A refused operation on the SLA document; the message is meant for the person who tried."""


class NotAllowed(AgreementError):
    pass


class NothingToSign(AgreementError):
    """A draft still identical to the version in force: approvers would sign what is already in force."""


class VersionConflict(AgreementError):
    """The version is not in the status the operation needs (perhaps someone else moved it first)."""

    def __init__(self, version: AgreementVersion, needed: str, action: str):
        current = AgreementVersion.objects.filter(pk=version.pk).values_list("status", flat=True).first()
        label = Status(current).label.lower() if current else "deleted"
        super().__init__(f"Cannot {action}: {version.label} is {label}, not {Status(needed).label.lower()}.")
        self.current = current


def _check_recipients(data: dict[str, Any]) -> None:
    names = [name for name in data.get("recipients", []) if isinstance(name, str)]
    known = set(
        get_user_model().objects.filter(username__in=names, is_active=True).values_list("username", flat=True)
    )
    errors = {
        f"recipients.{index}": [f"No active user {name!r}."]
        for index, name in enumerate(names)
        if name not in known
    }
    if errors:
        raise ClauseError(errors)


def _validated(key: str, data: Any) -> dict[str, Any]:
    """Validate one section and return its normalised JSON."""
    parsed = parse_section(key, data)
    normalised = to_data(parsed)
    if key == "reporting":
        _check_recipients(normalised)
    return normalised


def _event(version: AgreementVersion, kind: str, actor: Any, now: datetime, **fields: Any) -> VersionEvent:
    return VersionEvent.objects.create(version=version, kind=kind, actor=actor, at=now, **fields)


def _move(
    version: AgreementVersion, *, expected: str, to: str, action: str, now: datetime, **changes: Any
) -> None:
    """Compare-and-set on the status: the update only lands if nobody moved the version first."""
    changes["updated_at"] = now
    if not AgreementVersion.objects.filter(pk=version.pk, status=expected).update(status=to, **changes):
        raise VersionConflict(version, expected, action)
    version.status = to
    for name, value in changes.items():
        setattr(version, name, value)


@transaction.atomic
def agreement_create(
    *,
    name: str,
    marketing_team: Team,
    sales_team: Team,
    sections: dict[str, dict[str, Any]],
    actor: Any,
    now: datetime | None = None,
) -> Agreement:
    """A new agreement with its first draft. `sections` maps key -> {"data": {...}, "prose": "..."}."""
    now = now or timezone.now()
    if (
        marketing_team.department != Team.Department.MARKETING
        or sales_team.department != Team.Department.SALES
    ):
        raise AgreementError("An agreement is between a marketing team and a sales team.")
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, dict[str, Any]] = {}
    for key in SECTION_KEYS:
        section = sections.get(key, {})
        try:
            cleaned[key] = _validated(key, section.get("data"))
        except ClauseError as exc:
            errors.update({f"{key}.{path}" if path else key: msgs for path, msgs in exc.errors.items()})
    if errors:
        raise ClauseError(errors)
    agreement = Agreement.objects.create(
        name=name, marketing_team=marketing_team, sales_team=sales_team, created_at=now
    )
    version = AgreementVersion.objects.create(
        agreement=agreement, number=1, created_by=actor, created_at=now, updated_at=now
    )
    AgreementSection.objects.bulk_create(
        AgreementSection(
            version=version, key=key, data=cleaned[key], prose=sections.get(key, {}).get("prose", "")
        )
        for key in SECTION_KEYS
    )
    _event(version, VersionEvent.Kind.CREATED, actor, now)
    return agreement


def version_create_draft(
    *, agreement: Agreement, actor: Any, now: datetime | None = None
) -> AgreementVersion:
    """A new draft, starting as a copy of the version in force (or the latest one)."""
    now = now or timezone.now()
    if not permissions.can_edit(actor):
        raise NotAllowed("Only marketing can start a new draft of the SLA.")
    try:
        with transaction.atomic():
            source = (
                agreement.versions.filter(status=Status.ACTIVE).first()
                or agreement.versions.order_by("-number").first()
            )
            number = (agreement.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            draft = AgreementVersion.objects.create(
                agreement=agreement, number=number, created_by=actor, created_at=now, updated_at=now
            )
            if source is not None:
                AgreementSection.objects.bulk_create(
                    AgreementSection(version=draft, key=s.key, data=s.data, prose=s.prose)
                    for s in source.sections.all()
                )
            _event(
                draft,
                VersionEvent.Kind.CREATED,
                actor,
                now,
                comment=f"Copied from {source.label}" if source else "",
            )
    except IntegrityError:
        # one_open_version_per_agreement, or the same number taken by a concurrent draft
        open_version = agreement.versions.filter(status__in=[Status.DRAFT, Status.IN_REVIEW]).first()
        where = (
            f" ({open_version.label} is {open_version.get_status_display().lower()})" if open_version else ""
        )
        raise AgreementError(f"This agreement already has a version under work{where}.") from None
    return draft


@transaction.atomic
def version_update_section(
    *, version: AgreementVersion, key: str, data: Any, prose: str, actor: Any, now: datetime | None = None
) -> AgreementSection:
    """Replace one section of a draft. Raises ClauseError (nothing saved) when a clause is invalid."""
    now = now or timezone.now()
    if not permissions.can_edit(actor):
        raise NotAllowed("Only marketing can edit the SLA.")
    if key not in SECTION_KEYS:
        raise AgreementError(f"Unknown section {key!r}.")
    normalised = _validated(key, data)
    # Lock the version so a submit cannot slip between the status check and the write.
    locked = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != Status.DRAFT:
        raise VersionConflict(version, Status.DRAFT, "edit")
    section, _ = AgreementSection.objects.update_or_create(
        version=locked, key=key, defaults={"data": normalised, "prose": prose.strip()}
    )
    AgreementVersion.objects.filter(pk=version.pk).update(updated_at=now)
    _event(version, VersionEvent.Kind.EDITED, actor, now, section=key)
    version.__dict__.pop("section_map", None)
    version.__dict__.pop("clauses", None)
    return section


@transaction.atomic
def version_submit(*, version: AgreementVersion, actor: Any, now: datetime | None = None) -> AgreementVersion:
    """Draft -> in review. The whole document must be valid: approvers sign what will be enforced."""
    now = now or timezone.now()
    if not permissions.can_edit(actor):
        raise NotAllowed("Only marketing can submit the SLA for review.")
    in_force = version.agreement.versions.filter(status=Status.ACTIVE).exclude(pk=version.pk).first()
    if in_force is not None and selectors.same_content(version, in_force):
        raise NothingToSign(
            f"{version.label} is the same as {in_force.label}, the version in force: there is nothing new to "
            "sign. Change a section before submitting it for review."
        )
    sections = {s.key: s.data for s in version.sections.all()}
    parse_clauses(sections)
    _check_recipients(sections.get("reporting", {}))
    _move(version, expected=Status.DRAFT, to=Status.IN_REVIEW, action="submit", now=now, submitted_at=now)
    _event(version, VersionEvent.Kind.SUBMITTED, actor, now)
    notices.settle_sent_back(version, now=now)
    notices.tell_signers(version, now=now)
    return version


@transaction.atomic
def version_sign(
    *, version: AgreementVersion, side: str, actor: Any, now: datetime | None = None
) -> AgreementVersion:
    """One department's sign-off; the second signature puts the version in force."""
    now = now or timezone.now()
    if not permissions.can_sign(actor, side):
        raise NotAllowed(f"Only a {side} approver can sign for {side}.")
    # Signatures on one version are serialised, so the second signer always sees the first signature.
    locked = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != Status.IN_REVIEW:
        raise VersionConflict(version, Status.IN_REVIEW, "sign")
    if getattr(locked, f"{side}_signed_by_id") is not None:
        raise AgreementError(f"{side.capitalize()} has already signed {version.label}.")
    other = "sales" if side == "marketing" else "marketing"
    if getattr(locked, f"{other}_signed_by_id") == actor.pk:
        raise NotAllowed("The two departments' signatures must come from two different people.")
    setattr(locked, f"{side}_signed_by", actor)
    setattr(locked, f"{side}_signed_at", now)
    locked.updated_at = now
    locked.save(update_fields=[f"{side}_signed_by", f"{side}_signed_at", "updated_at"])
    _event(locked, VersionEvent.Kind.SIGNED, actor, now, side=side)
    notices.settle_signature(locked, side=side, now=now)
    if locked.marketing_signed_by_id and locked.sales_signed_by_id:
        _activate(locked, now)
    return locked


def _activate(version: AgreementVersion, now: datetime) -> None:
    # Lock the agreement: two versions of one agreement never take effect at the same moment.
    Agreement.objects.select_for_update().get(pk=version.agreement_id)
    previous = AgreementVersion.objects.filter(
        agreement_id=version.agreement_id, status=Status.ACTIVE
    ).first()
    if previous is not None:
        _move(
            previous,
            expected=Status.ACTIVE,
            to=Status.SUPERSEDED,
            action="supersede",
            now=now,
            effective_until=now,
        )
        _event(previous, VersionEvent.Kind.SUPERSEDED, None, now, comment=f"Replaced by {version.label}")
    _move(
        version, expected=Status.IN_REVIEW, to=Status.ACTIVE, action="activate", now=now, effective_from=now
    )
    _event(version, VersionEvent.Kind.ACTIVATED, None, now, comment="Signed by marketing and sales")


@transaction.atomic
def version_return_to_draft(
    *, version: AgreementVersion, actor: Any, comment: str, now: datetime | None = None
) -> AgreementVersion:
    """An approver sends a version under review back to marketing, saying why. Signatures are cleared."""
    now = now or timezone.now()
    if not permissions.can_review(actor):
        raise NotAllowed("Only an approver can send a version back to draft.")
    comment = (comment or "").strip()
    if not comment:
        raise ClauseError({"comment": ["Say what needs to change."]})
    _move(
        version,
        expected=Status.IN_REVIEW,
        to=Status.DRAFT,
        action="send back to draft",
        now=now,
        submitted_at=None,
        marketing_signed_by=None,
        marketing_signed_at=None,
        sales_signed_by=None,
        sales_signed_at=None,
    )
    _event(version, VersionEvent.Kind.RETURNED, actor, now, comment=comment[:5000])
    for side in permissions.SIGNER_ROLES:  # no signature is awaited any more
        notices.settle_signature(version, side=side, now=now)
    notices.tell_writers(version, by=actor, comment=comment, now=now)
    return version
