"""API tokens: created, checked and revoked here. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from integrations.models import ApiToken
from leads import permissions
from slaportal.roles import remember_roles

PREFIX = "slp_"
# What a token may do, each within its user's role: a token acts for its user, never beyond.
SCOPES = {
    "read": "Read leads, their events, the SLA, reports and webhooks.",
    "write": "Send leads and activities, act on leads, manage webhooks.",
    "erase": "Erase a person's data (GDPR Art. 17). Only an admin's token can hold it.",
}
DEFAULT_SCOPES = ("read", "write")
MAX_LIFETIME_DAYS = 3650


class TokenError(ValueError):
    """A token that cannot be made as asked; the message says why."""


def scopes_allowed(user: Any) -> list[str]:
    """The scopes `user` may give a token."""
    return [scope for scope in SCOPES if scope != "erase" or permissions.can_erase(user)]


# Writing last_used_at on every request would make every API call a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *,
    user: Any,
    name: str,
    scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored. Without `expires_in_days` it lasts
    until revoked."""
    now = now or timezone.now()
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise TokenError(f"A token lasts 1 to {MAX_LIFETIME_DAYS} days, or until revoked.")
    if not scopes:
        raise TokenError("Choose at least one scope.")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise TokenError(f"Unknown scope {unknown[0]!r}; the scopes are {', '.join(SCOPES)}.")
    beyond = [scope for scope in scopes if scope not in scopes_allowed(user)]
    if beyond:
        raise TokenError(f"{user} may not give a token the {beyond[0]!r} scope.")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=(name or "API token")[:100],
        prefix=raw[:12],
        key_hash=_digest(raw),
        scopes=[scope for scope in SCOPES if scope in scopes],
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return token, raw


def token_allows(token: ApiToken, scope: str) -> bool:
    return scope in token.scopes


def token_authenticate(raw: str) -> ApiToken | None:
    now = timezone.now()
    # A row for each of the user's groups (LEFT JOIN), so the role checks that follow ask nothing more.
    rows = list(
        ApiToken.objects.select_related("user")
        .annotate(group_name=F("user__groups__name"))
        .filter(key_hash=_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )
    if not rows:
        return None
    token = rows[0]
    remember_roles(token.user, {row.group_name for row in rows})
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
