"""A real Celery worker process, on the Redis of this machine, runs the overdue check and a report build,
and delivers webhooks after the change that caused them commits."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Outbox, WebhookSubscription
from integrations.tasks import deliver_outbox
from leads.models import LeadEvent
from leads.tasks import check_overdue_pickups
from reporting.models import MonthlyReport
from reporting.tasks import build_due_reports
from slaportal.celery import app
from tests.factories import WARM, make_lead
from tests.receiver import SECRET, Receiver, verify
from tests.workers import Worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings):
    queue = f"slaportal-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    process = Worker(
        broker_url=settings.CELERY_BROKER_URL,
        queue=queue,
        env={"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"},  # the test's receiver
    )
    yield queue
    app.conf.task_default_queue = "celery"
    print(process.stop()[-4000:])


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
