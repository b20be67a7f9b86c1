"""Evaluate a lead against a version's clauses. Pure: a snapshot and the clauses in, a verdict out.

The verdict says whether the lead fits the ICP, how warm marketing rates it, whether it is an MQL, whether
it is to be handed off and with what pickup time, and names every clause that matched or failed, so a
person can see why the software decided what it did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from agreements.clauses import (
    ICP_FIELDS,
    TEMPERATURES,
    Clauses,
    Handoff,
    Icp,
    IcpCriterion,
    Temperature,
    activity_label,
    criterion_sentence,
    format_number,
    hours_phrase,
    temperature_rule_sentence,
)


@dataclass(frozen=True)
class ActivitySnapshot:
    type: str
    occurred_at: datetime


@dataclass(frozen=True)
class LeadSnapshot:
    company_employees: int | None = None
    company_annual_revenue: Decimal | int | float | None = None
    company_industry: str = ""
    company_country: str = ""
    job_title: str = ""
    activities: tuple[ActivitySnapshot, ...] = field(default_factory=tuple)

    def value(self, name: str) -> Any:
        return getattr(self, name)


@dataclass(frozen=True)
class Check:
    clause: str  # e.g. "icp.1", "temperature.marketing.hot"
    matched: bool
    rule: str  # the clause as a sentence
    detail: str  # what the lead had

    def as_dict(self) -> dict[str, Any]:
        return {"clause": self.clause, "matched": self.matched, "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class Evaluation:
    icp_fit: bool
    marketing_temperature: str | None
    is_mql: bool
    transfer: bool
    pickup_hours: float | None
    checks: tuple[Check, ...]

    @property
    def deciding_clause(self) -> str:
        """The clause that decided the outcome: the pickup rule on a transfer, else the first failure."""
        if self.transfer:
            return f"handoff.pickup.{self.marketing_temperature}"
        failed = [c.clause for c in self.checks if not c.matched and c.clause.startswith("handoff.")]
        return failed[0] if failed else "handoff.threshold"


def _rank(temperature: str | None) -> int:
    return -1 if temperature is None else TEMPERATURES.index(temperature)


def _criterion_matches(criterion: IcpCriterion, value: Any) -> bool:
    if value is None or value == "":
        return False
    kind = ICP_FIELDS[criterion.field][1]
    if kind == "number":
        number = _exact(value)
        if criterion.op == "gte":
            return number >= _exact(criterion.value)
        if criterion.op == "lte":
            return number <= _exact(criterion.value)
        low, high = criterion.value
        return _exact(low) <= number <= _exact(high)
    # Text is compared without regard to case or surrounding space: "CTO" and "cto " are the same title.
    text = str(value).strip().casefold()
    options = {option.casefold() for option in criterion.value}
    return (text in options) if criterion.op == "in" else (text not in options)


def _exact(value: Any) -> int | Decimal:
    # Floats compare by their decimal text (0.1 is 0.1, not 0.1000000000000000055...); ints and Decimals
    # compare exactly as they are, and need no conversion (a replay asks this of every lead).
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    return Decimal(str(value))


def _describe(value: Any) -> str:
    if value is None or value == "":
        return "not known"
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    return format_number(value) if isinstance(value, int | float) else str(value)


def engagement_counts(
    activities: tuple[ActivitySnapshot, ...], temperature: Temperature, now: datetime
) -> Counter[str]:
    """Counts per activity type inside the window (now - window_days, now]."""
    return window_counts(((a.type, a.occurred_at) for a in activities), temperature, now)


def window_counts(
    activities: Iterable[tuple[str, datetime]], temperature: Temperature, now: datetime
) -> Counter[str]:
    """The same, of (type, occurred) pairs."""
    since = now - timedelta(days=temperature.window_days)
    known = temperature.activity_types
    return Counter(kind for kind, occurred in activities if kind in known and since < occurred <= now)


# The rules themselves, shared by `evaluate` (which also explains them) and `decide` (which does not).


def fits_icp(lead: LeadSnapshot, icp: Icp) -> bool:
    return all(_criterion_matches(criterion, lead.value(criterion.field)) for criterion in icp.criteria)


def level_met(counts: Counter[str], requirement: tuple[tuple[str, int], ...]) -> bool:
    return all(counts[activity] >= minimum for activity, minimum in requirement)


def marketing_temperature(counts: Counter[str], rules: Temperature) -> str | None:
    # The hottest level whose every minimum is met wins; levels are not required to nest.
    met = [level for level in TEMPERATURES if level_met(counts, rules.marketing_rules[level])]
    return met[-1] if met else None


def handoff_decision(temperature: str | None, icp_fit: bool, handoff: Handoff) -> tuple[bool, bool]:
    """(is an MQL, is handed off)."""
    is_mql = _rank(temperature) >= _rank(handoff.mql_threshold)
    return is_mql, is_mql and (icp_fit or not handoff.icp_fit_required)


def evaluate(lead: LeadSnapshot, clauses: Clauses, now: datetime) -> Evaluation:
    checks: list[Check] = []

    for index, criterion in enumerate(clauses.icp.criteria, start=1):
        value = lead.value(criterion.field)
        checks.append(
            Check(
                f"icp.{index}",
                _criterion_matches(criterion, value),
                criterion_sentence(criterion),
                f"{criterion.label}: {_describe(value)}",
            )
        )
    icp_fit = fits_icp(lead, clauses.icp)

    rules = clauses.temperature
    counts = engagement_counts(lead.activities, rules, now)
    for level in TEMPERATURES:
        requirement = rules.marketing_rules[level]
        detail = ", ".join(
            f"{activity_label(activity)} {counts[activity]}/{minimum}" for activity, minimum in requirement
        )
        checks.append(
            Check(
                f"temperature.marketing.{level}",
                level_met(counts, requirement),
                temperature_rule_sentence(level, requirement, rules.window_days),
                detail,
            )
        )
    temperature = marketing_temperature(counts, rules)

    handoff = clauses.handoff
    is_mql, transfer = handoff_decision(temperature, icp_fit, handoff)
    checks.append(
        Check(
            "handoff.threshold",
            is_mql,
            f"An MQL is a lead at {handoff.mql_threshold} or hotter.",
            f"marketing temperature: {temperature or 'none'}",
        )
    )
    if handoff.icp_fit_required:
        checks.append(
            Check(
                "handoff.icp",
                icp_fit,
                "Only MQLs that fit the ICP are handed off to sales.",
                "fits the ICP" if icp_fit else "does not fit the ICP",
            )
        )
    pickup_hours = handoff.pickup_hours.get(temperature) if transfer and temperature else None
    if transfer:
        checks.append(
            Check(
                f"handoff.pickup.{temperature}",
                True,
                f"Sales picks up a {temperature} lead within {hours_phrase(pickup_hours)}.",
                "handed off to sales",
            )
        )
    return Evaluation(icp_fit, temperature, is_mql, transfer, pickup_hours, tuple(checks))


def sales_temperature(
    *, product_potential: bool, purchase_timeframe_months: int, rules: Temperature
) -> tuple[str, Check]:
    """Sales' own rating after talking to the lead: purchase timeframe buckets, gated by product potential."""
    if not product_potential:
        level, clause = "cold", "temperature.sales.cold"
    elif purchase_timeframe_months < rules.sales_hot_below_months:
        level, clause = "hot", "temperature.sales.hot"
    elif purchase_timeframe_months <= rules.sales_warm_up_to_months:
        level, clause = "warm", "temperature.sales.warm"
    else:
        level, clause = "cold", "temperature.sales.cold"
    detail = (
        f"product potential: {'yes' if product_potential else 'no'}, "
        f"purchase timeframe: {purchase_timeframe_months} months"
    )
    return level, Check(clause, True, f"Sales rates the lead {level}.", detail)
