"""Reads of the SLA document, each with its related rows fetched up front (no queries from templates)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from agreements.clauses import SECTION_KEYS, SECTION_TITLES, ClauseError, parse_section, sentences
from agreements.models import Agreement, AgreementSection, AgreementVersion, VersionEvent

Status = AgreementVersion.Status


def _versions() -> QuerySet[AgreementVersion]:
    return AgreementVersion.objects.select_related(
        "agreement", "created_by", "marketing_signed_by", "sales_signed_by"
    ).prefetch_related(Prefetch("sections", queryset=AgreementSection.objects.order_by("pk")))


def agreement_list() -> QuerySet[Agreement]:
    return Agreement.objects.select_related("marketing_team", "sales_team").prefetch_related(
        Prefetch(
            "versions",
            queryset=AgreementVersion.objects.exclude(status=Status.SUPERSEDED).order_by("-number"),
            to_attr="current_versions",
        )
    )


def default_agreement() -> Agreement | None:
    """The agreement meant when none is named (leads sent without one, the API, the dashboard's calendar):
    the oldest with a version in force, else the oldest; None before any exists."""
    return (
        Agreement.objects.filter(versions__status=Status.ACTIVE).order_by("pk").first()
        or Agreement.objects.order_by("pk").first()
    )


def version_get(*, agreement_id: int, number: int) -> AgreementVersion:
    return _versions().get(agreement_id=agreement_id, number=number)


def version_default(*, agreement: Agreement) -> AgreementVersion | None:
    """The version a reader lands on: the one in force, else the newest."""
    versions = _versions().filter(agreement=agreement)
    return versions.filter(status=Status.ACTIVE).first() or versions.order_by("-number").first()


def active_version(*, agreement_id: int) -> AgreementVersion | None:
    return _versions().filter(agreement_id=agreement_id, status=Status.ACTIVE).first()


# Signed versions never change (only drafts are editable), so each is read and parsed once per process.
_signed: dict[int, AgreementVersion] = {}


def signed_version(pk: int) -> AgreementVersion:
    """The version `pk` with its clauses parsed; a signed one (in force or superseded) from the process's
    cache, the one cache of parsed versions. Treat the returned object as read-only, and read only what a
    signature fixes (number, clauses, calendar, effective_from, the agreement's id): status,
    effective_until and updated_at change when a later version supersedes it."""
    version = _signed.get(pk)
    if version is None:
        version = _versions().get(pk=pk)
        version.clauses  # noqa: B018 - parse once, while the object is cached
        version.calendar  # noqa: B018
        if version.effective_from is not None:
            _signed[pk] = version
    return version


def active_version_for_evaluation(*, agreement_id: int) -> AgreementVersion | None:
    """The version in force, with its clauses parsed, for hot paths (ingest, evaluation, sweeps).

    One indexed query (one_active_version_per_agreement) says which version that is right now.
    """
    pk = (
        AgreementVersion.objects.filter(agreement_id=agreement_id, status=Status.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )
    return signed_version(pk) if pk else None


def default_agreement_in_force() -> tuple[int, int | None] | None:
    """`default_agreement`'s id and the id of its version in force, in one query while one is in force."""
    row = (
        Agreement.objects.filter(versions__status=Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", "versions__pk")
    ).first()
    if row is not None:
        return row
    oldest = Agreement.objects.order_by("pk").values_list("pk", flat=True).first()
    return None if oldest is None else (oldest, None)


def clear_version_cache() -> None:
    _signed.clear()


def open_version(*, agreement: Agreement) -> AgreementVersion | None:
    return agreement.versions.filter(status__in=[Status.DRAFT, Status.IN_REVIEW]).first()


def version_history(*, agreement: Agreement) -> QuerySet[AgreementVersion]:
    return (
        AgreementVersion.objects.filter(agreement=agreement)
        .select_related("created_by", "marketing_signed_by", "sales_signed_by")
        .prefetch_related(
            Prefetch("events", queryset=VersionEvent.objects.select_related("actor").order_by("at", "pk"))
        )
        .order_by("-number")
    )


def last_return(version: AgreementVersion) -> VersionEvent | None:
    """The approver's latest comment when the version was sent back to draft."""
    return (
        version.events.filter(kind=VersionEvent.Kind.RETURNED)
        .select_related("actor")
        .order_by("at", "pk")
        .last()
    )


@dataclass(frozen=True)
class SectionView:
    key: str
    title: str
    prose: str
    rules: list[tuple[str, str]]  # (clause id, sentence)
    errors: dict[str, list[str]]  # a draft may hold a section that no longer validates


def section_view(section: AgreementSection | None, key: str) -> SectionView:
    if section is None:
        return SectionView(key, SECTION_TITLES[key], "", [], {"": ["This section is missing."]})
    try:
        rules = sentences(key, parse_section(key, section.data))
        errors: dict[str, list[str]] = {}
    except ClauseError as exc:
        rules, errors = [], exc.errors
    return SectionView(key, SECTION_TITLES[key], section.prose, rules, errors)


def document(version: AgreementVersion) -> list[SectionView]:
    sections = version.section_map
    return [section_view(sections.get(key), key) for key in SECTION_KEYS]


def same_content(a: AgreementVersion, b: AgreementVersion) -> bool:
    """Whether two versions say the same: every section's clauses and prose (read fresh, not prefetched)."""

    def content(version: AgreementVersion) -> dict[str, tuple[object, str]]:
        rows = AgreementSection.objects.filter(version=version).values_list("key", "data", "prose")
        return {key: (data, prose.strip()) for key, data, prose in rows}

    return content(a) == content(b)


def version_choices(*, agreement: Agreement) -> QuerySet[AgreementVersion]:
    """The versions to pick from on the compare page, newest first."""
    return agreement.versions.order_by("-number").only(
        "number", "status", "created_at", "effective_from", "effective_until", "agreement_id"
    )


def compare_default(versions: list[AgreementVersion]) -> tuple[int, int] | None:
    """The two version numbers the compare page opens with: the newest against the one in force, or,
    when the newest is the one in force (or none is), the two newest. None with fewer than two."""
    if len(versions) < 2:
        return None
    newest = max(versions, key=lambda v: v.number)
    in_force = next((v for v in versions if v.status == Status.ACTIVE and v is not newest), None)
    if in_force is not None:
        return in_force.number, newest.number
    older = max((v for v in versions if v is not newest), key=lambda v: v.number)
    return older.number, newest.number
