"""A real Celery worker process, on the Redis of this machine, runs the overdue check and a report build,
and delivers webhooks after the change that caused them commits."""

from __future__ import annotations

import time
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


def start_worker(settings, **options):
    queue = f"slaportal-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    env = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", **options.pop("env", {})}  # the test's receiver
    return queue, Worker(broker_url=settings.CELERY_BROKER_URL, queue=queue, env=env, **options)


@pytest.fixture
def worker(settings):
    queue, process = start_worker(settings)
    yield queue
    app.conf.task_default_queue = "celery"
    print(process.stop()[-4000:])


@pytest.fixture
def threaded_worker(settings):
    # A receiver may keep a delivery for the whole deadline: 30 s here, so only the lanes can explain an
    # e-mail that goes out meanwhile.
    queue, process = start_worker(settings, pool="threads", env={"WEBHOOK_DEADLINE_SECONDS": "30"})
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


def test_a_trickling_receiver_does_not_delay_a_breach_email(threaded_worker, pipeline, manager, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    hook = Receiver(trickle=0.5, trickle_for=30)  # a header line every half second, for half a minute
    try:
        # The missed deadline is published to the slow receiver and e-mailed to the manager in one commit.
        WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.pickup_overdue"])
        lead = make_lead(external_id="T1", now=timezone.now() - timedelta(days=14), activities=WARM)
        started = time.monotonic()
        check_overdue_pickups.delay()
        assert wait_for(lambda: LeadEvent.objects.filter(lead=lead, kind="breached").exists(), seconds=10)
        breach_mail = Outbox.objects.filter(channel="email", payload__to__contains=[manager.email])
        assert wait_for(lambda: breach_mail.filter(status="sent").exists(), seconds=10), "the e-mail waited"
        assert time.monotonic() - started < 5
        assert wait_for(lambda: len(hook.requests) == 1), "the webhook was not tried"
        assert Outbox.objects.get(channel="webhook").status == "pending"  # still with the slow receiver
    finally:
        hook.close()


def test_worker_runs_a_simulation_marketing_asked_for(worker, pipeline, marketer):
    from reporting import simulations
    from reporting.models import Simulation

    now = timezone.now()
    pipeline.versions.update(effective_from=now - timedelta(days=400))
    make_lead(external_id="S1", now=now - timedelta(days=40), activities=WARM)
    simulation = simulations.simulation_request(
        agreement=pipeline,
        user=marketer,
        changes={"mql_threshold": "hot"},
        start=now - timedelta(days=60),
        end=now,
    )
    assert wait_for(lambda: Simulation.objects.filter(pk=simulation.pk, status="done").exists()), (
        Simulation.objects.filter(pk=simulation.pk).values_list("status", "error").first()
    )
    simulation.refresh_from_db()
    assert simulation.results["changed_leads"] == 1
    assert simulation.results["fidelity"]["share"] == 1.0
