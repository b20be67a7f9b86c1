from __future__ import annotations

import pytest

from agreements import services
from agreements.clauses import ClauseError
from agreements.models import AgreementVersion, VersionEvent
from tests import factories

pytestmark = pytest.mark.django_db
Status = AgreementVersion.Status


def icp_data(value):
    return {"criteria": [{"field": "company_employees", "op": "gte", "value": value}]}


def test_version_takes_effect_only_after_both_departments_sign(draft, marketer, marketing_approver, manager):
    services.version_submit(version=draft, actor=marketer)
    services.version_sign(version=draft, side="marketing", actor=marketing_approver)
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW
    assert draft.effective_from is None
    services.version_sign(version=draft, side="sales", actor=manager)
    draft.refresh_from_db()
    assert draft.status == Status.ACTIVE
    assert draft.marketing_signed_by == marketing_approver
    assert draft.sales_signed_by == manager
    assert draft.effective_from is not None
    assert draft.effective_until is None
    kinds = list(draft.events.values_list("kind", flat=True))
    assert kinds == ["created", "submitted", "signed", "signed", "activated"]


def test_activation_supersedes_the_previous_version(active, marketer, marketing_approver, manager):
    v2 = services.version_create_draft(agreement=active.agreement, actor=marketer)
    services.version_update_section(version=v2, key="icp", data=icp_data(200), prose="Bigger", actor=marketer)
    factories.activate(v2, author=marketer, marketing_approver=marketing_approver, sales_approver=manager)
    active.refresh_from_db()
    v2.refresh_from_db()
    assert (active.status, v2.status) == (Status.SUPERSEDED, Status.ACTIVE)
    assert active.effective_until == v2.effective_from
    assert AgreementVersion.objects.filter(agreement=active.agreement, status=Status.ACTIVE).count() == 1
    assert v2.clauses.icp.criteria[0].value == 200
    assert active.clauses.icp.criteria[0].value == 50


def test_new_draft_copies_the_active_version(active, marketer):
    v2 = services.version_create_draft(agreement=active.agreement, actor=marketer)
    assert v2.number == 2
    assert v2.status == Status.DRAFT
    assert {s.key: (s.data, s.prose) for s in v2.sections.all()} == {
        s.key: (s.data, s.prose) for s in active.sections.all()
    }


def test_only_one_version_under_work_at_a_time(active, marketer):
    services.version_create_draft(agreement=active.agreement, actor=marketer)
    with pytest.raises(services.AgreementError, match="already has a version under work"):
        services.version_create_draft(agreement=active.agreement, actor=marketer)
    assert active.agreement.versions.count() == 2


def test_only_a_draft_is_editable(active, marketer):
    with pytest.raises(services.VersionConflict, match="v1 is active, not draft"):
        services.version_update_section(
            version=active, key="icp", data=icp_data(10), prose="", actor=marketer
        )
    active.refresh_from_db()
    assert active.clauses.icp.criteria[0].value == 50


def test_invalid_clause_saves_nothing(draft, marketer):
    before = draft.section_map["icp"].data
    with pytest.raises(ClauseError) as exc:
        services.version_update_section(
            version=draft,
            key="icp",
            data={"criteria": [{"field": "mood", "op": "in", "value": ["happy"]}]},
            prose="changed",
            actor=marketer,
        )
    assert "criteria.0.field" in exc.value.errors
    section = draft.sections.get(key="icp")
    assert (section.data, section.prose) == (before, draft.section_map["icp"].prose)
    assert not draft.events.filter(kind=VersionEvent.Kind.EDITED).exists()


def test_reporting_recipients_must_be_users(draft, marketer):
    with pytest.raises(ClauseError) as exc:
        services.version_update_section(
            version=draft,
            key="reporting",
            data={"cadence": "monthly", "recipients": ["nobody"]},
            prose="",
            actor=marketer,
        )
    assert "recipients.0" in exc.value.errors


def test_approver_sends_back_to_draft_with_a_comment_and_signatures_clear(
    draft, marketer, marketing_approver, manager
):
    services.version_submit(version=draft, actor=marketer)
    services.version_sign(version=draft, side="marketing", actor=marketing_approver)
    with pytest.raises(ClauseError):
        services.version_return_to_draft(version=draft, actor=manager, comment="  ")
    services.version_return_to_draft(version=draft, actor=manager, comment="Warm pickup is too slow")
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.marketing_signed_by is None
    event = draft.events.get(kind=VersionEvent.Kind.RETURNED)
    assert (event.actor, event.comment) == (manager, "Warm pickup is too slow")


@pytest.mark.parametrize(
    ("who", "side"),
    [("marketer", "marketing"), ("manager", "marketing"), ("marketing_approver", "sales"), ("rep", "sales")],
)
def test_only_that_departments_approver_signs(request, draft, marketer, who, side):
    services.version_submit(version=draft, actor=marketer)
    with pytest.raises(services.NotAllowed):
        services.version_sign(version=draft, side=side, actor=request.getfixturevalue(who))
    draft.refresh_from_db()
    assert draft.marketing_signed_by is None
    assert draft.sales_signed_by is None


def test_one_person_cannot_sign_for_both_departments(draft, marketer):
    both = factories.UserFactory(
        username="both", roles=[factories.Role.MARKETING_APPROVER, factories.Role.SALES_MANAGER]
    )
    services.version_submit(version=draft, actor=marketer)
    services.version_sign(version=draft, side="marketing", actor=both)
    with pytest.raises(services.NotAllowed, match="two different people"):
        services.version_sign(version=draft, side="sales", actor=both)


def test_signing_twice_or_out_of_review_is_refused(draft, marketer, marketing_approver):
    with pytest.raises(services.VersionConflict, match="draft, not in review"):
        services.version_sign(version=draft, side="marketing", actor=marketing_approver)
    services.version_submit(version=draft, actor=marketer)
    services.version_sign(version=draft, side="marketing", actor=marketing_approver)
    with pytest.raises(services.AgreementError, match="already signed"):
        services.version_sign(version=draft, side="marketing", actor=marketing_approver)


def test_submit_refuses_a_draft_with_an_invalid_section(draft, marketer):
    # A section can only hold invalid data if it was written around the service (an older schema, say).
    draft.sections.filter(key="goals").update(data={"mqls_icp_per_month": -1})
    with pytest.raises(ClauseError):
        services.version_submit(version=draft, actor=marketer)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_sales_cannot_edit_or_start_drafts(active, rep, manager):
    for user in (rep, manager):
        with pytest.raises(services.NotAllowed):
            services.version_create_draft(agreement=active.agreement, actor=user)
