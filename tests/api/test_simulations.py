"""The simulations API: marketing asks for a what-if, anyone who signs reads its progress and results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agreements import services as agreement_services
from reporting import simulations
from reporting.models import Simulation
from tests.factories import HOT, WARM, make_lead

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]


@pytest.fixture
def history(pipeline):
    pipeline.versions.update(effective_from=NOW - timedelta(days=400))
    make_lead(external_id="warm", now=NOW - timedelta(days=40), activities=WARM)
    make_lead(external_id="hot", now=NOW - timedelta(days=35), activities=HOT)
    return pipeline


def _post(client, agreement, body):
    return client.post(f"/api/v1/agreements/{agreement.pk}/simulations", body, format="json")


def test_a_simulation_is_queued_then_read_with_its_results(api, marketer, manager, history):
    response = _post(api(marketer), history, {"changes": {"mql_threshold": "hot"}, "from": "2026-09-01"})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert response["Location"] == body["url"] == f"/api/v1/simulations/{body['id']}"
    reader = api(manager)
    queued = reader.get(body["url"]).json()
    assert (queued["status"], queued["results"], queued["changes"]) == (
        "queued",
        None,
        {"mql_threshold": "hot"},
    )
    assert queued["period_start"] == "2026-08-31T22:00:00Z"  # Warsaw's 1 September
    assert queued["period_end"] == "2026-10-31T23:00:00Z"  # the last ended month, by default
    assert simulations.simulation_run(body["id"]) == "done"
    done = reader.get(body["url"]).json()
    assert (done["status"], done["progress"]) == ("done", 1.0)
    months = {m["month"]: m for m in done["results"]["months"]}
    assert list(months) == ["2026-09", "2026-10"]
    assert months["2026-10"]["recorded"]["handoffs"] == 2
    # Two reps took October's two handoffs, over its 22 business days; no pickups yet.
    assert months["2026-10"]["simulated"] == {
        "mqls": 1,
        "mqls_icp": 1,
        "handoffs": 1,
        "handoffs_cold": 0,
        "handoffs_warm": 0,
        "handoffs_hot": 1,
        "pickups": 0,
        "pickups_late": 0,
        "pickups_in_time": None,
        "reps": 2,
        "business_days": 22,
        "load_handoffs": 1,
        "load_mean": 0.02,
        "load_max": 1,
    }
    assert months["2026-10"]["recorded"]["load_mean"] == 0.05  # 2 / (2 reps × 22 days)
    assert done["results"]["fidelity"]["share"] == 1.0
    assert done["results"]["changed_leads"] == 1
    changed = done["results"]["changed"][0]
    assert changed["external_id"] == "warm"
    assert changed["url"] == f"/leads/{changed['lead_id']}/"
    assert changed["changes"] == ["is no longer an MQL", "is not handed off"]


def test_a_draft_is_simulated_by_its_number(api, marketer, history):
    draft = agreement_services.version_create_draft(agreement=history, actor=marketer)
    handoff = draft.section_map["handoff"]
    agreement_services.version_update_section(
        version=draft, key="handoff", data={**handoff.data, "mql_threshold": "hot"}, prose="", actor=marketer
    )
    response = _post(
        api(marketer), history, {"version": draft.number, "from": "2026-10-01", "to": "2026-10-31"}
    )
    assert response.status_code == 202, response.json()
    simulation = Simulation.objects.get()
    assert (simulation.version, simulation.sections["handoff"]["mql_threshold"]) == (draft, "hot")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changes": {"mql_threshold": "boiling"}}, "changes.mql_threshold"),
        ({"changes": {"pickup_deadlines_business_hours": "soon"}}, "changes.pickup_deadlines_business_hours"),
        (
            {"changes": {"pickup_deadlines_business_hours": {"hot": -1}}},
            "changes.pickup_deadlines_business_hours",
        ),
        ({"changes": {"colour": "red"}}, "changes.colour"),
        ({"changes": {"mql_threshold": "hot"}, "from": "0001-01-01"}, "from"),
        ({"changes": {"mql_threshold": "hot"}, "to": "9999-12-31"}, "to"),
        ({"version": 99}, "version"),
        ({"version": "one"}, "version"),
        ({}, "version"),
        ({"version": 1, "changes": {"mql_threshold": "hot"}}, "version"),
        ({"changes": {"mql_threshold": "hot"}, "from": "2026-13-01"}, "from"),
        ({"changes": {"mql_threshold": "hot"}, "to": "2026-12-31"}, "to"),
        ({"changes": {"mql_threshold": "hot"}, "from": "2026-10-05", "to": "2026-10-01"}, "from"),
        ({"changes": {"mql_threshold": "hot"}, "form": "2026-10-01"}, "form"),
        ({"changes": []}, "changes"),
        ([1, 2], ""),
    ],
)
def test_bad_requests_get_field_errors_and_store_nothing(api, marketer, history, body, field):
    response = _post(api(marketer), history, body)
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()
    assert not Simulation.objects.exists()


def test_an_unknown_agreement_or_simulation_is_a_404(api, marketer, history):
    assert _post(api(marketer), history, {"changes": {}}).status_code == 400
    response = api(marketer).post("/api/v1/agreements/987654/simulations", {"changes": {}}, format="json")
    assert response.status_code == 404
    assert api(marketer).get("/api/v1/simulations/987654").status_code == 404


def test_a_read_only_token_cannot_start_one_and_a_simulation_can_be_cancelled(api, marketer, history):
    response = _post(api(marketer, scopes=["read"]), history, {"changes": {"mql_threshold": "hot"}})
    assert response.status_code == 403
    url = _post(api(marketer), history, {"changes": {"mql_threshold": "hot"}}).json()["url"]
    cancelled = api(marketer).post(f"{url}/cancel", format="json")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


def test_results_stored_before_the_load_and_pickup_figures_read_complete(api, marketer, history):
    from tests.reporting.test_simulation_views import OLD_RESULTS

    simulation = simulations.simulation_request(
        agreement=history, user=marketer, changes={"mql_threshold": "hot"}
    )
    Simulation.objects.filter(pk=simulation.pk).update(status="done", progress=1.0, results=OLD_RESULTS)
    body = api(marketer).get(f"/api/v1/simulations/{simulation.pk}").json()
    recorded, simulated = body["results"]["months"][0]["recorded"], body["results"]["months"][0]["simulated"]
    assert (simulated["handoffs"], simulated["handoffs_hot"], simulated["mqls_icp"]) == (1, 0, 0)
    assert (recorded["pickups"], recorded["pickups_in_time"], recorded["load_mean"], recorded["reps"]) == (
        0,
        None,
        None,
        0,
    )
