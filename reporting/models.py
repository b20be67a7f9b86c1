from __future__ import annotations

from django.conf import settings
from django.db import models

from agreements.models import Agreement, AgreementVersion


class MonthlyReport(models.Model):
    """A stored report of one agreement for one period (a month, or a quarter when the SLA says so)."""

    class Kind(models.TextChoices):
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    period = models.CharField(max_length=10, help_text="2026-10 or 2026-Q3")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    sla_version = models.ForeignKey(
        AgreementVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version in force at the end of the period, whose goals the report compares with.",
    )
    figures = models.JSONField()
    built_at = models.DateTimeField()

    class Meta:
        ordering = ["agreement", "-period_start"]
        constraints = [models.UniqueConstraint(fields=["agreement", "period"], name="one_report_per_period")]

    def __str__(self) -> str:
        return f"{self.agreement} {self.period}"


class Simulation(models.Model):
    """A what-if: an agreement's leads of a period replayed under other clauses (reporting.replay), run
    by a Celery task. The clauses replayed and the window are stored with the results, so a past
    simulation shows again as it was, whatever happened to the draft since."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="simulations")
    version = models.ForeignKey(
        AgreementVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="simulations",
        help_text="The version simulated; for changes to the version in force, that version.",
    )
    changes = models.JSONField(
        default=dict, blank=True, help_text="Changes applied to the version's clauses."
    )
    sections = models.JSONField(help_text="The clauses replayed: each section's data.")
    start = models.DateTimeField()
    end = models.DateTimeField()
    tz = models.CharField(max_length=64, help_text="The zone the months are counted in.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    leads_total = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    # The running task touches it as it goes: a run that stopped touching it died with its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="simulation_status_idx")]

    def __str__(self) -> str:
        return f"Simulation {self.pk} of {self.agreement} ({self.status})"
