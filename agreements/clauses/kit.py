"""What every section shares: the validation kit, the registry's entry type and the words they all use.

A section module imports this and nothing else from the package, so sections never depend on each
other. What only one section needs (a regex, a phrase) lives with that section, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

TEMPERATURES: tuple[str, ...] = ("cold", "warm", "hot")  # coolest first; the order is the ranking

MAX_LIST = 200
MAX_TEXT = 2000
CODE_MAX = 50
_CODE = re.compile(rf"^[a-z][a-z0-9_]{{0,{CODE_MAX - 1}}}$")


class ClauseError(Exception):
    """Validation failed; `errors` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{path or 'section'}: {' '.join(msgs)}" for path, msgs in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Section:
    """One entry of the registry in `agreements.clauses`: everything the package does with a section."""

    key: str
    title: str
    cls: type  # the frozen dataclass `parse` returns and `to_data` takes
    parse: Callable[[Any], Any]
    to_data: Callable[[Any], dict[str, Any]]
    sentences: Callable[[Any], list[tuple[str, str]]]


# ---------------------------------------------------------------------------------------------------------
# Validation: each helper records its complaint and returns a usable stand-in, so one pass over the input
# reports every error at once (the editor shows them all next to their fields).


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


# ---------------------------------------------------------------------------------------------------------
# Sentences


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def format_number(value: Any) -> str:
    return f"{value:,}".replace(",", " ") if isinstance(value, int) else f"{value:g}"
