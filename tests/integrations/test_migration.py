"""The integration tables moved from leads to integrations without losing a row: checked on a database that
holds the demo, taken back to the layout before the move (as every existing installation has it) and
migrated forward again."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

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


def test_the_moved_tables_keep_their_rows_across_the_migration(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["SLAPORTAL_VAR_DIR"] = str(tmp_path)

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
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {f"leads_{t}" for t in TABLES} <= names
        assert not {f"integrations_{t}" for t in TABLES} & names
        counts = [db.execute(f"SELECT count(*) FROM leads_{t}").fetchone()[0] for t in TABLES]
        assert counts == before["counts"]
        labels = db.execute("SELECT DISTINCT app_label FROM django_content_type WHERE model = 'outbox'")
        assert [row[0] for row in labels] == ["leads"]

    manage("migrate", "--noinput")
    assert rows() == before
