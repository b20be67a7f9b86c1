"""Simulations as marketing asks for them (reporting.simulations): validated like the editor, stored with
their clauses, run by the task with progress, cancellable, restarted after a lost message or worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agreements.models import Agreement
from demo.history import seed_leads
from demo.sla import seed_agreements
from reporting import simulations
from reporting.models import Simulation
from reporting.simulations import SimulationError

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW)]


@pytest.fixture
def demo(db):
    seed_agreements()
    seed_leads(count=80, now=NOW)
    return Agreement.objects.get()


@pytest.fixture
def queued(monkeypatch):
    """The ids the services queued, instead of a broker."""
    ids: list[int] = []

    def send_task(name, args, **options):
        assert name == "reporting.run_simulation"
        ids.append(args[0])

    monkeypatch.setattr(simulations.current_app, "send_task", send_task)
    return ids


def _marketer():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="marketing")


def test_a_change_to_the_version_in_force_is_stored_queued_and_run(
    demo, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        simulation = simulations.simulation_request(
            agreement=demo, user=_marketer(), changes={"mql_threshold": "hot"}
        )
    assert queued == [simulation.pk]
    assert simulation.status == "queued"
    assert simulation.sections["handoff"]["mql_threshold"] == "hot"
    assert (simulation.start, simulation.end) == (
        datetime(2025, 10, 31, 23, 0, tzinfo=UTC),  # November 2025 in Warsaw
        datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    )
    assert simulations.simulation_run(simulation.pk) == "done"
    simulation.refresh_from_db()
    assert (simulation.status, simulation.progress) == ("done", 1.0)
    assert simulation.leads_total > 0
    results = simulation.results
    assert results["months"][0]["month"] == "2025-11"
    assert len(results["months"]) == 12
    assert results["fidelity"]["share"] >= 0.995
    assert results["changed_leads"] > 0
    assert results["changed"][0]["simulated"]["checks"]
    recorded = sum(m["recorded"].get("handoffs", 0) for m in results["months"])
    simulated = sum(m["simulated"].get("handoffs", 0) for m in results["months"])
    assert simulated < recorded
    assert simulations.simulation_run(simulation.pk) == "done"  # a second delivery runs nothing


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"mql_threshold": "boiling"}, "mql_threshold", "one of: cold, warm, hot"),
        ({"pickup_deadlines_business_hours": {"hot": -1, "warm": 8}}, "pickup_deadlines_business_hours", ""),
        ({"calendar": {"working_days": "weekdays"}}, "calendar", ""),
        ({"calendar": {"colour": "red"}}, "calendar", "colour"),
        ({"sales_hot_below_months": 3}, "sales_hot_below_months", "one of"),
        ({}, "changes", "at least one"),
        ("hot", "changes", "at least one"),
    ],
)
def test_invalid_changes_get_field_errors_and_store_nothing(demo, queued, changes, field, words):
    with pytest.raises(SimulationError) as refused:
        simulations.simulation_request(agreement=demo, user=_marketer(), changes=changes)
    assert set(refused.value.errors) == {field}
    assert words in " ".join(refused.value.errors[field])
    assert not Simulation.objects.exists()
    assert queued == []


def test_a_window_in_the_future_or_backwards_is_refused(demo):
    with pytest.raises(SimulationError) as future:
        simulations.simulation_request(
            agreement=demo, user=_marketer(), changes={"mql_threshold": "hot"}, end=NOW + timedelta(days=1)
        )
    assert "to" in future.value.errors
    with pytest.raises(SimulationError) as backwards:
        simulations.simulation_request(
            agreement=demo,
            user=_marketer(),
            changes={"mql_threshold": "hot"},
            start=NOW - timedelta(days=1),
            end=NOW - timedelta(days=2),
        )
    assert "from" in backwards.value.errors


def test_only_marketing_simulates(demo):
    from django.contrib.auth import get_user_model

    rep = get_user_model().objects.get(username="sales1")
    with pytest.raises(PermissionError):
        simulations.simulation_request(agreement=demo, user=rep, changes={"mql_threshold": "hot"})
    assert simulations.can_view(get_user_model().objects.get(username="manager"))
    assert not simulations.can_view(rep)


def test_a_running_simulation_stops_when_cancelled(demo, queued, monkeypatch):
    simulation = simulations.simulation_request(
        agreement=demo, user=_marketer(), changes={"mql_threshold": "hot"}
    )
    monkeypatch.setattr(simulations, "PROGRESS_EVERY", 1)
    real = simulations._claim

    def claim_then_cancel(pk, now):
        taken = real(pk, now)
        simulations.simulation_cancel(simulation=Simulation.objects.get(pk=pk), user=_marketer())
        return taken

    monkeypatch.setattr(simulations, "_claim", claim_then_cancel)
    assert simulations.simulation_run(simulation.pk) == "cancelled"
    simulation.refresh_from_db()
    assert (simulation.status, simulation.results) == ("cancelled", None)


def test_a_queued_simulation_cancelled_never_runs(demo, queued):
    simulation = simulations.simulation_request(
        agreement=demo, user=_marketer(), changes={"mql_threshold": "hot"}
    )
    assert simulations.simulation_cancel(simulation=simulation, user=_marketer()).status == "cancelled"
    assert simulations.simulation_run(simulation.pk) == "cancelled"


def test_a_lost_message_or_a_dead_worker_is_restarted_once(demo, queued, time_machine):
    lost = simulations.simulation_request(agreement=demo, user=_marketer(), changes={"mql_threshold": "hot"})
    dead = simulations.simulation_request(
        agreement=demo, user=_marketer(), changes={"icp_fit_required": False}
    )
    Simulation.objects.filter(pk=dead.pk).update(status="running", heartbeat_at=NOW)
    assert simulations.simulations_restart() == []  # too early to tell
    time_machine.move_to(NOW + timedelta(minutes=6))
    assert sorted(simulations.simulations_restart()) == sorted([lost.pk, dead.pk])
    assert simulations.simulation_run(dead.pk) == "done"
    assert simulations.simulation_run(dead.pk) == "done"


def test_a_run_that_fails_says_why(demo, queued):
    simulation = simulations.simulation_request(
        agreement=demo, user=_marketer(), changes={"mql_threshold": "hot"}
    )
    Simulation.objects.filter(pk=simulation.pk).update(sections={"handoff": {}})
    assert simulations.simulation_run(simulation.pk) == "failed"
    simulation.refresh_from_db()
    assert simulation.status == "failed"
    assert simulation.error.startswith("ClauseError")


def test_the_same_request_while_one_waits_gets_that_one(demo, queued, django_capture_on_commit_callbacks):
    ask = {"agreement": demo, "user": _marketer(), "changes": {"mql_threshold": "hot"}}
    with django_capture_on_commit_callbacks(execute=True):
        first = simulations.simulation_request(**ask)
        again = simulations.simulation_request(**ask)
        other = simulations.simulation_request(**{**ask, "changes": {"mql_threshold": "warm"}})
    assert again.pk == first.pk
    assert other.pk != first.pk
    assert queued == [first.pk, other.pk]  # queued once each
    assert simulations.simulation_run(first.pk) == "done"
    with django_capture_on_commit_callbacks(execute=True):
        after = simulations.simulation_request(**ask)  # a finished one is not reused: the data moved on
    assert after.pk not in (first.pk, other.pk)
