"""Celery tasks for reporting: thin wrappers over reporting.services and reporting.simulations."""

from __future__ import annotations

from celery import shared_task

from reporting import services, simulations


@shared_task(name="reporting.build_due_reports")
def build_due_reports() -> list[str]:
    return [f"{report.agreement_id}:{report.period}" for report in services.reports_build_due()]


# A year of a million leads takes minutes: longer than the default limit of a task.
@shared_task(name="reporting.run_simulation", time_limit=3600, soft_time_limit=3540)
def run_simulation(simulation_id: int) -> str:
    return simulations.simulation_run(simulation_id)


@shared_task(name="reporting.run_waiting_simulations")
def run_waiting_simulations() -> list[int]:
    """Start what a lost message or a dead worker left waiting (the beat, every minute)."""
    return simulations.simulations_restart()
