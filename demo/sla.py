"""The demo's people, teams and signed agreement. Idempotent: running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from agreements import services
from agreements.defaults import demo_sections
from agreements.models import Agreement, AgreementVersion, Team, TeamMember
from slaportal.roles import Role

DEMO_PASSWORD = "demo-sla-2026"  # printed by `make run`; demo data only
DEMO_AGREEMENT = "Marketing–Sales SLA"
DEMO_HISTORY_DAYS = 366


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    roles: tuple[Role, ...]
    team: str | None


DEMO_USERS = (
    DemoUser("marketing", "Maria", "Marketer", (Role.MARKETING,), "Marketing"),
    DemoUser("marketing_lead", "Lena", "Lead", (Role.MARKETING, Role.MARKETING_APPROVER), "Marketing"),
    DemoUser("sales1", "Sam", "Seller", (Role.SALES_REP,), "Sales"),
    DemoUser("sales2", "Sara", "Seller", (Role.SALES_REP,), "Sales"),
    DemoUser("manager", "Max", "Manager", (Role.SALES_MANAGER,), "Sales"),
    DemoUser("admin", "Ada", "Admin", (Role.ADMIN,), None),
)


def ensure_roles() -> dict[Role, Group]:
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


@transaction.atomic
def seed_agreements() -> list[str]:
    """Create what is missing; return a line for each thing created."""
    created: list[str] = []
    groups = ensure_roles()
    teams = {
        "Marketing": Team.objects.get_or_create(name="Marketing", defaults={"department": "marketing"})[0],
        "Sales": Team.objects.get_or_create(name="Sales", defaults={"department": "sales"})[0],
    }
    User = get_user_model()
    users = {}
    for spec in DEMO_USERS:
        user, was_created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@example.com",
                "is_staff": Role.ADMIN in spec.roles,
                "is_superuser": Role.ADMIN in spec.roles,
            },
        )
        if was_created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.groups.set([groups[role] for role in spec.roles])
            created.append(f"user {spec.username}")
        if spec.team:
            TeamMember.objects.get_or_create(team=teams[spec.team], user=user)
        users[spec.username] = user

    if not Agreement.objects.filter(name=DEMO_AGREEMENT).exists():
        # The demo tells a year of history (see demo.history), so its SLA was written and signed a year ago.
        signed = timezone.now() - timedelta(days=DEMO_HISTORY_DAYS)
        agreement = services.agreement_create(
            name=DEMO_AGREEMENT,
            marketing_team=teams["Marketing"],
            sales_team=teams["Sales"],
            sections=demo_sections(),
            actor=users["marketing"],
            now=signed - timedelta(days=2),
        )
        version = agreement.versions.get(number=1)
        services.version_submit(version=version, actor=users["marketing"], now=signed - timedelta(days=1))
        services.version_sign(
            version=version, side="marketing", actor=users["marketing_lead"], now=signed - timedelta(hours=3)
        )
        services.version_sign(version=version, side="sales", actor=users["manager"], now=signed)
        assert AgreementVersion.objects.get(pk=version.pk).status == AgreementVersion.Status.ACTIVE
        created.append(f"agreement {DEMO_AGREEMENT!r} v1, signed and in force")
    return created
