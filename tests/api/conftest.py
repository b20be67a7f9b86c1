from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.tokens import token_create


@pytest.fixture
def api():
    """A client that speaks as `user` through a bearer token: api(user)."""

    def make(user):
        _, raw = token_create(user=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
