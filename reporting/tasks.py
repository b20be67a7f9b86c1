"""Celery tasks for reporting: thin wrappers over reporting.services."""

from __future__ import annotations

from celery import shared_task

from reporting import services


@shared_task(name="reporting.build_due_reports")
def build_due_reports() -> list[str]:
    return [f"{report.agreement_id}:{report.period}" for report in services.reports_build_due()]
