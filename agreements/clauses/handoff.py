"""Section 5, Lead handoff: when an MQL goes to sales, its pickup deadlines, the business calendar they are
counted in, escalation, and what a rejection does with the lead.

Owns the calendar's keys (CALENDAR_KEYS), the rejection destinations and the phrases for hours and days.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import time
from functools import cache
from typing import Any

import holidays

from agreements.clauses.kit import (
    TEMPERATURES,
    Section,
    _bool,
    _choice,
    _code,
    _Collector,
    _int,
    _join,
    _list,
    _number,
    _obj,
    _text,
    _unique,
    format_number,
)

# The handoff section's keys that make its business calendar (deadlines are counted in its hours).
CALENDAR_KEYS = (
    "timezone",
    "working_days",
    "workday_start",
    "workday_end",
    "holiday_country",
    "holiday_subdivision",
)
DESTINATIONS: dict[str, str] = {
    "nurture": "goes back to marketing nurture",
    "disqualify": "is disqualified",
    "recycle": "is recycled to nurture",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The only assignment the portal runs; stored all the same, so the document states it.
ASSIGNMENT = "round_robin"
REASON_LABEL_MAX = 200
NURTURE_OWNER_MAX = 200

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class RejectionReason:
    code: str
    label: str
    destination: str
    recycle_days: int | None


@dataclass(frozen=True)
class Handoff:
    mql_threshold: str
    icp_fit_required: bool
    pickup_hours: dict[str, float]  # temperature -> business hours, for every level at or above the threshold
    timezone: str
    working_days: tuple[int, ...]  # 0 = Monday
    workday_start: time
    workday_end: time
    holiday_country: str
    holiday_subdivision: str
    escalation_notify_manager: bool
    escalation_reassign: bool
    nurture_owner: str
    rejection_reasons: tuple[RejectionReason, ...]

    def rejection_reason(self, code: str) -> RejectionReason | None:
        return next((r for r in self.rejection_reasons if r.code == code), None)


@cache
def supported_holiday_countries() -> dict[str, tuple[str, ...]]:
    return {code: tuple(subdivs) for code, subdivs in holidays.list_supported_countries().items()}


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _hhmm(data: dict, key: str, errs: _Collector) -> time | None:
    value = data.get(key)
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match:
        errs.add(key, "Use HH:MM, 24-hour clock.")
        return None
    return time(int(match.group(1)), int(match.group(2)))


def parse_handoff(data: Any) -> Handoff:
    errs = _Collector()
    data = _obj(
        data,
        (
            "mql_threshold",
            "icp_fit_required",
            "pickup_hours",
            *CALENDAR_KEYS,
            "assignment",
            "escalation_notify_manager",
            "escalation_reassign",
            "nurture_owner",
            "rejection_reasons",
        ),
        errs,
    )
    threshold = _choice(data, "mql_threshold", TEMPERATURES, errs, "")
    icp_required = _bool(data, "icp_fit_required", errs, "", True)

    pickup_raw = data.get("pickup_hours")
    pickup: dict[str, float] = {}
    if not isinstance(pickup_raw, dict):
        errs.add("pickup_hours", "Must be an object with hours per temperature.")
        pickup_raw = {}
    for key in sorted(set(pickup_raw) - set(TEMPERATURES)):
        errs.add(f"pickup_hours.{key}", "Unknown temperature; use cold, warm or hot.")
    if threshold is not None:
        for level in TEMPERATURES[TEMPERATURES.index(threshold) :]:
            raw = pickup_raw.get(level)
            if raw in (None, ""):
                errs.add(
                    f"pickup_hours.{level}", f"A {level} lead is handed off, so it needs a pickup deadline."
                )
                continue
            hours = _number(raw, errs, f"pickup_hours.{level}", lo=0.25, hi=2000)
            if hours is not None:
                pickup[level] = hours

    timezone = data.get("timezone")
    if timezone not in known_timezones():
        errs.add("timezone", "Unknown time zone; use an IANA name such as Europe/Warsaw.")
    days: list[int] = []
    raw_days = data.get("working_days")
    if not isinstance(raw_days, list) or not raw_days:
        errs.add("working_days", "Choose at least one working day.")
    else:
        for day in raw_days:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                errs.add("working_days", "Days are numbers from 0 (Monday) to 6 (Sunday).")
                break
            days.append(day)
    start = _hhmm(data, "workday_start", errs)
    end = _hhmm(data, "workday_end", errs)
    if start and end and end <= start:
        errs.add("workday_end", "The working day must end after it starts.")
    country = data.get("holiday_country") or ""
    subdivision = data.get("holiday_subdivision") or ""
    if country:
        supported = supported_holiday_countries()
        if country not in supported:
            errs.add("holiday_country", f"No public holiday calendar for {country!r}.")
        elif subdivision and subdivision not in supported[country]:
            errs.add("holiday_subdivision", f"{country} has no subdivision {subdivision!r}.")
    elif subdivision:
        errs.add("holiday_subdivision", "A subdivision needs a country.")
    if data.get("assignment", ASSIGNMENT) != ASSIGNMENT:
        errs.add("assignment", "Leads are assigned round-robin among available reps.")
    notify = _bool(data, "escalation_notify_manager", errs, "", True)
    reassign = _bool(data, "escalation_reassign", errs, "", True)
    nurture_owner = _text(data, "nurture_owner", errs, "", max_len=NURTURE_OWNER_MAX)

    reasons = []
    for index, raw in enumerate(_list(data, "rejection_reasons", errs, "", min_items=1)):
        path = f"rejection_reasons.{index}"
        raw = _obj(raw, ("code", "label", "destination", "recycle_days"), errs, path)
        code = _code(raw.get("code"), errs, f"{path}.code")
        label = _text(raw, "label", errs, f"{path}.", max_len=REASON_LABEL_MAX)
        destination = _choice(raw, "destination", DESTINATIONS, errs, f"{path}.")
        recycle_days = None
        if destination == "recycle":
            recycle_days = _int(raw, "recycle_days", errs, f"{path}.", lo=1, hi=3650)
        elif raw.get("recycle_days") not in (None, ""):
            errs.add(f"{path}.recycle_days", "Only a reason that recycles the lead waits a number of days.")
        reasons.append(RejectionReason(code or "", label, destination or "", recycle_days))
    _unique(reasons, "code", errs, "rejection_reasons", "code")
    errs.raise_if_any()
    return Handoff(
        threshold,
        icp_required,
        pickup,
        timezone,
        tuple(sorted(set(days))),
        start,
        end,
        country,
        subdivision,
        notify,
        reassign,
        nurture_owner,
        tuple(reasons),
    )


def to_data(section: Handoff) -> dict[str, Any]:
    return {
        "mql_threshold": section.mql_threshold,
        "icp_fit_required": section.icp_fit_required,
        "pickup_hours": dict(section.pickup_hours),
        "timezone": section.timezone,
        "working_days": list(section.working_days),
        "workday_start": section.workday_start.strftime("%H:%M"),
        "workday_end": section.workday_end.strftime("%H:%M"),
        "holiday_country": section.holiday_country,
        "holiday_subdivision": section.holiday_subdivision,
        "assignment": ASSIGNMENT,
        "escalation_notify_manager": section.escalation_notify_manager,
        "escalation_reassign": section.escalation_reassign,
        "nurture_owner": section.nurture_owner,
        "rejection_reasons": [
            {
                "code": r.code,
                "label": r.label,
                "destination": r.destination,
                "recycle_days": r.recycle_days,
            }
            for r in section.rejection_reasons
        ],
    }


def weekdays_phrase(days: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 4) -> "Monday–Friday"; runs of three or more days are shown as ranges."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        f"{WEEKDAYS[run[0]]}–{WEEKDAYS[run[-1]]}" if len(run) >= 3 else ", ".join(WEEKDAYS[d] for d in run)
        for run in runs
    ]
    return ", ".join(parts)


def hours_phrase(hours: float) -> str:
    return f"{format_number(hours)} business hour{'' if hours == 1 else 's'}"


def _calendar_sentence(section: Handoff) -> str:
    holidays_text = ""
    if section.holiday_country:
        region = f"-{section.holiday_subdivision}" if section.holiday_subdivision else ""
        holidays_text = f", except public holidays in {section.holiday_country}{region}"
    return (
        f"Business hours are {weekdays_phrase(section.working_days)}, "
        f"{section.workday_start:%H:%M}–{section.workday_end:%H:%M} {section.timezone}{holidays_text}."
    )


def _escalation_sentence(section: Handoff) -> str:
    steps = []
    if section.escalation_notify_manager:
        steps.append("the sales manager is notified")
    if section.escalation_reassign:
        steps.append("the lead is reassigned to another available rep with a fresh deadline")
    return f"When a pickup deadline passes, {_join(steps)}." if steps else "A missed deadline is recorded."


def _rejection_sentence(r: RejectionReason) -> str:
    where = DESTINATIONS[r.destination]
    if r.destination == "recycle":
        where += f" after {r.recycle_days} days"
    return f'A lead rejected as "{r.label}" {where}.'


def sentences(section: Handoff) -> list[tuple[str, str]]:
    fit = " that fits the ICP" if section.icp_fit_required else ""
    hottest_first = sorted(section.pickup_hours.items(), key=lambda kv: -TEMPERATURES.index(kv[0]))
    return [
        (
            "handoff.threshold",
            f"A lead becomes an MQL when its marketing temperature is {section.mql_threshold} or hotter; "
            f"an MQL in nurture{fit} is handed off to sales.",
        ),
        *(
            (f"handoff.pickup.{level}", f"Sales picks up a {level} lead within {hours_phrase(hours)}.")
            for level, hours in hottest_first
        ),
        ("handoff.calendar", _calendar_sentence(section)),
        ("handoff.assignment", "Leads are assigned round-robin among the available sales reps."),
        ("handoff.escalation", _escalation_sentence(section)),
        *((f"handoff.rejection.{r.code}", _rejection_sentence(r)) for r in section.rejection_reasons),
        ("handoff.nurture", f"Nurturing is the job of: {section.nurture_owner}."),
    ]


SECTION = Section("handoff", "5. Lead handoff", Handoff, parse_handoff, to_data, sentences)
