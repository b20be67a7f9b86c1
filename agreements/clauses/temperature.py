"""Section 3, Lead temperature: marketing's rules (activity counts in a window) and sales' timeframes.

Owns the activity types a lead's engagement is counted in, their default list and how they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agreements.clauses.kit import (
    TEMPERATURES,
    Section,
    _choice,
    _code,
    _Collector,
    _int,
    _join,
    _list,
    _obj,
)

SIDES = {"marketing": "Marketing", "sales": "Sales"}
DEFAULT_ACTIVITY_TYPES: tuple[str, ...] = (
    "webinar_registration",
    "webinar_attendance",
    "ebook_download",
    "form_submission",
    "email_click",
    "demo_request",
)
# How each default activity reads with a count; a custom type falls back to its code in words.
_VERBS: dict[str, tuple[str, str]] = {
    "webinar_registration": ("registered for {n} webinar", "registered for {n} webinars"),
    "webinar_attendance": ("attended {n} webinar", "attended {n} webinars"),
    "ebook_download": ("downloaded {n} e-book", "downloaded {n} e-books"),
    "form_submission": ("submitted {n} form", "submitted {n} forms"),
    "email_click": ("clicked {n} e-mail", "clicked {n} e-mails"),
    "demo_request": ("requested {n} demo", "requested {n} demos"),
}


@dataclass(frozen=True)
class Temperature:
    activity_types: tuple[str, ...]
    window_days: int
    owner: str
    # level -> ((activity_type, minimum count), ...); a level is reached when every minimum is met
    marketing_rules: dict[str, tuple[tuple[str, int], ...]]
    sales_hot_below_months: int
    sales_warm_up_to_months: int


def parse_temperature(data: Any) -> Temperature:
    errs = _Collector()
    data = _obj(
        data,
        (
            "activity_types",
            "window_days",
            "owner",
            "marketing_rules",
            "sales_hot_below_months",
            "sales_warm_up_to_months",
        ),
        errs,
    )
    types: list[str] = []
    for index, raw in enumerate(_list(data, "activity_types", errs, "", min_items=1)):
        code = _code(raw, errs, f"activity_types.{index}")
        if code and code in types:
            errs.add(f"activity_types.{index}", "This activity type appears twice.")
        elif code:
            types.append(code)
    window = _int(data, "window_days", errs, "", lo=1, hi=3650)
    owner = _choice(data, "owner", SIDES, errs, "")
    rules_raw = data.get("marketing_rules")
    rules: dict[str, tuple[tuple[str, int], ...]] = {}
    if not isinstance(rules_raw, dict):
        errs.add("marketing_rules", "Must be an object with cold, warm and hot.")
        rules_raw = {}
    for key in sorted(set(rules_raw) - set(TEMPERATURES)):
        errs.add(f"marketing_rules.{key}", "Unknown temperature; use cold, warm or hot.")
    for level in TEMPERATURES:
        raw = rules_raw.get(level)
        path = f"marketing_rules.{level}"
        if not isinstance(raw, dict) or not raw:
            errs.add(path, f"Say which activities make a lead {level}.")
            continue
        requirement = []
        for activity, count in raw.items():
            if activity not in types:
                errs.add(path, f"{activity!r} is not one of the activity types.")
                continue
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
                errs.add(path, f"The count for {activity} must be a whole number from 1 to 1000.")
                continue
            requirement.append((activity, count))
        # Kept in the order of the activity list, so sentences read the same way every time.
        rules[level] = tuple(sorted(requirement, key=lambda item: types.index(item[0])))
    hot_below = _int(data, "sales_hot_below_months", errs, "", lo=1, hi=120)
    warm_up_to = _int(data, "sales_warm_up_to_months", errs, "", lo=1, hi=240)
    if hot_below is not None and warm_up_to is not None and warm_up_to < hot_below:
        errs.add("sales_warm_up_to_months", "Must not be below the hot limit.")
    errs.raise_if_any()
    return Temperature(tuple(types), window, owner, rules, hot_below, warm_up_to)


def to_data(section: Temperature) -> dict[str, Any]:
    return {
        "activity_types": list(section.activity_types),
        "window_days": section.window_days,
        "owner": section.owner,
        "marketing_rules": {level: dict(req) for level, req in section.marketing_rules.items()},
        "sales_hot_below_months": section.sales_hot_below_months,
        "sales_warm_up_to_months": section.sales_warm_up_to_months,
    }


# How each default activity is named on its own (a custom type: its code in words).
_NAMES: dict[str, str] = {
    "webinar_registration": "webinar registration",
    "webinar_attendance": "webinar attendance",
    "ebook_download": "e-book download",
    "form_submission": "form submission",
    "email_click": "e-mail click",
    "demo_request": "demo request",
}


def activity_label(code: str) -> str:
    return _NAMES.get(code, code.replace("_", " "))


def _count_phrase(activity: str, count: int) -> str:
    one, many = _VERBS.get(
        activity, (f"had {{n}} {activity_label(activity)}", f"had {{n}} × {activity_label(activity)}")
    )
    return (one if count == 1 else many).format(n=count)


def temperature_rule_sentence(level: str, requirement: tuple[tuple[str, int], ...], window_days: int) -> str:
    phrases = [_count_phrase(activity, count) for activity, count in requirement]
    return f"A lead is {level} when, within {window_days} days, it {_join(phrases)}."


def sentences(section: Temperature) -> list[tuple[str, str]]:
    hot, warm = section.sales_hot_below_months, section.sales_warm_up_to_months
    return [
        (
            "temperature.activity_types",
            f"Engagement activities counted: {', '.join(map(activity_label, section.activity_types))}.",
        ),
        *(
            (
                f"temperature.marketing.{level}",
                temperature_rule_sentence(level, section.marketing_rules[level], section.window_days),
            )
            for level in TEMPERATURES
        ),
        ("temperature.window", f"Activities older than {section.window_days} days do not count."),
        (
            "temperature.sales.hot",
            f"Sales rates a lead hot when it has product potential and will buy within less than "
            f"{hot} months.",
        ),
        (
            "temperature.sales.warm",
            f"Sales rates a lead warm when it has product potential and will buy in {hot}–{warm} months.",
        ),
        (
            "temperature.sales.cold",
            f"Sales rates a lead cold when it will buy in more than {warm} months, "
            f"or has no product potential.",
        ),
        ("temperature.owner", f"{SIDES[section.owner]} owns the temperature classification."),
    ]


SECTION = Section("temperature", "3. Lead temperature", Temperature, parse_temperature, to_data, sentences)
