"""The SLA's structured clauses: their schema, validation and readable sentences.

Pure Python, no database. Each section of a version stores a JSON object; `parse_section` turns it into
frozen dataclasses or raises `ClauseError` whose keys are field paths ("criteria.1.value"), so the
browser editor and the API can put each message next to the field it concerns.

Every clause has a stable id ("icp.1", "temperature.marketing.hot", "handoff.pickup.warm") that
evaluations and lead events cite together with the version number.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import time
from functools import cache
from typing import Any

import holidays

SECTION_KEYS: tuple[str, ...] = ("terms", "icp", "temperature", "goals", "handoff", "reporting", "feedback")
SECTION_TITLES: dict[str, str] = {
    "terms": "1. Terms",
    "icp": "2. Ideal Customer Profile",
    "temperature": "3. Lead temperature",
    "goals": "4. Goals",
    "handoff": "5. Lead handoff",
    "reporting": "6. Reporting",
    "feedback": "7. Feedback",
}

TEMPERATURES: tuple[str, ...] = ("cold", "warm", "hot")  # coolest first; the order is the ranking
SIDES = {"marketing": "Marketing", "sales": "Sales"}

ICP_FIELDS: dict[str, tuple[str, str]] = {
    # field: (label, kind); kind decides which operators make sense
    "company_employees": ("number of employees", "number"),
    "company_annual_revenue": ("annual revenue", "number"),
    "company_industry": ("industry", "text"),
    "company_country": ("country", "country"),
    "job_title": ("job title", "text"),
}
OPERATORS: dict[str, str] = {"gte": "≥", "lte": "≤", "between": "between", "in": "in", "not_in": "not in"}
NUMBER_OPERATORS = frozenset({"gte", "lte", "between"})
TEXT_OPERATORS = frozenset({"in", "not_in"})

DEFAULT_ACTIVITY_TYPES: tuple[str, ...] = (
    "webinar_registration",
    "webinar_attendance",
    "ebook_download",
    "form_submission",
    "email_click",
    "demo_request",
)
DESTINATIONS: dict[str, str] = {
    "nurture": "goes back to marketing nurture",
    "disqualify": "is disqualified",
    "recycle": "is recycled to nurture",
}
CADENCES = {"monthly": "monthly", "quarterly": "quarterly"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_LIST = 200
MAX_TEXT = 2000


class ClauseError(Exception):
    """Validation failed; `errors` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{path or 'section'}: {' '.join(msgs)}" for path, msgs in errors.items()))
        self.errors = errors


# ---------------------------------------------------------------------------------------------------------
# Dataclasses


@dataclass(frozen=True)
class GlossaryEntry:
    term: str
    definition: str


@dataclass(frozen=True)
class Terms:
    marketing_lead_definition: str
    sales_lead_definition: str
    glossary: tuple[GlossaryEntry, ...]


@dataclass(frozen=True)
class IcpCriterion:
    field: str
    op: str
    value: Any  # a number (gte/lte), a (low, high) pair (between), a tuple of strings (in/not_in)

    @property
    def label(self) -> str:
        return ICP_FIELDS[self.field][0]


@dataclass(frozen=True)
class Icp:
    criteria: tuple[IcpCriterion, ...]


@dataclass(frozen=True)
class Temperature:
    activity_types: tuple[str, ...]
    window_days: int
    owner: str
    # level -> ((activity_type, minimum count), ...); a level is reached when every minimum is met
    marketing_rules: dict[str, tuple[tuple[str, int], ...]]
    sales_hot_below_months: int
    sales_warm_up_to_months: int


@dataclass(frozen=True)
class Goals:
    mqls_icp_per_month: int
    touches_per_account_per_month: int
    pickup_within_sla_pct: float
    acceptance_rate_pct: float
    deals_won_per_month: int


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


@dataclass(frozen=True)
class Reporting:
    cadence: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class FeedbackQuestion:
    code: str
    text: str


