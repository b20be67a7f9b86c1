"""Section 2, Ideal Customer Profile: measurable criteria on the lead record, all of which must match.

Owns the fields a criterion may name (ICP_FIELDS) and the operators that suit each kind of field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agreements.clauses.kit import Section, _choice, _Collector, _list, _number, _obj, format_number

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

_COUNTRY = re.compile(r"^[A-Z]{2}$")


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


def to_data(section: Icp) -> dict[str, Any]:
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


def criterion_sentence(c: IcpCriterion) -> str:
    if c.op == "between":
        return f"The {c.label} is between {format_number(c.value[0])} and {format_number(c.value[1])}."
    if c.op in ("gte", "lte"):
        return f"The {c.label} is {OPERATORS[c.op]} {format_number(c.value)}."
    verb = "is one of" if c.op == "in" else "is none of"
    return f"The {c.label} {verb}: {', '.join(c.value)}."


def sentences(section: Icp) -> list[tuple[str, str]]:
    return [
        *((f"icp.{i}", criterion_sentence(c)) for i, c in enumerate(section.criteria, start=1)),
        ("icp.all", "A lead fits the ICP only when every criterion above matches."),
    ]


SECTION = Section("icp", "2. Ideal Customer Profile", Icp, parse_icp, to_data, sentences)
