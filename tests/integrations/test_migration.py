"""The integration tables moved from leads to integrations without losing a row: checked on a database that
holds the demo, taken back to the layout before the move (as every existing installation has it) and
migrated forward again: on SQLite, and on PostgreSQL (a scratch database) in the run that has it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("apitoken", "idempotencyrecord", "outbox", "webhooksubscription")
MAKE_ROWS = """
from django.contrib.auth import get_user_model
from integrations.models import IdempotencyRecord, WebhookSubscription
from integrations.tokens import token_create
user = get_user_model().objects.get(username="marketing")
token_create(user=user, name="CRM")
IdempotencyRecord.objects.create(user=user, key="k1", request_hash="0" * 64, status_code=201)
WebhookSubscription.objects.create(url="https://crm.example.com/h", secret="s" * 32, events=["lead.accepted"])
"""
COUNT_ROWS = """
import json
from django.contrib.contenttypes.models import ContentType
from integrations.models import ApiToken, IdempotencyRecord, Outbox, WebhookSubscription
counts = [m.objects.count() for m in (ApiToken, IdempotencyRecord, Outbox, WebhookSubscription)]
labels = ContentType.objects.filter(model__in=%s).values_list("app_label", flat=True)
print(json.dumps({"counts": counts, "apps": sorted(set(labels))}))
"""


@pytest.fixture
def database(tmp_path) -> Iterator[tuple[dict[str, str], Callable[[str], list[tuple]]]]:
    """The environment for manage.py to use a database of its own, and a way to query it directly."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["SLAPORTAL_VAR_DIR"] = str(tmp_path)
    if connection.vendor != "postgresql":

        def sqlite(query: str) -> list[tuple]:
            with sqlite3.connect(tmp_path / "db.sqlite3") as db:
                return db.execute(query).fetchall()

        yield env, sqlite
        return
    import psycopg

    s = connection.settings_dict
    name = f"slaportal_migration_{os.getpid()}"
    server = f"postgresql://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"{server}/{name}"

        def postgres(query: str) -> list[tuple]:
            with psycopg.connect(env["DATABASE_URL"]) as db:
                return db.execute(query).fetchall()

        try:
            yield env, postgres
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_moved_tables_keep_their_rows_across_the_migration(database):
    env, sql = database

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def rows() -> dict:
        return json.loads(manage("shell", "--no-imports", "-c", COUNT_ROWS % (TABLES,)).splitlines()[-1])

    def tables() -> set[str]:
        if connection.vendor == "postgresql":
            return {r[0] for r in sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        return {r[0] for r in sql("SELECT name FROM sqlite_master WHERE type = 'table'")}

    manage("migrate", "--noinput")
    manage("seed_demo")
    manage("shell", "--no-imports", "-c", MAKE_ROWS)
    before = rows()
    tokens, keys, messages, subscriptions = before["counts"]
    assert (tokens, keys, subscriptions) == (1, 1, 1)
    assert messages > 0  # the demo's published reports queued their e-mails
    assert before["apps"] == ["integrations"]

    # Back to the layout every installation had before the move: the rows live in leads_* tables.
    manage("migrate", "integrations", "zero", "--noinput")
    manage("migrate", "leads", "0006", "--noinput")
    assert {f"leads_{t}" for t in TABLES} <= tables()
    assert not {f"integrations_{t}" for t in TABLES} & tables()
    assert [sql(f"SELECT count(*) FROM leads_{t}")[0][0] for t in TABLES] == before["counts"]
    labels = sql("SELECT DISTINCT app_label FROM django_content_type WHERE model = 'outbox'")
    assert [row[0] for row in labels] == ["leads"]

    manage("migrate", "--noinput")
    assert rows() == before
    if connection.vendor == "postgresql":
        # The pattern index of the token hash carries the new table's name, as Django would look for it.
        like = sql("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%key_hash%%like'")
        assert [name for (name,) in like if name.startswith("integrations_apitoken_key_hash")] != []
        assert [name for (name,) in like if name.startswith("leads_")] == []
