"""Content negotiation of the API. Its own module because DRF imports it while its views are loading."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from slaportal.problems import CONTENT_TYPE as PROBLEM


class ProblemAwareNegotiation(DefaultContentNegotiation):
    """A client that accepts application/problem+json (for its errors) gets JSON rather than a 406."""

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            if PROBLEM in request.META.get("HTTP_ACCEPT", ""):
                return renderers[0], renderers[0].media_type
            raise
