"""Secrets SLA Portal must keep and use again (webhook signing secrets) are sealed in the database with a
key from the settings, so a copy of the database alone does not give them away.

Sealed values are Fernet tokens (AES-128-CBC with an HMAC-SHA256, from the `cryptography` package),
stored as `fernet:<token>`. SECRETS_KEYS lists the keys: the first seals, every one unseals, so a new key
goes first, and `manage.py reseal_secrets` then seals every value with it before the old one is dropped.
Keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS always unseal too; without SECRETS_KEYS the one
from SECRET_KEY seals.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


def _derived(secret_key: str) -> Fernet:
    return Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(b"slaportal sealed secrets\0" + secret_key.encode()).digest())
    )


@cache
def _keys(configured: tuple[str, ...], secret_keys: tuple[str, ...]) -> MultiFernet:
    try:
        chosen = [Fernet(key.encode()) for key in configured]
    except ValueError:
        raise ImproperlyConfigured(
            "Each SECRETS_KEYS entry must be a Fernet key: 32 random bytes, url-safe base64 "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        ) from None
    # The keys derived from SECRET_KEY and its fallbacks always unseal too (and the first seals when no
    # key is configured), so moving to SECRETS_KEYS, or rotating SECRET_KEY through
    # SECRET_KEY_FALLBACKS, loses nothing; reseal_secrets then moves every value to the first key.
    return MultiFernet(chosen + [_derived(key) for key in secret_keys])


def keys() -> MultiFernet:
    return _keys(
        tuple(settings.SECRETS_KEYS), (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", []))
    )


def seal(plain: str) -> str:
    return PREFIX + keys().encrypt(plain.encode()).decode()


def unseal(stored: str) -> str:
    """The plain text; a value stored before sealing began (no prefix) is returned as it is."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return keys().decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A sealed secret does not open with any key of SECRETS_KEYS (or the key derived from "
            "SECRET_KEY): list the key it was sealed with."
        ) from None


class SealedTextField(models.TextField):
    """Text that the database holds sealed and Python sees plain."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return unseal(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        # Python only ever holds the plain text, so whatever is saved is sealed, even text that happens to
        # start like a sealed value.
        value = super().get_prep_value(value)
        return seal(value) if value else value
