"""URL converters shared by the apps."""

from __future__ import annotations


class IdConverter:
    """A database id: at most 18 digits, so it always fits a 64-bit integer column.

    Django's `int` converter accepts any number of digits, and a 20-digit id overflows the database
    (a 500 on SQLite); with this one such a URL simply does not exist (a 404).
    """

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
