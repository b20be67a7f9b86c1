"""Strict input for the API: what a client sends is used exactly as sent or refused with a 400 naming it.

A misspelled field or query parameter would otherwise be dropped without a word (a lead that misses its
ICP, a filter that filters nothing); here it is an error that says what was meant where a known name is
close. Pagination sizes and booleans are checked, not clamped or guessed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import django_filters
from django import forms
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


def unknown_names(names: Iterable[str], known: Iterable[str], what: str) -> dict[str, list[str]]:
    """{name: [message]} for each unknown name, guessing the known one meant when one is close."""
    known = sorted(known)
    errors = {}
    for name in sorted(names):
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if guess:
            errors[name] = [f"Unknown {what}; did you mean {guess[0]!r}?"]
        elif known:
            errors[name] = [f"Unknown {what}; use one of: {', '.join(known)}."]
        else:
            errors[name] = [f"Unknown {what}; this operation takes none."]
    return errors


class StrictFields:
    # A serializer that refuses fields it does not know, besides reporting its own fields' errors. (A
    # comment, not a docstring: the schema would show a docstring as every such serializer's description.)

    def to_internal_value(self, data: Any) -> Any:
        unknown = (
            unknown_names(set(data) - set(self.fields), self.fields, "field")  # type: ignore[attr-defined]
            if isinstance(data, Mapping)
            else {}
        )
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


@cache
def built_once(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One instance of a serializer for the process, for hot paths: DRF builds a serializer's fields (deep
    copies of the declared ones) on every instance, which costs more than the validation or the output.
    Only for serializers without context; validating and representing keep no state on the instance."""
    return serializer_class()


def validated(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    """`serializer_class(data=data)` made valid or raised as `is_valid(raise_exception=True)` raises, with
    the instance built once."""
    try:
        return built_once(serializer_class).run_validation(data)
    except serializers.ValidationError as exc:
        # Refused input is rare: a serializer of its own words the errors exactly as it always has.
        serializer_class(data=data).is_valid(raise_exception=True)
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None


class StrictQuery:
    """An API view that refuses query parameters it does not know (after authentication and permissions,
    so an anonymous caller learns nothing). A view names its own in `query_params`; its filters and its
    pagination's are added."""

    query_params: tuple[str, ...] = ()

    def allowed_query_params(self) -> set[str]:
        names = set(self.query_params)
        filterset = getattr(self, "filterset_class", None)
        if filterset is not None:
            names |= set(filterset.base_filters)
        pagination = getattr(self, "pagination_class", None)
        for attr in (
            "cursor_query_param",
            "page_size_query_param",
            "limit_query_param",
            "offset_query_param",
        ):
            name = getattr(pagination, attr, None)
            if name:
                names.add(name)
        return names

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        allowed = self.allowed_query_params()
        unknown = set(request.query_params) - allowed
        if unknown:
            raise serializers.ValidationError(unknown_names(unknown, allowed, "query parameter"))


def whole_number(raw: str | None, *, name: str, low: int, high: int) -> int | None:
    """A query parameter that must be a whole number from `low` to `high`; None when absent."""
    if raw is None:
        return None
    if not (raw.isdigit() and low <= int(raw) <= high):
        raise serializers.ValidationError({name: [f"Give a whole number from {low} to {high}."]})
    return int(raw)


class _StrictBooleanField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Use true or false.")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """`true` or `false`; anything else is an error, not a filter quietly left out. (The REST flavour of
    BooleanFilter reads its value through a widget that turns anything unknown into "no filter".)"""

    field_class = _StrictBooleanField


class StrictCursor(CursorPagination):
    """The one pagination of the API: a cursor (follow `next` until it is null), and a page size that is
    checked, not clamped. Each list names its ordering and sizes."""

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        size = whole_number(
            request.query_params.get(self.page_size_query_param),
            name=self.page_size_query_param,
            low=1,
            high=self.max_page_size,
        )
        return self.page_size if size is None else size

    def decode_cursor(self, request: Request) -> Any:
        # A cursor that is not one of ours is bad input (400), not a missing page (DRF's 404).
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise serializers.ValidationError({"cursor": ["Not a cursor from a previous page."]}) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        cursor = "Where the page starts: leave it out for the first page, then follow `next`."
        size = f"How many items a page holds, 1 to {self.max_page_size}; {self.page_size} when left out."
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": cursor,
                "schema": {"type": "string", "description": cursor},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": size,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                    "description": size,
                },
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # DRF's own is OpenAPI 3.0 (`nullable`) with an example that is not a URI.
        def link(description: str) -> dict[str, Any]:
            return {
                "type": ["string", "null"],
                "format": "uri",
                "description": description,
                "example": "https://slaportal.example.com/api/v1/leads?cursor=cD0yMDI2LTExLTMw",
            }

        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": link("The next page; null on the last one."),
                "previous": link("The page before; null on the first one."),
                "results": schema,
            },
        }


def page_parameters(cursor: type[StrictCursor]) -> list[OpenApiParameter]:
    """A paginated action's query parameters, for a list the schema generator does not see is one (a
    detail action's)."""
    return [
        OpenApiParameter(p["name"], p["schema"], OpenApiParameter.QUERY, description=p["description"])
        for p in cursor().get_schema_operation_parameters(None)
    ]