@dataclass(frozen=True)
class Feedback:
    questions: tuple[FeedbackQuestion, ...]


@dataclass(frozen=True)
class Clauses:
    """All seven sections of one version, parsed."""

    terms: Terms
    icp: Icp
    temperature: Temperature
    goals: Goals
    handoff: Handoff
    reporting: Reporting
    feedback: Feedback


# ---------------------------------------------------------------------------------------------------------
# Validation helpers


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ClauseError(self.errors)


def _obj(data: Any, allowed: Iterable[str], errs: _Collector, path: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        errs.add(path, "Must be an object.")
        return {}
    unknown = sorted(set(data) - set(allowed))
    for key in unknown:
        errs.add(f"{path}.{key}" if path else str(key), "Unknown field.")
    return data


def _text(
    data: dict, key: str, errs: _Collector, path: str, *, required: bool = True, max_len: int = MAX_TEXT
):
    value = data.get(key, "")
    where = f"{path}{key}"
    if value is None:
        value = ""
    if not isinstance(value, str):
        errs.add(where, "Must be text.")
        return ""
    value = value.strip()
    if required and not value:
        errs.add(where, "This field is required.")
    elif len(value) > max_len:
        errs.add(where, f"At most {max_len} characters.")
    return value


def _int(data: dict, key: str, errs: _Collector, path: str, *, lo: int, hi: int, required: bool = True):
    value = data.get(key)
    where = f"{path}{key}"
    if value is None or value == "":
        if required:
            errs.add(where, "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            errs.add(where, "Must be a whole number.")
            return None
    if not lo <= value <= hi:
        errs.add(where, f"Must be between {lo} and {hi}.")
        return None
    return value


def _number(value: Any, errs: _Collector, where: str, *, lo: float = 0, hi: float = 1e15):
    if isinstance(value, bool) or not isinstance(value, int | float):
        errs.add(where, "Must be a number.")
        return None
    if value != value or not lo <= value <= hi:  # NaN fails the first test
        errs.add(where, f"Must be between {lo:g} and {hi:g}.")
        return None
    return int(value) if float(value).is_integer() else float(value)


def _bool(data: dict, key: str, errs: _Collector, path: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        errs.add(f"{path}{key}", "Must be true or false.")
        return default
    return value


def _choice(data: dict, key: str, choices: Iterable[str], errs: _Collector, path: str):
    value = data.get(key)
    choices = list(choices)
    if value not in choices:
        errs.add(f"{path}{key}", f"Choose one of: {', '.join(choices)}.")
        return None
    return value


def _list(data: dict, key: str, errs: _Collector, path: str, *, min_items: int = 0) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        errs.add(f"{path}{key}", "Must be a list.")
        return []
    if len(value) > MAX_LIST:
        errs.add(f"{path}{key}", f"At most {MAX_LIST} entries.")
        return []
    if len(value) < min_items:
        errs.add(f"{path}{key}", f"Needs at least {min_items} {'entry' if min_items == 1 else 'entries'}.")
    return value


def _code(value: Any, errs: _Collector, where: str) -> str | None:
    if not isinstance(value, str) or not _CODE.match(value):
        errs.add(where, "Use lower-case letters, digits and underscores, starting with a letter.")
        return None
    return value


def _unique(items: list, attr: str, errs: _Collector, path: str, what: str) -> None:
    seen: set = set()
    for index, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            errs.add(f"{path}.{index}.{attr}", f"This {what} appears twice.")
        seen.add(value)


@cache
def supported_holiday_countries() -> dict[str, tuple[str, ...]]:
    return {code: tuple(subdivs) for code, subdivs in holidays.list_supported_countries().items()}


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# ---------------------------------------------------------------------------------------------------------
# Section parsers


def parse_terms(data: Any) -> Terms:
    errs = _Collector()
    data = _obj(data, ("marketing_lead_definition", "sales_lead_definition", "glossary"), errs)
    marketing = _text(data, "marketing_lead_definition", errs, "")
    sales = _text(data, "sales_lead_definition", errs, "")
    entries = []
    for index, raw in enumerate(_list(data, "glossary", errs, "")):
        path = f"glossary.{index}."
        raw = _obj(raw, ("term", "definition"), errs, path.rstrip("."))
        entries.append(
            GlossaryEntry(_text(raw, "term", errs, path, max_len=100), _text(raw, "definition", errs, path))
        )
    _unique(entries, "term", errs, "glossary", "term")
    errs.raise_if_any()
    return Terms(marketing, sales, tuple(entries))


def _criterion_value(field: str, op: str, value: Any, errs: _Collector, where: str) -> Any:
    kind = ICP_FIELDS[field][1]
    if op in NUMBER_OPERATORS and kind != "number":
        errs.add(where.rsplit(".", 1)[0] + ".op", f"{OPERATORS[op]} compares numbers; use in or not in.")
        return None
    if op in TEXT_OPERATORS and kind == "number":
        errs.add(where.rsplit(".", 1)[0] + ".op", "in and not in compare text; use ≥, ≤ or between.")
        return None
    if op in ("gte", "lte"):
        return _number(value, errs, where)
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            errs.add(where, "Give two numbers: the lowest and the highest.")
            return None
        low = _number(value[0], errs, where)
        high = _number(value[1], errs, where)
        if low is not None and high is not None and low > high:
            errs.add(where, "The lowest value is above the highest.")
            return None
        return (low, high)
    # in / not in: a non-empty list of words
    if not isinstance(value, list | tuple) or not value:
        errs.add(where, "Give at least one value.")
        return None
    items = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            errs.add(where, "Each value must be non-empty text.")
            return None
        item = item.strip()
        if kind == "country":
            item = item.upper()
            if not _COUNTRY.match(item):
                errs.add(where, f"{item!r} is not a two-letter ISO country code.")
                return None
        items.append(item)
    return tuple(dict.fromkeys(items))


def parse_icp(data: Any) -> Icp:
    errs = _Collector()
    data = _obj(data, ("criteria",), errs)
    criteria = []
    for index, raw in enumerate(_list(data, "criteria", errs, "", min_items=1)):
        path = f"criteria.{index}"
        raw = _obj(raw, ("field", "op", "value"), errs, path)
        field = raw.get("field")
        if field not in ICP_FIELDS:
            # The ICP must be measurable: only fields the lead record really carries.
            errs.add(
                f"{path}.field", f"Unknown field {field!r}; measurable fields are: {', '.join(ICP_FIELDS)}."
            )
            continue
        op = _choice(raw, "op", OPERATORS, errs, f"{path}.")
        if op is None:
            continue
        value = _criterion_value(field, op, raw.get("value"), errs, f"{path}.value")
        if value is not None:
            criteria.append(IcpCriterion(field, op, value))
    errs.raise_if_any()
    return Icp(tuple(criteria))


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


def parse_goals(data: Any) -> Goals:
    errs = _Collector()
    fields = (
        "mqls_icp_per_month",
        "touches_per_account_per_month",
        "pickup_within_sla_pct",
        "acceptance_rate_pct",
        "deals_won_per_month",
    )
    data = _obj(data, fields, errs)
    mqls = _int(data, "mqls_icp_per_month", errs, "", lo=0, hi=10_000_000)
    touches = _int(data, "touches_per_account_per_month", errs, "", lo=0, hi=1000)
    pcts = []
    for key in ("pickup_within_sla_pct", "acceptance_rate_pct"):
        if data.get(key) in (None, ""):
            errs.add(key, "This field is required.")
            pcts.append(None)
        else:
            pcts.append(_number(data.get(key), errs, key, lo=0, hi=100))
    won = _int(data, "deals_won_per_month", errs, "", lo=0, hi=10_000_000)
    errs.raise_if_any()
    return Goals(mqls, touches, pcts[0], pcts[1], won)


def _hhmm(data: dict, key: str, errs: _Collector) -> time | None:
    value = data.get(key)
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match:
        errs.add(key, "Use HH:MM, 24-hour clock.")
        return None
    return time(int(match.group(1)), int(match.group(2)))


# The handoff section's keys that make its business calendar (deadlines are counted in its hours).
CALENDAR_KEYS = (
    "timezone",
    "working_days",
    "workday_start",
    "workday_end",
    "holiday_country",
    "holiday_subdivision",
)


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
    if data.get("assignment", "round_robin") != "round_robin":
        errs.add("assignment", "Leads are assigned round-robin among available reps.")
    notify = _bool(data, "escalation_notify_manager", errs, "", True)
    reassign = _bool(data, "escalation_reassign", errs, "", True)
    nurture_owner = _text(data, "nurture_owner", errs, "", max_len=200)

    reasons = []
    for index, raw in enumerate(_list(data, "rejection_reasons", errs, "", min_items=1)):
        path = f"rejection_reasons.{index}"
        raw = _obj(raw, ("code", "label", "destination", "recycle_days"), errs, path)
        code = _code(raw.get("code"), errs, f"{path}.code")
        label = _text(raw, "label", errs, f"{path}.", max_len=200)
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


def parse_reporting(data: Any) -> Reporting:
    errs = _Collector()
    data = _obj(data, ("cadence", "recipients"), errs)
    cadence = _choice(data, "cadence", CADENCES, errs, "")
    recipients = []
    for index, raw in enumerate(_list(data, "recipients", errs, "", min_items=1)):
        if not isinstance(raw, str) or not raw.strip():
            errs.add(f"recipients.{index}", "Give a username.")
        else:
            recipients.append(raw.strip())
    errs.raise_if_any()
    return Reporting(cadence, tuple(dict.fromkeys(recipients)))


def parse_feedback(data: Any) -> Feedback:
    errs = _Collector()
    data = _obj(data, ("questions",), errs)
    questions = []
    for index, raw in enumerate(_list(data, "questions", errs, "", min_items=1)):
        path = f"questions.{index}"
        raw = _obj(raw, ("code", "text"), errs, path)
        code = _code(raw.get("code"), errs, f"{path}.code")
        questions.append(FeedbackQuestion(code or "", _text(raw, "text", errs, f"{path}.", max_len=500)))
    _unique(questions, "code", errs, "questions", "code")
    errs.raise_if_any()
    return Feedback(tuple(questions))


PARSERS: dict[str, Callable[[Any], Any]] = {
    "terms": parse_terms,
    "icp": parse_icp,
    "temperature": parse_temperature,
    "goals": parse_goals,
    "handoff": parse_handoff,
    "reporting": parse_reporting,
    "feedback": parse_feedback,
}


def parse_section(key: str, data: Any) -> Any:
    if key not in PARSERS:
        raise ClauseError({"": [f"Unknown section {key!r}."]})
    return PARSERS[key](data)


def parse_clauses(sections: dict[str, Any]) -> Clauses:
    """Parse a whole version. Errors are keyed "<section>.<path>"."""
    parsed: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key in SECTION_KEYS:
        try:
            parsed[key] = parse_section(key, sections.get(key))
        except ClauseError as exc:
            for path, messages in exc.errors.items():
                errors[f"{key}.{path}" if path else key] = messages
    if errors:
        raise ClauseError(errors)
    return Clauses(**parsed)


def to_data(section: Any) -> dict[str, Any]:
    """The JSON form of a parsed section (inverse of its parser)."""
    if isinstance(section, Terms):
        return {
            "marketing_lead_definition": section.marketing_lead_definition,
            "sales_lead_definition": section.sales_lead_definition,
            "glossary": [{"term": e.term, "definition": e.definition} for e in section.glossary],
        }
    if isinstance(section, Icp):
        return {
            "criteria": [
                {
                    "field": c.field,
                    "op": c.op,
                    "value": list(c.value) if isinstance(c.value, tuple) else c.value,
                }
                for c in section.criteria
            ]
        }
    if isinstance(section, Temperature):
        return {
            "activity_types": list(section.activity_types),
            "window_days": section.window_days,
            "owner": section.owner,
            "marketing_rules": {level: dict(req) for level, req in section.marketing_rules.items()},
            "sales_hot_below_months": section.sales_hot_below_months,
            "sales_warm_up_to_months": section.sales_warm_up_to_months,
        }
    if isinstance(section, Goals):
        return {
            "mqls_icp_per_month": section.mqls_icp_per_month,
            "touches_per_account_per_month": section.touches_per_account_per_month,
            "pickup_within_sla_pct": section.pickup_within_sla_pct,
            "acceptance_rate_pct": section.acceptance_rate_pct,
            "deals_won_per_month": section.deals_won_per_month,
        }
    if isinstance(section, Handoff):
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
            "assignment": "round_robin",
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
    if isinstance(section, Reporting):
        return {"cadence": section.cadence, "recipients": list(section.recipients)}
    if isinstance(section, Feedback):
        return {"questions": [{"code": q.code, "text": q.text} for q in section.questions]}
    raise TypeError(f"not a section: {section!r}")


# ---------------------------------------------------------------------------------------------------------
# Readable sentences


def activity_label(code: str) -> str:
    return code.replace("_", " ")


def _count_phrase(activity: str, count: int) -> str:
    verbs = {
        "webinar_registration": ("registered for {n} webinar", "registered for {n} webinars"),
        "webinar_attendance": ("attended {n} webinar", "attended {n} webinars"),
        "ebook_download": ("downloaded {n} e-book", "downloaded {n} e-books"),
        "form_submission": ("submitted {n} form", "submitted {n} forms"),
        "email_click": ("clicked {n} e-mail", "clicked {n} e-mails"),
        "demo_request": ("requested {n} demo", "requested {n} demos"),
    }
    one, many = verbs.get(
        activity, (f"had {{n}} {activity_label(activity)}", f"had {{n}} × {activity_label(activity)}")
    )
    return (one if count == 1 else many).format(n=count)


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def format_number(value: Any) -> str:
    return f"{value:,}".replace(",", " ") if isinstance(value, int) else f"{value:g}"


def criterion_sentence(c: IcpCriterion) -> str:
    if c.op == "between":
        return f"The {c.label} is between {format_number(c.value[0])} and {format_number(c.value[1])}."
    if c.op in ("gte", "lte"):
        return f"The {c.label} is {OPERATORS[c.op]} {format_number(c.value)}."
    verb = "is one of" if c.op == "in" else "is none of"
    return f"The {c.label} {verb}: {', '.join(c.value)}."


def temperature_rule_sentence(level: str, requirement: tuple[tuple[str, int], ...], window_days: int) -> str:
    phrases = [_count_phrase(activity, count) for activity, count in requirement]
    return f"A lead is {level} when, within {window_days} days, it {_join(phrases)}."


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


def sentences(key: str, section: Any) -> list[tuple[str, str]]:
    """(clause id, sentence) for every clause of a parsed section."""
    out: list[tuple[str, str]] = []
    if key == "terms":
        out.append(
            ("terms.lead.marketing", f'For marketing, a lead is: "{section.marketing_lead_definition}"')
        )
        out.append(("terms.lead.sales", f'For sales, a lead is: "{section.sales_lead_definition}"'))
        out += [(f"terms.glossary.{e.term}", f'"{e.term}" means: {e.definition}') for e in section.glossary]
    elif key == "icp":
        out += [(f"icp.{i}", criterion_sentence(c)) for i, c in enumerate(section.criteria, start=1)]
        out.append(("icp.all", "A lead fits the ICP only when every criterion above matches."))
    elif key == "temperature":
        out.append(
            (
                "temperature.activity_types",
                f"Engagement activities counted: {', '.join(map(activity_label, section.activity_types))}.",
            )
        )
        for level in TEMPERATURES:
            out.append(
                (
                    f"temperature.marketing.{level}",
                    temperature_rule_sentence(level, section.marketing_rules[level], section.window_days),
                )
            )
        out.append(
            (
                "temperature.window",
                f"Activities older than {section.window_days} days do not count.",
            )
        )
        out.append(
            (
                "temperature.sales.hot",
                f"Sales rates a lead hot when it has product potential and will buy within less than "
                f"{section.sales_hot_below_months} months.",
            )
        )
        out.append(
            (
                "temperature.sales.warm",
                f"Sales rates a lead warm when it has product potential and will buy in "
                f"{section.sales_hot_below_months}–{section.sales_warm_up_to_months} months.",
            )
        )
        out.append(
            (
                "temperature.sales.cold",
                f"Sales rates a lead cold when it will buy in more than {section.sales_warm_up_to_months} "
                f"months, or has no product potential.",
            )
        )
        out.append(("temperature.owner", f"{SIDES[section.owner]} owns the temperature classification."))
    elif key == "goals":
        out += [
            (
                "goals.marketing.mqls",
                f"Marketing delivers {section.mqls_icp_per_month} ICP-fit MQLs a month.",
            ),
            (
                "goals.marketing.touches",
                f"Marketing touches each target account "
                f"{section.touches_per_account_per_month} times a month.",
            ),
            (
                "goals.sales.pickup",
                f"Sales picks up {section.pickup_within_sla_pct:g}% of handed-off leads within the deadline.",
            ),
            (
                "goals.sales.acceptance",
                f"Sales accepts {section.acceptance_rate_pct:g}% of handed-off leads.",
            ),
            ("goals.sales.won", f"Sales wins {section.deals_won_per_month} deals a month."),
        ]
    elif key == "handoff":
        fit = " that fits the ICP" if section.icp_fit_required else ""
        out.append(
            (
                "handoff.threshold",
                f"A lead becomes an MQL when its marketing temperature is {section.mql_threshold} or hotter; "
                f"an MQL in nurture{fit} is handed off to sales.",
            )
        )
        for level, hours in sorted(section.pickup_hours.items(), key=lambda kv: -TEMPERATURES.index(kv[0])):
            out.append(
                (f"handoff.pickup.{level}", f"Sales picks up a {level} lead within {hours_phrase(hours)}.")
            )
        days = weekdays_phrase(section.working_days)
        holidays_text = (
            f", except public holidays in {section.holiday_country}"
            + (f"-{section.holiday_subdivision}" if section.holiday_subdivision else "")
            if section.holiday_country
            else ""
        )
        out.append(
            (
                "handoff.calendar",
                f"Business hours are {days}, {section.workday_start:%H:%M}–{section.workday_end:%H:%M} "
                f"{section.timezone}{holidays_text}.",
            )
        )
        out.append(("handoff.assignment", "Leads are assigned round-robin among the available sales reps."))
        steps = []
        if section.escalation_notify_manager:
            steps.append("the sales manager is notified")
        if section.escalation_reassign:
            steps.append("the lead is reassigned to another available rep with a fresh deadline")
        out.append(
            (
                "handoff.escalation",
                f"When a pickup deadline passes, {_join(steps)}."
                if steps
                else "A missed deadline is recorded.",
            )
        )
        for r in section.rejection_reasons:
            where = DESTINATIONS[r.destination]
            if r.destination == "recycle":
                where += f" after {r.recycle_days} days"
            out.append((f"handoff.rejection.{r.code}", f'A lead rejected as "{r.label}" {where}.'))
        out.append(("handoff.nurture", f"Nurturing is the job of: {section.nurture_owner}."))
    elif key == "reporting":
        out.append(
            (
                "reporting.cadence",
                f"Reports are built {CADENCES[section.cadence]} and sent to {', '.join(section.recipients)}.",
            )
        )
    elif key == "feedback":
        out += [
            (f"feedback.{q.code}", f"After contacting a lead, the rep answers: {q.text}")
            for q in section.questions
        ]
    return out
