"""What every API view shares: bearer tokens, one error format, throttling, the body limit, idempotency.

Every error is an RFC 9457 problem (application/problem+json; slaportal.problems), so an integrator
handles one shape; the OpenAPI schema documents it as `Problem`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from agreements.models import Agreement
from agreements.selectors import default_agreement
from integrations.authentication import BearerTokenAuthentication
from integrations.idempotency import idempotency_claim, idempotency_release, idempotency_store
from leads import services as lead_services
from slaportal.problems import CONTENT_TYPE as PROBLEM
from slaportal.problems import problem_body, problem_response
from slaportal.roles import Role, has_role


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `manage.py create_api_token`.",
        }


def require_role(request: Request, *roles: Role, message: str = "Your role does not allow this.") -> None:
    """A 403 (through api_exception_handler) unless the user holds one of `roles`."""
    if not has_role(request.user, *roles):
        raise PermissionDenied(message)


AGREEMENT_PARAM = OpenApiParameter(
    "agreement", int, description="An agreement id; by default the oldest with a version in force."
)


def agreement_param(request: Request) -> Agreement | None:
    """The agreement that ?agreement= names (the default one without it); None when there is no such one."""
    raw = request.query_params.get("agreement")
    if raw is None:
        return default_agreement()
    if not (raw.isdigit() and len(raw) <= 18):  # longer ids overflow the database's integer
        raise serializers.ValidationError({"agreement": ["Give an agreement id."]})
    return Agreement.objects.filter(pk=int(raw)).first()


def actor_for(request: Request) -> lead_services.Actor:
    if isinstance(request.successful_authenticator, BearerTokenAuthentication):
        return lead_services.Actor.integration(request.user)
    return lead_services.Actor.of(request.user)


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem: every error the API answers, as application/problem+json."""

    type = serializers.CharField(help_text='"about:blank": the status says what kind of problem it is.')
    title = serializers.CharField(help_text="The status's name, such as Bad Request.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    errors = serializers.DictField(
        required=False,
        child=serializers.ListField(child=serializers.CharField()),
        help_text="On invalid input: a field's path in the body (such as company.employees or "
        "0.occurred_at; \"\" is the whole body), or a query parameter's or header's name -> messages.",
    )
    lead_status = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="On a 409: the lead's status now (null if the lead is gone).",
    )


def _errors(*codes: int) -> dict[tuple[int, str], type[ProblemSerializer]]:
    return {(code, PROBLEM): ProblemSerializer for code in codes}


# Responses every authenticated endpoint may give, for the schema (400: an unknown query parameter, at least).
COMMON_ERRORS = _errors(400, 401, 403, 413, 429)
# And those that take a JSON body: anything else is a 415.
WRITE_ERRORS = {**COMMON_ERRORS, **_errors(415)}


def problem(status: int, detail: str, *, errors: Any = None, **extra: Any) -> Response:
    """An error response of the API, as an RFC 9457 problem."""
    return Response(problem_body(status, detail, errors=errors, **extra), status=status, content_type=PROBLEM)


def invalid(errors: Any) -> Response:
    return problem(400, "Invalid input.", errors=errors)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain errors to HTTP, and give every error the one problem shape."""
    if isinstance(exc, lead_services.LeadValidationError):
        return invalid(exc.errors)
    if isinstance(exc, lead_services.NotAllowed | PermissionDenied):
        return problem(403, str(exc) or "Your role does not allow this.")
    if isinstance(exc, lead_services.TransitionRefused | lead_services.TransitionConflict):
        return problem(409, str(exc), lead_status=exc.current)
    if isinstance(exc, lead_services.NoAgreement):
        return problem(409, str(exc))
    if isinstance(exc, RequestDataTooBig):
        return problem(413, body_too_big_message())
    if isinstance(exc, Http404):
        return problem(404, "Not found.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = problem_body(response.status_code, "Invalid input.", errors=response.data)
    elif isinstance(exc, exceptions.ParseError):
        # The body is not JSON: the error is the whole body's.
        body = problem_body(response.status_code, "Invalid input.", errors={"non_field_errors": [str(exc)]})
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body = problem_body(response.status_code, str(detail))
    response.data = body
    response.content_type = PROBLEM
    return response


def body_too_big_message() -> str:
    return f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KiB."


class ApiBodyLimitMiddleware:
    """A 413 with the API's error body for an API request larger than DATA_UPLOAD_MAX_MEMORY_SIZE, and a
    chunked body (no Content-Length) read in full, under the same limit, instead of being taken as empty."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            refused = self._check(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not request.META.get(
            "CONTENT_LENGTH"
        ):
            # The server de-chunks the stream but cannot say its length, and Django reads no more than the
            # length it is told: read it here, one byte past the limit at most.
            stream = request.META.get("wsgi.input")
            body = stream.read(limit + 1) if stream is not None else b""
            if len(body) > limit:
                return problem_response(413, body_too_big_message())
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = io.BytesIO(body)  # what Django and DRF read the body from
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(400, "Content-Length is not a number.")
        if length > limit:
            return problem_response(413, body_too_big_message())
        return None


class RateLimitHeaders:
    """RateLimit-Limit, -Remaining and -Reset (seconds) on every API response that the throttle counted,
    so an integration can pace itself instead of learning the budget from a 429."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        counted = getattr(request, "rate_limit", None)
        if counted is not None:
            limit, remaining, reset = counted
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
        return response


IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (at most 200 characters). A retry with the same key returns the first "
    "response and does nothing twice; the same key with a different body is refused with 422.",
)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def idempotent(view_method: Callable[..., Response]) -> Callable[..., HttpResponse]:
    """Honour Idempotency-Key on a POST action: run once, replay the stored response to retries."""

    @wraps(view_method)
    def wrapped(self: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        # The body is read first, key or not: one the parser refuses (not JSON, nested too deep, a NUL, ...)
        # is the same 400 with or without a key, before anything is looked up, claimed or done; an action
        # that takes no body would otherwise act on a request whose key would have made it a 400.
        data = request.data
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view_method(self, request, *args, **kwargs)
        # A control character is no part of a key (and a NUL one PostgreSQL cannot store).
        if not key.strip() or len(key) > 200 or _CONTROL.search(key):
            return invalid(
                {"Idempotency-Key": ["Use 1 to 200 characters, none of them a control character."]}
            )
        # The request is what its JSON means: a retry whose body differs only in spacing or key order is the
        # same request.
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
        digest = hashlib.sha256(f"{request.method} {request.path}\n".encode() + canonical).hexdigest()
        record, claimed = idempotency_claim(user=request.user, key=key, request_hash=digest)
        if not claimed:
            if record.request_hash != digest:
                return problem(422, "This Idempotency-Key was already used for a different request.")
            if record.status_code is None:
                return problem(409, "A request with this Idempotency-Key is still in progress.")
            kind = PROBLEM if record.status_code >= 400 else "application/json"  # errors are problems
            replay = HttpResponse(record.response, status=record.status_code, content_type=kind)
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception as exc:
            # The handler's own error response is what the first call got; keep it for retries too.
            handled = api_exception_handler(exc, {"view": self, "request": request})
            if handled is None:
                idempotency_release(record=record)  # an unexpected error: let a retry really try again
                raise
            response = handled
        # Rendered as DRF renders the response itself, and kept as text: a retry gets the same bytes.
        body = JSONRenderer().render(response.data).decode()
        idempotency_store(record=record, status_code=response.status_code, body=body)
        return response

    return wrapped
