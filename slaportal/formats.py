"""One way to write a time for machines: ISO 8601 in UTC with a `Z`, as the API's own fields write it."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(value: datetime) -> str:
    """`2026-11-24T10:00:00Z` (with microseconds when it has them), whatever zone `value` is in."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# The first characters that make a spreadsheet read a cell as a formula, as OWASP's CSV injection page lists.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` made safe to write as a CSV cell: text that starts with a formula trigger gets a leading `'`.

    Cells hold what people and CRMs typed (a name may start with `=`, `+`, `-` or `@`), and a spreadsheet
    opening the file would run `=HYPERLINK(...)` there as a formula (CSV injection); the `'` makes it show
    as text instead. Only text is changed: computed figures are ints and floats and stay numbers, even a
    negative one. The csv writer still quotes the cell as it needs, so a comma or quote cannot open a new
    cell.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
