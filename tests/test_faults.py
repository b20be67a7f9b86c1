"""Faults, with real processes: a worker killed mid-sweep, two sweeps in two workers at once, and Redis
down while leads are handed off. Each ends with every lead escalated, and every message sent, exactly once.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Outbox, WebhookSubscription
from integrations.tasks import deliver_outbox
from leads.models import Lead, LeadEvent, PickupNotice
from leads.services import escalation
from leads.tasks import check_overdue_pickups
from tests.factories import WARM, clone_leads, make_lead
from tests.receiver import SECRET, Receiver, verify
from tests.requirements import unavailable
from tests.workers import RedisServer, Worker, publishing_to, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():
    return f"slaportal-fault-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workers(settings):
    from slaportal.celery import app

    app.conf.task_always_eager = False  # tasks go through the broker to the workers started here
    started: list[Worker] = []

    def start(queue: str, *, broker_url: str | None = None, **env: str) -> Worker:
        worker = Worker(broker_url=broker_url or settings.CELERY_BROKER_URL, queue=queue, env=env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        print(worker.stop()[-3000:])


def overdue_leads(count: int) -> list[int]:
    """`count` leads handed off an hour past their pickup deadline, with the rep, under the SLA in force."""
    lead = make_lead(external_id="OD", now=timezone.now(), activities=WARM)
    assert lead.status == "handed_off"
    deadline = timezone.now() - timedelta(hours=1)
    ids = [lead.pk, *clone_leads(lead, count - 1, pickup_deadline=deadline, reminder_at=None)]
    Lead.objects.filter(pk=lead.pk).update(pickup_deadline=deadline, reminder_at=None)
    return ids


def breaches() -> int:
    return LeadEvent.objects.filter(kind="breached").count()


def assert_each_escalated_once(ids: list[int]) -> None:
    per_lead = Counter(LeadEvent.objects.filter(kind="breached").values_list("lead_id", flat=True))
    assert set(per_lead) == set(ids), f"{len(set(ids) - set(per_lead))} leads were never escalated"
    assert set(per_lead.values()) == {1}, "a lead was escalated more than once"
    assert PickupNotice.objects.filter(kind="breach").count() == len(ids)
    assert set(Lead.objects.filter(pk__in=ids).values_list("pickup_breaches", flat=True)) == {1}
    mails = Outbox.objects.filter(
        channel="email", payload__subject__startswith="[SLA Portal] Pickup deadline"
    )
    assert mails.count() == len(ids), "one breach e-mail per lead, no more, no less"


def test_a_worker_killed_mid_escalation_is_redelivered_and_breaches_once(queue, workers, pipeline):
    ids = overdue_leads(1500)
    first = workers(queue)
    check_overdue_pickups.apply_async(queue=queue, ignore_result=True)
    # The sweep commits in batches; kill the worker once some, not all, are recorded.
    assert wait_for(lambda: breaches() > 0, seconds=60, every=0.02), first.output[-3000:]
    first.kill()
    done_before_kill = breaches()
    assert 0 < done_before_kill < len(ids), f"the kill came too late to test anything: {done_before_kill}"

    # The unacknowledged task waits in Redis; a worker that starts later takes it once the visibility
    # timeout has passed (shortened here from an hour), and the sweep goes on where the dead one stopped.
    second = workers(queue, CELERY_VISIBILITY_TIMEOUT="1")
    assert wait_for(lambda: breaches() >= len(ids), seconds=120), second.output[-3000:]
    time.sleep(1)  # nothing more may come
    assert "leads.check_overdue_pickups" in second.output
    assert_each_escalated_once(ids)


def test_two_sweeps_in_two_workers_at_once_escalate_each_lead_once(queue, workers, pipeline):
    ids = overdue_leads(1000)
    one, two = workers(queue), workers(queue)
    for _ in range(4):  # as if two beats each fired twice
        check_overdue_pickups.apply_async(queue=queue, ignore_result=True)
    assert wait_for(lambda: breaches() >= len(ids), seconds=120), one.output[-2000:] + two.output[-2000:]
    assert wait_for(lambda: "succeeded" in one.output and "succeeded" in two.output, seconds=30)
    assert_each_escalated_once(ids)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_handoffs_while_redis_is_down_lose_nothing_and_send_once_it_is_back(
    queue, workers, pipeline, marketer, settings, client
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    redis = RedisServer()
    if redis.binary is None:
        unavailable("redis", "needs the redis-server program, to run a private Redis it can stop and start")
    hook = Receiver()
    try:
        WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
        client.force_login(marketer)
        # Redis is not running: publishing the after-commit nudge fails, the requests must not.
        began = time.monotonic()
        with publishing_to(redis.url):
            for n in range(5):
                started = time.monotonic()
                created = client.post(
                    "/api/v1/leads",
                    {"external_id": f"R{n}", "company": {"employees": 120}},
                    "application/json",
                )
                assert created.status_code == 201, created.content
                ingested = client.post(
                    "/api/v1/activities",
                    [
                        {
                            "lead_external_id": f"R{n}",
                            "type": kind,
                            "occurred_at": timezone.now().isoformat(),
                            "external_id": f"R{n}-{i}",
                        }
                        for i, kind in enumerate(WARM)
                    ],
                    "application/json",
                )
                assert ingested.status_code == 201, ingested.content
                assert time.monotonic() - started < 5, "the request waited on the dead broker"
            # Only the first request that found the broker down paid for finding out (about 2 s).
            assert time.monotonic() - began < 5, "every request waited on the dead broker"
            # A sweep in this process (as the management command runs it) escalates one of them: e-mail.
            Lead.objects.filter(external_id="R0").update(pickup_deadline=timezone.now() - timedelta(hours=1))
            assert escalation.check_overdue_pickups().breached == 1
        assert Lead.objects.filter(external_id__startswith="R", status="handed_off").count() == 5
        pending = Outbox.objects.filter(status="pending")
        assert pending.filter(channel="webhook").count() == 5
        mails = Counter(m.payload["subject"].split(":")[0] for m in pending.filter(channel="email"))
        # The breach, and the notice to the rep of each new lead.
        assert mails == {"[SLA Portal] Pickup deadline missed": 1, "[SLA Portal] A lead for you": 5}
        assert hook.requests == []

        # Redis is back; beat's next sweep (every minute) queues the delivery and a worker sends it all.
        redis.start()
        worker = workers(queue, broker_url=redis.url, WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
        with publishing_to(redis.url):
            deliver_outbox.apply_async(queue=queue, ignore_result=True)
        assert wait_for(lambda: not Outbox.objects.filter(status="pending").exists(), seconds=60), (
            worker.output[-3000:]
        )
        assert Outbox.objects.exclude(status="sent").count() == 0
        delivered = Counter(verify(r)["data"]["lead"]["external_id"] for r in hook.requests)
        assert delivered == {f"R{n}": 1 for n in range(5)}
        assert "Subject: [SLA Portal] Pickup deadline missed" in worker.output  # the console mail backend
    finally:
        redis.stop()
        hook.close()
