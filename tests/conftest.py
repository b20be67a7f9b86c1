"""Personas: one user per role, as the product's people see it."""

from __future__ import annotations

import pytest

from slaportal.roles import Role
from tests import factories


@pytest.fixture
def marketer(db):
    return factories.UserFactory(username="marketer", roles=[Role.MARKETING])


@pytest.fixture
def marketing_approver(db):
    return factories.UserFactory(username="mkt_approver", roles=[Role.MARKETING, Role.MARKETING_APPROVER])


@pytest.fixture
def rep(db):
    return factories.UserFactory(username="rep", roles=[Role.SALES_REP])


@pytest.fixture
def other_rep(db):
    return factories.UserFactory(username="other_rep", roles=[Role.SALES_REP])


@pytest.fixture
def manager(db):
    return factories.UserFactory(username="boss", roles=[Role.SALES_MANAGER])


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(username="root", roles=[Role.ADMIN])


@pytest.fixture
def norole(db):
    return factories.UserFactory(username="visitor")


@pytest.fixture
def draft(marketer):
    return factories.agreement_draft(author=marketer)


@pytest.fixture
def active(draft, marketer, marketing_approver, manager):
    factories.activate(draft, author=marketer, marketing_approver=marketing_approver, sales_approver=manager)
    # Setting the stage sent the approvers notices ("awaits your signature"); tests that count messages
    # count their own story's, so the stage starts with none.
    from integrations.models import Outbox
    from slaportal.models import Notice

    Outbox.objects.all().delete()
    Notice.objects.all().delete()
    draft.refresh_from_db()
    return draft


@pytest.fixture
def pipeline(active, rep, other_rep):
    """The active demo SLA with two available reps in its sales team."""
    factories.sales_team_members(active.agreement, rep, other_rep)
    return active.agreement


@pytest.fixture
def v2(active, marketer):
    """A draft v2 of the active v1: the terms' prose and the ICP's criterion changed."""
    from agreements import services

    draft = services.version_create_draft(agreement=active.agreement, actor=marketer)
    terms = active.section_map["terms"]
    services.version_update_section(
        version=draft,
        key="terms",
        data=terms.data,
        prose=terms.prose.replace("**a conversation**", "**a meeting**"),
        actor=marketer,
    )
    services.version_update_section(
        version=draft,
        key="icp",
        data={"criteria": [{"field": "company_employees", "op": "gte", "value": 250}]},
        prose="Bigger companies only.",
        actor=marketer,
    )
    return draft
