from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from leads import outbox, services, webhooks
from leads.models import Outbox, WebhookSubscription
from leads.services import Actor
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db
SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A real HTTP server on loopback that records what it gets and answers with scripted statuses."""

    def __init__(self, statuses, delay=0.0):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": self.headers, "body": body})
                time.sleep(delay)
                self.send_response(statuses.pop(0) if statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    made = []

    def start(statuses=(), delay=0.0):
        made.append(Receiver(list(statuses), delay))
        return made[-1]

    yield start
    for r in made:
        r.close()


def verify(request) -> dict:
    """What a receiver does: recompute the HMAC over timestamp and raw body, compare in constant time."""
    parts = dict(p.split("=", 1) for p in request["headers"]["X-SLA-Portal-Signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])
    assert abs(int(parts["t"]) - time.time()) < 60
    return json.loads(request["body"])


def test_handoff_webhook_is_signed_and_retried_after_a_failure(pipeline, receiver, admin_user, api):
    hook = receiver(statuses=[500, 200])
    created = api(admin_user).post(
        "/api/v1/webhooks/", {"url": hook.url, "secret": SECRET, "events": ["lead.handed_off"]}, format="json"
    )
    assert created.status_code == 201
    assert "secret" not in created.json()
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert outbox.outbox_deliver() == 0  # the receiver answered 500
    message = Outbox.objects.get(channel="webhook")
    assert (message.status, message.attempts, message.last_error) == (
        "pending",
        1,
        "WebhookRefused: HTTP 500",
    )
    assert outbox.outbox_deliver(now=timezone.now() + timedelta(minutes=2)) == 1
    first, second = hook.requests
    assert (
        first["headers"]["X-SLA-Portal-Delivery"]
        == second["headers"]["X-SLA-Portal-Delivery"]
        == str(message.pk)
    )
    assert second["headers"]["X-SLA-Portal-Event"] == "lead.handed_off"
    body = verify(second)
    assert body["event"] == "lead.handed_off"
    assert body["data"]["lead"]["id"] == lead.pk
    assert body["data"]["lead"]["status"] == "handed_off"
    assert body["data"]["sla"] == {"version": 1, "clause": "handoff.pickup.warm", "reason": ""}


def test_each_transition_emits_its_event_to_subscribers_only(pipeline, receiver, rep):
    hook = receiver()
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.accepted", "lead.closed"])
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep))
    services.lead_close(lead=lead, actor=Actor.of(rep), outcome="won")
    outbox.outbox_deliver()
    events = [verify(r)["event"] for r in hook.requests]
    assert events == ["lead.accepted", "lead.closed"]


def test_a_slow_receiver_times_out_and_is_retried(pipeline, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    hook = receiver(delay=1.0)
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert outbox.outbox_deliver() == 0
    message = Outbox.objects.get(channel="webhook")
    assert message.status == "pending"
    assert "timed out" in message.last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/",
        "http://10.0.0.5/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "ftp://example.com/",
        "http://192.168.1.1/",
    ],
)
def test_internal_or_odd_urls_are_refused_unless_allowed(admin_user, api, url):
    response = api(admin_user).post(
        "/api/v1/webhooks/", {"url": url, "secret": SECRET, "events": ["lead.accepted"]}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def test_only_admins_manage_subscriptions(marketer, manager, api):
    for user in (marketer, manager):
        assert api(user).get("/api/v1/webhooks/").status_code == 403


def test_unknown_events_are_refused(admin_user, api, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    response = api(admin_user).post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1/x", "secret": SECRET, "events": ["lead.exploded"]},
        format="json",
    )
    assert response.status_code == 400
