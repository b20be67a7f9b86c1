"""Response headers every page gets: a Content-Security-Policy, and no caching of what a signed-in person
or an integration was shown."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeaders:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        # A shared or back-button cache must not keep a signed-in page (or an API answer, which a token
        # authenticates inside the view) for the next person at that computer.
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith("/api/v1/"):
            response.headers["Cache-Control"] = "no-store"
        return response
