from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agreements.clauses import SECTION_KEYS, SECTION_TITLES, Clauses, parse_clauses

if TYPE_CHECKING:
    from agreements.business_hours import BusinessCalendar


class Team(models.Model):
    class Department(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    name = models.CharField(max_length=100, unique=True)
    department = models.CharField(max_length=20, choices=Department.choices)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="TeamMember", related_name="teams")

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    is_available = models.BooleanField(
        default=True, help_text="Off while the person is on leave: an unavailable rep receives no leads."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_member_once")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Agreement(models.Model):
    name = models.CharField(max_length=200, unique=True)
    marketing_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="+", limit_choices_to={"department": "marketing"}
    )
    sales_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="+", limit_choices_to={"department": "sales"}
    )
    # Set by the services from their clock (not auto_now), so a backdated history stays true.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgreementVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    sales_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sales_signed_at = models.DateTimeField(null=True, blank=True)
    effective_from = models.DateTimeField(null=True, blank=True)
    effective_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agreement", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "number"], name="version_number_unique"),
            # The database, not the code path, guarantees one version in force per agreement; the partial
            # index also serves agreements.selectors.active_version.
            models.UniqueConstraint(
                fields=["agreement"], condition=Q(status="active"), name="one_active_version_per_agreement"
            ),
            # One version under work at a time, so two drafts never race to replace the same active one.
            models.UniqueConstraint(
                fields=["agreement"],
                condition=Q(status__in=["draft", "in_review"]),
                name="one_open_version_per_agreement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} v{self.number}"

    @property
    def label(self) -> str:
        return f"v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @cached_property
    def section_map(self) -> dict[str, AgreementSection]:
        """Sections by key; prefetch `sections` to keep this free of queries."""
        return {section.key: section for section in self.sections.all()}

    @cached_property
    def clauses(self) -> Clauses:
        return parse_clauses({key: s.data for key, s in self.section_map.items()})

    @cached_property
    def calendar(self) -> BusinessCalendar:
        from agreements.business_hours import BusinessCalendar

        return BusinessCalendar.from_handoff(self.clauses.handoff)


class AgreementSection(models.Model):
    Key = models.TextChoices("Key", [(key.upper(), (key, SECTION_TITLES[key])) for key in SECTION_KEYS])

    version = models.ForeignKey(AgreementVersion, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField(max_length=20, choices=Key.choices)
    prose = models.TextField(blank=True, help_text="Markdown.")
    data = models.JSONField(default=dict, help_text="The section's structured clauses.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="section_once_per_version")]

    def __str__(self) -> str:
        return f"{self.version} {self.get_key_display()}"

    @property
    def title(self) -> str:
        return SECTION_TITLES[self.key]


class VersionEvent(models.Model):
    """Append-only history of a version: who created, edited, submitted, signed, returned or activated it."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        SUBMITTED = "submitted", "Submitted for review"
        SIGNED = "signed", "Signed"
        RETURNED = "returned", "Sent back to draft"
        ACTIVATED = "activated", "Took effect"
        SUPERSEDED = "superseded", "Superseded"

    version = models.ForeignKey(AgreementVersion, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    side = models.CharField(max_length=20, blank=True)
    section = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.version} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
