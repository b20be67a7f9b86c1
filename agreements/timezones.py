"""Which time zone a person reads times in: their own choice (slaportal.preferences), else the zone of
their SLA's business calendar, where deadlines are counted. Activated for each request by the middleware
below, so every `|when` on a page speaks the reader's zone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from agreements.models import AgreementVersion
from agreements.selectors import signed_version
from slaportal.preferences import time_zone_of


def sla_time_zone(user: Any) -> str:
    """The calendar zone of the SLA in force for the person's teams (any agreement's when they have none)."""
    active = AgreementVersion.objects.filter(status=AgreementVersion.Status.ACTIVE).order_by("agreement_id")
    theirs = active.filter(
        Q(agreement__sales_team__memberships__user=user)
        | Q(agreement__marketing_team__memberships__user=user)
    )
    pk = theirs.values_list("pk", flat=True).first() or active.values_list("pk", flat=True).first()
    return signed_version(pk).calendar.timezone if pk else settings.TIME_ZONE


class UserTimeZone:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(time_zone_of(user, sla_time_zone))
            except (ZoneInfoNotFoundError, ValueError):
                # A stored zone this machine's tz database no longer knows: the SLA's, not a broken page.
                timezone.activate(sla_time_zone(user))
            # For the settings page, which names the zone a blank choice stands for.
            request.sla_time_zone = lambda: sla_time_zone(user)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
