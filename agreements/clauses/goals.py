"""Section 4, Goals: each side's monthly targets, which the reports measure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements.clauses.kit import Section, _Collector, _int, _number, _obj

FIELDS: tuple[str, ...] = (
    "mqls_icp_per_month",
    "touches_per_account_per_month",
    "pickup_within_sla_pct",
    "acceptance_rate_pct",
    "deals_won_per_month",
)
# The goals that are shares (0–100, fractions allowed); the others are whole counts.
PERCENT_FIELDS: tuple[str, ...] = ("pickup_within_sla_pct", "acceptance_rate_pct")


@dataclass(frozen=True)
class Goals:
    mqls_icp_per_month: int
    touches_per_account_per_month: int
    pickup_within_sla_pct: float
    acceptance_rate_pct: float
    deals_won_per_month: int


def parse_goals(data: Any) -> Goals:
    errs = _Collector()
    data = _obj(data, FIELDS, errs)
    mqls = _int(data, "mqls_icp_per_month", errs, "", lo=0, hi=10_000_000)
    touches = _int(data, "touches_per_account_per_month", errs, "", lo=0, hi=1000)
    pcts = []
    for key in PERCENT_FIELDS:
        if data.get(key) in (None, ""):
            errs.add(key, "This field is required.")
            pcts.append(None)
        else:
            pcts.append(_number(data.get(key), errs, key, lo=0, hi=100))
    won = _int(data, "deals_won_per_month", errs, "", lo=0, hi=10_000_000)
    errs.raise_if_any()
    return Goals(mqls, touches, pcts[0], pcts[1], won)


def to_data(section: Goals) -> dict[str, Any]:
    return {key: getattr(section, key) for key in FIELDS}


def sentences(section: Goals) -> list[tuple[str, str]]:
    return [
        ("goals.marketing.mqls", f"Marketing delivers {section.mqls_icp_per_month} ICP-fit MQLs a month."),
        (
            "goals.marketing.touches",
            f"Marketing touches each target account {section.touches_per_account_per_month} times a month.",
        ),
        (
            "goals.sales.pickup",
            f"Sales picks up {section.pickup_within_sla_pct:g}% of handed-off leads within the deadline.",
        ),
        ("goals.sales.acceptance", f"Sales accepts {section.acceptance_rate_pct:g}% of handed-off leads."),
        ("goals.sales.won", f"Sales wins {section.deals_won_per_month} deals a month."),
    ]


SECTION = Section("goals", "4. Goals", Goals, parse_goals, to_data, sentences)
