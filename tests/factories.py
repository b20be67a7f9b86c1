"""Test data builders. Agreements are made through the services, as users make them."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agreements import services
from agreements.defaults import demo_sections
from agreements.models import Agreement, AgreementVersion, Team, TeamMember
from slaportal.roles import Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Role] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(*[Group.objects.get_or_create(name=role.value)[0] for role in extracted])
            self.__dict__.pop("_slaportal_roles", None)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    department = Team.Department.MARKETING


def add_member(team: Team, user: Any, *, available: bool = True) -> TeamMember:
    return TeamMember.objects.create(team=team, user=user, is_available=available)


def agreement_draft(*, author: Any, name: str = "Test SLA", sections: dict | None = None) -> AgreementVersion:
    """An agreement whose version 1 is a draft of the demo clauses (or `sections`)."""
    marketing = TeamFactory(name=f"{name} marketing", department=Team.Department.MARKETING)
    sales = TeamFactory(name=f"{name} sales", department=Team.Department.SALES)
    # Recipients must be real users; the demo's may not exist in a test database.
    sections = sections or demo_sections()
    sections["reporting"]["data"]["recipients"] = [author.username]
    agreement = services.agreement_create(
        name=name, marketing_team=marketing, sales_team=sales, sections=sections, actor=author
    )
    return agreement.versions.get(number=1)


def activate(version: AgreementVersion, *, author: Any, marketing_approver: Any, sales_approver: Any) -> None:
    if version.status == AgreementVersion.Status.DRAFT:
        services.version_submit(version=version, actor=author)
    services.version_sign(version=version, side="marketing", actor=marketing_approver)
    services.version_sign(version=version, side="sales", actor=sales_approver)


def active_agreement(
    *, author: Any, marketing_approver: Any, sales_approver: Any, name: str = "Test SLA"
) -> Agreement:
    version = agreement_draft(author=author, name=name)
    activate(version, author=author, marketing_approver=marketing_approver, sales_approver=sales_approver)
    return version.agreement


def sales_team_members(agreement: Agreement, *reps: Any, available: bool = True) -> None:
    for rep in reps:
        TeamMember.objects.get_or_create(
            team=agreement.sales_team, user=rep, defaults={"is_available": available}
        )


WARM = ("webinar_attendance", "ebook_download")
HOT = ("webinar_attendance", "webinar_attendance", "ebook_download")


def make_lead(
    *,
    external_id: str,
    now: Any,
    employees: int | None = 120,
    activities: tuple[str, ...] = (),
    agreement: Agreement | None = None,
    **data: Any,
) -> Any:
    """A lead sent by a CRM, with `activities` an hour before `now`, evaluated as the SLA says."""
    from datetime import timedelta

    from leads import services

    crm = services.Actor.system()
    lead, _ = services.lead_upsert(
        external_id=external_id,
        data={"company_employees": employees, "email": f"{external_id}@example.com", **data},
        actor=crm,
        agreement=agreement,
        now=now - timedelta(hours=1),
    )
    if activities:
        services.activities_ingest(
            items=[
                {
                    "lead_external_id": external_id,
                    "type": kind,
                    "occurred_at": now - timedelta(minutes=30),
                    "external_id": f"{external_id}-{n}",
                }
                for n, kind in enumerate(activities)
            ],
            actor=crm,
            now=now,
        )
    lead.refresh_from_db()
    return lead


def clone_leads(lead: Any, count: int, **changes: Any) -> list[int]:
    """`count` copies of `lead` in one bulk insert (with `changes`), for tests that need many alike."""
    from leads.models import Lead

    fields = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields if not f.primary_key}
    copies = [
        Lead(**{**fields, "external_id": f"{lead.external_id}-{n}", "email": f"c{n}@example.com", **changes})
        for n in range(count)
    ]
    return [copy.pk for copy in Lead.objects.bulk_create(copies, batch_size=1000)]
