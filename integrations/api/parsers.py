"""The API's JSON parser: DRF's, made safe against any body, so that what a client sends is a 400 at worst.

DRF's parser hands the body to Python's json module as it comes. Some bodies then fail far from the
parser, as 500s: 10,000 nested brackets exhaust the interpreter's recursion limit; `1e999999` parses to
inf, which the renderer, the JSON columns and PostgreSQL refuse; `"\\ud800"` is a string no database can
store and no response can render; `"\\u0000"` is one PostgreSQL refuses in text and jsonb. A declared
charset other than UTF-8 was also honoured, and UTF-16 with it. Here every such body is refused before
a view sees it: the body as a whole with a ParseError, a value with a ValidationError naming its path
(names and list indexes joined by dots, as the API's other errors do; "" is the whole body).

Its own module, importing nothing of the project's, because DRF imports it (REST_FRAMEWORK's
DEFAULT_PARSER_CLASSES) while its views are loading.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

# Far deeper than any body of the API (a lead nests 2 levels, a list of activities with their details
# a handful), far shallower than the interpreter's recursion limit.
MAX_DEPTH = 32
# A number's literal, sign, decimals and exponent included: room for any amount, count or id, and for
# a double's 17 significant digits written out; 5,000 digits only cost time.
MAX_NUMBER_LENGTH = 50
UTF8_NAMES = {"utf-8", "utf8"}

NUL = "Null characters are not allowed."  # DRF's CharField says the same of its own
SURROGATE = "Surrogate characters are not allowed: U+{:X}."  # as DRF's CharField says it
SEND_UTF8 = "Send JSON as UTF-8 (RFC 8259)"

# A JSON string, or an unterminated one up to the end (the parser stops there). Possessive, so that a
# body of quotes and backslashes cannot make the scan quadratic.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATES = re.compile("[\ud800-\udfff]")


class _Refused:
    """What a number the API refuses parses to, so the check after parsing can say where it was."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class JSONParser(parsers.JSONParser):
    """application/json, read as UTF-8 only, at most MAX_DEPTH deep, with finite numbers of at most
    MAX_NUMBER_LENGTH characters and strings PostgreSQL can store."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return parse_json(stream.read(), media_type or "")


def parse_json(raw: bytes, media_type: str = "") -> Any:
    text = _decode(raw, media_type)
    if _depth(text) > MAX_DEPTH:
        raise ParseError(f"Arrays and objects are nested more than {MAX_DEPTH} deep; send a flatter body.")
    refused = False

    def number(literal: str, convert: type[int] | type[float]) -> Any:
        nonlocal refused
        if len(literal) > MAX_NUMBER_LENGTH:
            refused = True
            return _Refused(
                f"A number may have at most {MAX_NUMBER_LENGTH} characters; this one has {len(literal)}."
            )
        value = convert(literal)
        if not math.isfinite(value):
            refused = True
            return _Refused(f"{literal} is beyond what a number can hold; send a finite number.")
        return value

    def constant(name: str) -> _Refused:
        nonlocal refused
        refused = True
        return _Refused(f"{name} is not a JSON number; send a finite number.")

    try:
        data = json.loads(
            text,
            parse_int=lambda literal: number(literal, int),
            parse_float=lambda literal: number(literal, float),
            parse_constant=constant,
        )
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    # A NUL or a lone surrogate can only come in as a \u escape: a body without one needs no look.
    if refused or "\\u" in text:
        errors: dict[str, list[str]] = {}
        _find_refused(data, "", errors)
        if errors:
            raise ValidationError(errors)
    return data


def _decode(raw: bytes, media_type: str) -> str:
    # JSON is UTF-8 (RFC 8259 8.1); its media type has no charset. One that names another is refused
    # rather than trusted: it could name UTF-16, or bz2, which would inflate the body past the size limit.
    charset = parse_header_parameters(media_type)[1].get("charset")
    if charset is not None and charset.lower() not in UTF8_NAMES:
        raise ParseError(f"{SEND_UTF8}, with no charset or charset=utf-8; not charset={charset}.")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ParseError(f"The body starts with a byte order mark. {SEND_UTF8}, without one.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        # NUL bytes are not UTF-8 text, and are the mark of UTF-16 or UTF-32.
        raise ParseError(f"The body holds NUL bytes, as UTF-16 or UTF-32 does. {SEND_UTF8}.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"The body is not UTF-8: byte 0x{raw[exc.start]:02x} at position {exc.start}. {SEND_UTF8}."
        ) from None


def _depth(text: str) -> int:
    """How deep the arrays and objects of `text` nest, as the parser would go into them; without parsing,
    which would exhaust the recursion limit on a deep body before this could be asked."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # however they are arranged
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _text_error(value: str) -> str | None:
    if "\x00" in value:
        return NUL
    surrogate = _SURROGATES.search(value)
    if surrogate:
        return SURROGATE.format(ord(surrogate.group()))
    return None


def _find_refused(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    """Every refused number and every string PostgreSQL could not store, by its path in the body."""
    if isinstance(value, _Refused):
        errors.setdefault(path, []).append(value.message)
    elif isinstance(value, str):
        message = _text_error(value)
        if message:
            errors.setdefault(path, []).append(message)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            message = _text_error(key)
            if message:
                # The member's own name cannot be its path (a surrogate could not even be rendered).
                errors.setdefault(path, []).append(f"A member's name: {message}")
            else:
                _find_refused(item, _join(path, key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_refused(item, _join(path, index), errors)
