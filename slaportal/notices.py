"""Telling a person something: an in-app notice, and the same words by e-mail through the outbox.

Called by the domain services inside the transaction of the change, so the notice and its e-mail exist
exactly when the change does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings

from slaportal.models import Notice
from slaportal.publishing import Mail, tell_many


def notify(
    users: Iterable[Any], *, text: str, url: str, now: datetime, subject: str = "", email: bool = True
) -> list[Notice]:
    """Give each of `users` (once each) a notice, and (unless the caller e-mails them itself) an e-mail
    of their own: recipients do not see each other's addresses."""
    people = {user.pk: user for user in users if user is not None}
    return notify_many([(user, text, url, subject) for user in people.values()], now=now, email=email)


def notify_many(notes: list[tuple[Any, str, str, str]], *, now: datetime, email: bool = True) -> list[Notice]:
    """`notify` for many (user, text, url, subject) at once, each with its e-mail: two inserts."""
    notes = [note for note in notes if note[0] is not None and note[0].is_active]
    notices = Notice.objects.bulk_create(
        Notice(user=user, text=text[:500], url=url, created_at=now) for user, text, url, _ in notes
    )
    site = settings.SITE_URL.rstrip("/")
    tell_many(
        [
            Mail([user.email], subject or text[:120], f"{text}\n\n{site}{url}".strip())
            for user, text, url, subject in notes
            if user.email and email
        ],
        now=now,
    )
    return notices


def unread_count(user: Any) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).count()
