"""The example agreement of the seed article ("What should the SLA contract contain?"), as clause data.

`seed_demo` signs it into force; tests build on it through tests/factories.py.
"""

from __future__ import annotations

import copy
from typing import Any

from agreements.clauses import DEFAULT_ACTIVITY_TYPES

_SECTIONS: dict[str, dict[str, Any]] = {
    "terms": {
        "prose": (
            "Marketing and sales use these words in one sense only. A lead for marketing is not yet a lead "
            "for sales: marketing earns **contact data** in exchange for content, sales needs **a "
            "conversation** with a buyer."
        ),
        "data": {
            "marketing_lead_definition": "A contact who left their data in exchange for access to our content.",
            "sales_lead_definition": "A contact who agreed to a meeting with a sales rep.",
            "glossary": [
                {
                    "term": "MQL",
                    "definition": "A lead whose marketing temperature reached the handoff threshold.",
                },
                {
                    "term": "ICP",
                    "definition": "The Ideal Customer Profile: measurable traits of the companies we sell to.",
                },
                {"term": "Pickup", "definition": "A sales rep accepting or rejecting a handed-off lead."},
            ],
        },
    },
    "icp": {
        "prose": 'Only parameters marketing can measure belong here; "a customer who wants to buy" is not one.',
        "data": {"criteria": [{"field": "company_employees", "op": "gte", "value": 50}]},
    },
    "temperature": {
        "prose": (
            "Marketing rates a lead by how often it engaged with our content. Sales rates it after a phone "
            "call, by product potential and purchase timeframe."
        ),
        "data": {
            "activity_types": list(DEFAULT_ACTIVITY_TYPES),
            "window_days": 90,
            "owner": "marketing",
            "marketing_rules": {
                "cold": {"webinar_registration": 1},
                "warm": {"webinar_attendance": 1, "ebook_download": 1},
                "hot": {"webinar_attendance": 2, "ebook_download": 1},
            },
            "sales_hot_below_months": 6,
            "sales_warm_up_to_months": 12,
        },
    },
    "goals": {
        "prose": (
            "The common goal is revenue. Marketing's goals follow from sales' goals: reach the buyer in time, "
            "through several channels."
        ),
        "data": {
            "mqls_icp_per_month": 20,
            "touches_per_account_per_month": 3,
            "pickup_within_sla_pct": 90,
            "acceptance_rate_pct": 60,
            "deals_won_per_month": 4,
        },
    },
    "handoff": {
        "prose": "Marketing matures leads until they are MQLs that fit the ICP; then sales owns the next step.",
        "data": {
            "mql_threshold": "warm",
            "icp_fit_required": True,
            "pickup_hours": {"hot": 1, "warm": 8},
            "timezone": "Europe/Warsaw",
            "working_days": [0, 1, 2, 3, 4],
            "workday_start": "09:00",
            "workday_end": "17:00",
            "holiday_country": "PL",
            "holiday_subdivision": "",
            "assignment": "round_robin",
            "escalation_notify_manager": True,
            "escalation_reassign": True,
            "nurture_owner": "Marketing (content and webinars team)",
            "rejection_reasons": [
                {
                    "code": "not_ready",
                    "label": "Not ready to buy yet",
                    "destination": "nurture",
                    "recycle_days": None,
                },
                {
                    "code": "no_fit",
                    "label": "Not a fit for our product",
                    "destination": "disqualify",
                    "recycle_days": None,
                },
                {
                    "code": "no_budget",
                    "label": "No budget this year",
                    "destination": "recycle",
                    "recycle_days": 90,
                },
            ],
        },
    },
    "reporting": {
        "prose": "One report, approved by both sides, is the single source of truth.",
        "data": {"cadence": "monthly", "recipients": ["manager", "marketing_lead"]},
    },
    "feedback": {
        "prose": "Both departments stay in constant contact; reps answer these after each first conversation.",
        "data": {
            "questions": [
                {"code": "talk", "text": "How did the talk with the lead go?"},
                {
                    "code": "interesting",
                    "text": "Which contacts turned out to be the most interesting, and why?",
                },
                {"code": "missing_info", "text": "What additional information does sales need?"},
            ]
        },
    },
}


def demo_sections() -> dict[str, dict[str, Any]]:
    """A fresh copy of the demo agreement's sections: {key: {"data": ..., "prose": ...}}."""
    return copy.deepcopy(_SECTIONS)
