from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.tokens import DEFAULT_SCOPES, token_create


@pytest.fixture
def api():
    """A client that speaks as `user` through a bearer token: api(user), or api(user, scopes=[...])."""

    def make(user, scopes=DEFAULT_SCOPES):
        _, raw = token_create(user=user, name="test", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
