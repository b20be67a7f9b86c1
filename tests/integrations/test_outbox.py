"""The outbox against slow, failing and dying peers: nothing is sent inside a transaction, one lane's
trouble stays in its lane, a killed worker re-sends at most what it was sending, and a receiver that
keeps failing is turned off with its maker told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from integrations import outbox, webhooks
from integrations.models import Outbox, WebhookSubscription
from integrations.outbox import lease, outbox_add, outbox_deliver, outbox_email
from tests.receiver import SECRET

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """What the worker's death looks like from inside: nothing after it runs."""


def queue_emails(n: int, now):
    with transaction.atomic():
        return [outbox_email(to=[f"p{i}@example.com"], subject=f"m{i}", body="b", now=now) for i in range(n)]


def test_a_worker_killed_mid_batch_sends_again_only_the_message_it_was_sending(monkeypatch):
    now = timezone.now()
    first, second, third = queue_emails(3, now)
    sends: list[int] = []

    def dies_on_the_second(payload, message_id):
        sends.append(message_id)
        if message_id == second.pk:
            raise Killed

    monkeypatch.setitem(outbox.SENDERS, Outbox.Channel.EMAIL, dies_on_the_second)
    with pytest.raises(Killed):
        outbox_deliver(now=now)
    # What the first send recorded stays recorded.
    assert Outbox.objects.get(pk=first.pk).status == "sent"
    monkeypatch.setitem(
        outbox.SENDERS, Outbox.Channel.EMAIL, lambda payload, message_id: sends.append(message_id)
    )
    # The next sweep finds the lane busy with the dead worker's claim (it cannot tell dead from slow),
    # so the lane waits for the claim to lapse; then both go.
    outbox_deliver(now=now)
    assert Outbox.objects.get(pk=third.pk).status == "pending"
    outbox_deliver(now=now + lease() + timedelta(seconds=1))
    assert Outbox.objects.get(pk=second.pk).status == "sent"
    assert Outbox.objects.get(pk=third.pk).status == "sent"
    assert sorted(sends) == sorted([first.pk, second.pk, second.pk, third.pk])


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_inside_a_transaction_or_under_a_row_lock(monkeypatch):
    seen = []
    monkeypatch.setitem(
        outbox.SENDERS, Outbox.Channel.EMAIL, lambda payload, pk: seen.append(connection.in_atomic_block)
    )
    queue_emails(2, timezone.now())  # the commit's nudge delivers them (the suite runs tasks eagerly)
    outbox_deliver()
    assert seen == [False, False]
    assert Outbox.objects.filter(status="sent").count() == 2


