"""A real Celery worker process, on the Redis of this machine, runs the overdue check and a report build,
and delivers webhooks after the change that caused them commits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import LeadEvent, Outbox, WebhookSubscription
from leads.tasks import check_overdue_pickups, deliver_outbox
from reporting.models import MonthlyReport
from reporting.tasks import build_due_reports
from slaportal.celery import app
from tests.factories import WARM, make_lead
from tests.receiver import SECRET, Receiver, verify

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(check, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


@pytest.fixture
def worker(settings):
    queue = f"slaportal-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": queue,
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the test's receiver
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "slaportal",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    app.conf.task_default_queue = "celery"
    print(output[-4000:])


def test_worker_escalates_overdue_pickups_and_builds_reports(worker, pipeline, manager):
    now = timezone.now()
    pipeline.versions.update(effective_from=now - timedelta(days=70))
    lead = make_lead(external_id="W1", now=now - timedelta(days=40), activities=WARM)
    assert lead.status == "handed_off"
    assert lead.pickup_deadline < now

    check_overdue_pickups.delay()
    assert wait_for(lambda: LeadEvent.objects.filter(lead=lead, kind="breached").exists()), (
        "no breach recorded"
    )
    build_due_reports.delay()
    assert wait_for(lambda: MonthlyReport.objects.filter(agreement=pipeline).exists()), "no report built"
    report = MonthlyReport.objects.filter(agreement=pipeline).order_by("period_start").last()
    assert report.figures["period"] <= timezone.now().strftime("%Y-%m")
    assert LeadEvent.objects.filter(lead=lead, kind="breached").count() == 1


def test_worker_delivers_a_signed_webhook_once_the_handoff_commits(worker, pipeline, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    hook = Receiver(statuses=[500])  # the first attempt fails; the outbox's sweep retries it
    try:
        WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
        lead = make_lead(external_id="W2", now=timezone.now(), activities=WARM)
        assert wait_for(lambda: len(hook.requests) == 1), "the commit did not nudge the worker"
        message = Outbox.objects.get(channel="webhook")
        assert wait_for(lambda: Outbox.objects.filter(pk=message.pk, attempts=1).exists())
        # What beat's sweep does a minute later: the worker sends the due retry.
        Outbox.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        deliver_outbox.delay()
        assert wait_for(lambda: len(hook.requests) == 2), "the failed delivery was not retried"
        body = verify(hook.requests[1])
        assert (body["event"], body["data"]["lead"]["id"]) == ("lead.handed_off", lead.pk)
        assert wait_for(lambda: Outbox.objects.filter(pk=message.pk, status="sent").exists())
    finally:
        hook.close()
