from __future__ import annotations

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
