"""Secrets SLA Portal must keep and use again (webhook signing secrets) are sealed in the database with a
key from the settings, so a copy of the database alone does not give them away.

Sealed values are Fernet tokens (AES-128-CBC with an HMAC-SHA256, from the `cryptography` package),
stored as `fernet:<token>`. SECRETS_KEYS lists the keys: the first seals, every one unseals, so a new key
goes first, and `manage.py reseal_secrets` then seals every value with it before the old one is dropped.
Without SECRETS_KEYS the key is derived from SECRET_KEY.
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


@cache
def _keys(configured: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not configured:
        derived = hashlib.sha256(b"slaportal sealed secrets\0" + secret_key.encode()).digest()
        return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])
    try:
        return MultiFernet([Fernet(key.encode()) for key in configured])
    except ValueError:
        raise ImproperlyConfigured(
            "Each SECRETS_KEYS entry must be a Fernet key: 32 random bytes, url-safe base64 "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        ) from None


def keys() -> MultiFernet:
    return _keys(tuple(settings.SECRETS_KEYS), settings.SECRET_KEY)


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
        value = super().get_prep_value(value)
        return seal(value) if value and not value.startswith(PREFIX) else value