def test_a_failing_receiver_holds_up_its_own_lane_only(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    now = timezone.now()
    broken = WebhookSubscription.objects.create(url="http://127.0.0.1:9/broken", secret=SECRET, events=["x"])
    healthy = WebhookSubscription.objects.create(url="http://127.0.0.1:9/ok", secret=SECRET, events=["x"])
    sent = []

    def post(payload, message_id):
        if payload["subscription"] == broken.pk:
            raise webhooks.WebhookRefused("HTTP 500")
        sent.append(message_id)

    monkeypatch.setitem(outbox.SENDERS, Outbox.Channel.WEBHOOK, post)
    with transaction.atomic():
        for subscription in (broken, broken, broken, healthy, healthy):
            payload = {"subscription": subscription.pk, "event": "x", "body": "{}"}
            outbox_add(channel=Outbox.Channel.WEBHOOK, payload=payload, now=now)
    queue_emails(1, now)
    monkeypatch.setitem(
        outbox.SENDERS, Outbox.Channel.EMAIL, lambda payload, message_id: sent.append(message_id)
    )
    assert outbox_deliver(now=now) == 3  # the healthy receiver's two and the e-mail
    broken_lane = Outbox.objects.filter(lane=f"webhook:{broken.pk}")
    # One attempt at the broken receiver; its other deliveries wait for the next sweep, unattempted.
    assert sorted(broken_lane.values_list("attempts", flat=True)) == [0, 0, 1]


def test_a_receiver_failing_for_days_is_turned_off_and_its_maker_told(settings, admin_user):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 5
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 3
    admin_user.email = "maker@example.com"
    admin_user.save()
    subscription = WebhookSubscription.objects.create(
        url="https://hooks.example.com/in", secret=SECRET, events=["lead.closed"], created_by=admin_user
    )
    start = timezone.now()
    # Many failures in one day are an outage, not a dead receiver: it stays on.
    for hour in range(10):
        webhooks.receiver_failed(subscription, reason="HTTP 500", now=start + timedelta(hours=hour))
    subscription.refresh_from_db()
    assert subscription.is_active
    # An answer in between starts the count again.
    webhooks.receiver_answered(subscription)
    subscription.refresh_from_db()
    assert (subscription.consecutive_failures, subscription.failing_since) == (0, None)
    for day in range(4):
        webhooks.receiver_failed(subscription, reason="HTTP 500", now=start + timedelta(days=day))
    subscription.refresh_from_db()
    assert subscription.is_active  # 4 failures over 3 days: not yet
    webhooks.receiver_failed(subscription, reason="HTTP 500", now=start + timedelta(days=3, hours=1))
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_reason.startswith("5 deliveries in a row failed over 3 days or more")
    notice = Outbox.objects.get(channel="email")
    assert notice.payload["to"] == ["maker@example.com"]
    assert "turned off the webhook to https://hooks.example.com/in" in notice.payload["subject"]
    # Turned on again, it starts from nothing.
    subscription.is_active = True
    subscription.save()
    subscription.refresh_from_db()
    assert (subscription.disabled_at, subscription.consecutive_failures) == (None, 0)
    assert mail.outbox == []  # told through the outbox, after commit, like every e-mail


def test_a_message_whose_sends_never_finish_is_given_up_not_tried_for_ever(settings, monkeypatch):
    now = timezone.now()
    (message,) = queue_emails(1, now)
    # Each claim counted an attempt and its worker died before recording anything.
    Outbox.objects.filter(pk=message.pk).update(attempts=settings.OUTBOX_MAX_ATTEMPTS)
    monkeypatch.setitem(outbox.SENDERS, Outbox.Channel.EMAIL, lambda payload, pk: pytest.fail("sent"))
    outbox_deliver(now=now)
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.last_error == "Gave up: no attempt to send it ever finished."


def test_one_worker_at_a_time_per_lane(monkeypatch):
    now = timezone.now()
    first, second = queue_emails(2, now)
    # Another worker holds a claim on the first e-mail (its SMTP server is slow): this run leaves the
    # lane alone instead of taking another of its slots.
    Outbox.objects.filter(pk=first.pk).update(locked_until=now + timedelta(seconds=60), attempts=1)
    monkeypatch.setitem(outbox.SENDERS, Outbox.Channel.EMAIL, lambda payload, pk: pytest.fail("sent"))
    assert outbox_deliver(now=now) == 0
    assert Outbox.objects.get(pk=second.pk).attempts == 0


def test_a_message_erased_while_it_is_being_sent_stays_failed(monkeypatch):
    now = timezone.now()
    (message,) = queue_emails(1, now)

    def erased_meanwhile(payload, pk):
        Outbox.objects.filter(pk=pk).update(status="failed", last_error="Not sent: erased.")
        raise OSError("the mail server hung up")

    monkeypatch.setitem(outbox.SENDERS, Outbox.Channel.EMAIL, erased_meanwhile)
    outbox_deliver(now=now)
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("failed", "Not sent: erased.")


def test_a_resend_leaves_alone_a_message_being_sent(admin_user):
    now = timezone.now()
    sending, done = queue_emails(2, now)
    Outbox.objects.filter(pk=sending.pk).update(locked_until=now + timedelta(seconds=60), attempts=1)
    Outbox.objects.filter(pk=done.pk).update(status="failed", attempts=8)
    assert outbox.outbox_resend(message_ids=[sending.pk, done.pk], now=now) == 1
    assert Outbox.objects.get(pk=sending.pk).attempts == 1
    assert Outbox.objects.get(pk=done.pk).status == "pending"
