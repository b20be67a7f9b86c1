"""Errors as RFC 9457 problem details, for every error the API answers (kit: it imports no app).

    {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "Invalid input.",
     "errors": {"company.employees": ["Must be a whole number ..."], "0.occurred_at": ["..."]}}

`errors` maps a field's path in the request body (names and list indexes joined by dots), or the name of
a query parameter or header, to its messages; "" is the body as a whole.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import JsonResponse

CONTENT_TYPE = "application/problem+json"


def problem_body(status: int, detail: str, *, errors: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",  # the status says what kind of problem it is; `detail` says this one
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = error_paths(errors)
    body.update(extra)
    return body


def problem_response(status: int, detail: str) -> JsonResponse:
    """A problem answered outside DRF (middleware, Django's error handlers)."""
    return JsonResponse(problem_body(status, detail), status=status, content_type=CONTENT_TYPE)


def _path(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def error_paths(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested field errors (DRF's or the services') as one map from field path to messages."""
    if isinstance(detail, dict):
        paths: dict[str, list[str]] = {}
        for key, value in detail.items():
            # DRF's and Django's name for "the object as a whole" is the object's own path.
            where = prefix if key in ("non_field_errors", "__all__") else _path(prefix, key)
            for path, messages in error_paths(value, where).items():
                paths.setdefault(path, []).extend(messages)
        return paths
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        paths = {}
        for index, item in enumerate(detail):
            if item:
                for path, messages in error_paths(item, _path(prefix, index)).items():
                    paths.setdefault(path, []).extend(messages)
        return paths
    return {prefix: [str(message) for message in (detail if isinstance(detail, list) else [detail])]}
