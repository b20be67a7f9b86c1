"""Middleware of our own: the headers every response gets (a Content-Security-Policy, no caching of what a
signed-in person or an integration was shown), and sign-in redirects that htmx can follow."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


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


class HtmxSignInRedirect:
    """A request made in place (htmx) whose session has ended is sent to sign in as a whole page, and
    back to where the person was afterwards; otherwise htmx would follow the redirect and put the
    sign-in form inside the inbox."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or response.status_code != 302:
            return response
        login = resolve_url(settings.LOGIN_URL)
        if not response["Location"].startswith(login):
            return response
        page = urlsplit(htmx.current_url or "/")
        back = page.path + (f"?{page.query}" if page.query else "")
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
