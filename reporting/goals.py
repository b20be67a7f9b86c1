"""The SLA's goals for a period beside the figures that measure them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from agreements.models import Agreement, AgreementVersion
from reporting.periods import Period


def version_in_force(agreement: Agreement, at: datetime) -> AgreementVersion | None:
    return (
        AgreementVersion.objects.filter(agreement=agreement, effective_from__lte=at)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=at))
        .prefetch_related("sections")
        .first()
    )


def goal_rows(
    agreements: list[Agreement], figures: dict[str, Any], period: Period, end: datetime
) -> list[dict[str, Any]]:
    version = version_in_force(agreements[0], end - timedelta(microseconds=1))
    if version is None:
        return []
    goals = version.clauses.goals
    months = period.months
    rows = [
        (
            "marketing",
            "ICP-fit MQLs",
            "goals.marketing.mqls",
            goals.mqls_icp_per_month * months,
            figures["mqls_icp_match"],
            True,
        ),
        (
            "marketing",
            "Touches per account per month",
            "goals.marketing.touches",
            goals.touches_per_account_per_month,
            figures["touches_per_account_per_month"],
            True,
        ),
        (
            "sales",
            "% picked up within the deadline",
            "goals.sales.pickup",
            goals.pickup_within_sla_pct,
            figures["pickup_within_sla_pct"],
            True,
        ),
        (
            "sales",
            "% of handed-off leads accepted",
            "goals.sales.acceptance",
            goals.acceptance_rate_pct,
            figures["acceptance_rate_pct"],
            True,
        ),
        ("sales", "Deals won", "goals.sales.won", goals.deals_won_per_month * months, figures["won"], True),
    ]
    return [
        {
            "department": department,
            "goal": name,
            "clause": f"v{version.number} §{clause}",
            "target": round(target, 2) if isinstance(target, float) else target,
            "actual": actual,
            "met": None if actual is None else (actual >= target if higher_is_better else actual <= target),
        }
        for department, name, clause, target, actual, higher_is_better in rows
    ]
