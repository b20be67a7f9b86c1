from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements import services
from agreements.models import AgreementVersion
from tests import factories

pytestmark = pytest.mark.django_db
Status = AgreementVersion.Status

# Who may open or post to each view: tests/test_authorization.py.


def test_reader_sees_every_section_as_sentences(client, active, rep):
    client.force_login(rep)
    response = client.get(reverse("agreements:version", args=[active.agreement_id, 1]))
    html = response.content.decode()
    assert "A lead is hot when, within 90 days, it attended 2 webinars and downloaded 1 e-book." in html
    assert "v1 §handoff.pickup.warm" in html
    assert "Edit" not in html
    assert "Sign for" not in html


def test_htmx_edit_saves_one_section_and_returns_its_fragment(client, draft, marketer):
    client.force_login(marketer)
    url = reverse("agreements:section_edit", args=[draft.agreement_id, 1, "icp"])
    form = client.get(url, HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert 'id="section-icp"' in form.content.decode()
    assert "<html" not in form.content.decode()
    data = {
        "criteria-TOTAL_FORMS": "2",
        "criteria-INITIAL_FORMS": "1",
        "criteria-0-field": "company_employees",
        "criteria-0-op": "between",
        "criteria-0-value": "50 - 5 000",
        "criteria-1-field": "company_country",
        "criteria-1-op": "in",
        "criteria-1-value": "pl, de",
        "prose": "Mid-size companies in **Poland** and Germany.",
    }
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "The number of employees is between 50 and 5 000." in html
    assert "The country is one of: PL, DE." in html
    assert "<strong>Poland</strong>" in html
    draft.refresh_from_db()
    assert draft.sections.get(key="icp").data["criteria"][1] == {
        "field": "company_country",
        "op": "in",
        "value": ["PL", "DE"],
    }


def test_invalid_icp_value_shows_inline_error_and_saves_nothing(client, draft, marketer):
    client.force_login(marketer)
    before = draft.sections.get(key="icp").data
    url = reverse("agreements:section_edit", args=[draft.agreement_id, 1, "icp"])
    data = {
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "1",
        "criteria-0-field": "company_employees",
        "criteria-0-op": "gte",
        "criteria-0-value": "lots",
        "prose": "",
    }
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Enter a number." in response.content.decode()
    # A semantic error from the clause rules lands on its field too.
    data.update({"criteria-0-field": "company_industry", "criteria-0-op": "gte", "criteria-0-value": "5"})
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "compares numbers; use in or not in" in response.content.decode()
    assert draft.sections.get(key="icp").data == before


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"criteria-TOTAL_FORMS": "x"},
        {"criteria-TOTAL_FORMS": "99999", "criteria-INITIAL_FORMS": "0"},
        {
            "criteria-TOTAL_FORMS": "1",
            "criteria-INITIAL_FORMS": "0",
            "criteria-0-op": "between",
            "criteria-0-value": "1-",
        },
    ],
)
def test_malformed_posts_get_errors_not_500(client, draft, marketer, payload):
    client.force_login(marketer)
    url = reverse("agreements:section_edit", args=[draft.agreement_id, 1, "icp"])
    response = client.post(url, payload, HTTP_HX_REQUEST="true")
    assert response.status_code == 422


@pytest.mark.parametrize("key", ["terms", "icp", "temperature", "goals", "handoff", "reporting", "feedback"])
def test_each_editor_saves_its_own_initial_values_unchanged(client, draft, marketer, key):
    """Open the editor, submit it as it is: the section must come back identical (no lossy round trip)."""
    client.force_login(marketer)
    url = reverse("agreements:section_edit", args=[draft.agreement_id, 1, key])
    editor = client.get(url).context["editor"]
    payload = {}
    forms = [editor.form] + [f for fs in editor.formsets.values() for f in fs.forms]
    for name, fs in editor.formsets.items():
        mgmt = fs.management_form
        payload.update({f"{name}-{k}": v for k, v in mgmt.initial.items()})
    for form in forms:
        for field in form:
            value = field.value()
            if value in (None, False):
                continue
            if isinstance(value, list):
                payload[field.html_name] = [str(v) for v in value]
            elif value is True:
                payload[field.html_name] = "on"
            else:
                payload[field.html_name] = str(value)
    before = draft.sections.get(key=key).data
    response = client.post(url, payload)
    assert response.status_code == 302, (
        response.context["editor"].form.errors if response.context else response
    )
    assert draft.sections.get(key=key).data == before


def test_editing_an_active_version_is_refused_in_place(client, active, marketer):
    client.force_login(marketer)
    url = reverse("agreements:section_edit", args=[active.agreement_id, 1, "icp"])
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "only a draft can be edited" in response.content.decode()


