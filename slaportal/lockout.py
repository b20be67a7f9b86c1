"""The page a sign-in refused by a lockout gets (django-axes calls `locked_out`)."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from slaportal.clientip import client_ip


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """429 with Retry-After. It names neither the account nor whether it exists: the same words answer
    a wrong password for a real account and any password for a made-up one."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request, "registration/locked_out.html", {"minutes": max(1, round(seconds / 60))}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response


@receiver(user_logged_in, dispatch_uid="slaportal.lockout.forget_own_typos")
def forget_own_typos(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A person who signs in after a typo or two starts again from nothing: the failures of this account
    from this address go. Failures against other accounts from here, and against this one from elsewhere,
    stay counted."""
    if request is None:
        return
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=client_ip(request)).delete()