def test_sign_flow_in_the_browser(client, draft, marketer, marketing_approver, manager):
    client.force_login(marketer)
    client.post(reverse("agreements:submit", args=[draft.agreement_id, 1]))
    client.force_login(marketing_approver)
    page = client.get(reverse("agreements:version", args=[draft.agreement_id, 1])).content.decode()
    assert "Sign for marketing" in page
    assert "Sign for sales" not in page
    client.post(
        reverse("agreements:sign", args=[draft.agreement_id, 1]), {"side": "marketing", "confirm": "on"}
    )
    client.force_login(manager)
    response = client.post(
        reverse("agreements:sign", args=[draft.agreement_id, 1]),
        {"side": "sales", "confirm": "on"},
        follow=True,
    )
    assert "is now in force" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.ACTIVE


def test_approver_cannot_sign_the_other_side(client, draft, marketer, manager):
    services.version_submit(version=draft, actor=marketer)
    client.force_login(manager)
    response = client.post(reverse("agreements:sign", args=[draft.agreement_id, 1]), {"side": "marketing"})
    assert response.status_code == 403


def test_return_without_comment_shows_inline_error(client, draft, marketer, manager):
    services.version_submit(version=draft, actor=marketer)
    client.force_login(manager)
    response = client.post(reverse("agreements:return", args=[draft.agreement_id, 1]), {"comment": ""})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW


def test_compare_shows_changed_rules_side_by_side(client, active, v2, marketer):
    client.force_login(marketer)
    response = client.get(reverse("agreements:compare", args=[active.agreement_id]), {"a": 1, "b": 2})
    html = response.content.decode()
    # The changed number is marked inside the sentence, the rest of it reads as it is.
    assert "The number of employees is ≥ " in html
    assert '<del class="words"><span class="visually-hidden">removed: </span>50.</del>' in html
    assert '<ins class="words"><span class="visually-hidden">added: </span>250.</ins>' in html
    assert 'class="replace"' in html
    bad = client.get(reverse("agreements:compare", args=[active.agreement_id]), {"a": 1, "b": 9})
    assert bad.status_code == 400
    assert "9 is not one of the available choices" in bad.content.decode()
    junk = client.get(reverse("agreements:compare", args=[active.agreement_id]), {"a": "x"})
    assert junk.status_code == 400


def count_queries(client, url):
    # Warmed up first: a session's first visit may write to it, which is not what these tests measure.
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_history_and_list_run_a_constant_number_of_queries(client, marketer, marketing_approver, manager):
    client.force_login(marketer)
    agreement = factories.active_agreement(
        author=marketer, marketing_approver=marketing_approver, sales_approver=manager
    )
    history = reverse("agreements:history", args=[agreement.pk])
    few = count_queries(client, history), count_queries(client, reverse("agreements:list"))
    for n in range(4):
        version = services.version_create_draft(agreement=agreement, actor=marketer)
        criteria = [{"field": "company_employees", "op": "gte", "value": 100 + n}]
        services.version_update_section(
            version=version, key="icp", data={"criteria": criteria}, prose="", actor=marketer
        )
        factories.activate(
            version, author=marketer, marketing_approver=marketing_approver, sales_approver=manager
        )
        factories.active_agreement(
            author=marketer, marketing_approver=marketing_approver, sales_approver=manager, name=f"Other {n}"
        )
    many = count_queries(client, history), count_queries(client, reverse("agreements:list"))
    assert many == few, f"history/list queries grew from {few} to {many} with more versions"


def test_document_page_query_count_does_not_depend_on_rule_count(client, draft, marketer):
    client.force_login(marketer)
    url = reverse("agreements:version", args=[draft.agreement_id, 1])
    few = count_queries(client, url)
    criteria = [{"field": "company_employees", "op": "gte", "value": n} for n in range(20)]
    services.version_update_section(
        version=draft, key="icp", data={"criteria": criteria}, prose="", actor=marketer
    )
    assert count_queries(client, url) == few


def test_an_untouched_blank_row_is_not_an_error(client, draft, marketer):
    client.force_login(marketer)
    url = reverse("agreements:section_edit", args=[draft.agreement_id, 1, "icp"])
    data = {
        "criteria-TOTAL_FORMS": "2",
        "criteria-INITIAL_FORMS": "1",
        "criteria-0-field": "company_employees",
        "criteria-0-op": "gte",
        "criteria-0-value": "75",
        "criteria-1-field": "",
        "criteria-1-op": "",
        "criteria-1-value": "",
        "prose": "",
    }
    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert draft.sections.get(key="icp").data["criteria"] == [
        {"field": "company_employees", "op": "gte", "value": 75}
    ]
