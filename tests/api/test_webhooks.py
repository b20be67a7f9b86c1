from __future__ import annotations

import base64
import itertools
import json
import socket
import textwrap
import time
import urllib.request
from datetime import timedelta

import pytest
from django.conf import settings as settings_module
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from standardwebhooks.webhooks import WebhookVerificationError

from integrations import netguard, outbox, webhooks
from integrations.models import Outbox, WebhookSubscription
from leads import services
from leads.models import Lead, LeadEvent
from leads.services import Actor, escalation
from leads.services.privacy import TOMBSTONE
from reporting.periods import period_containing
from reporting.services import report_build
from slaportal.publishing import EVENTS
from tests.factories import WARM, make_lead
from tests.receiver import SECRET, Receiver, verify

pytestmark = pytest.mark.django_db


def site_admin(user):
    user.is_staff = user.is_superuser = True  # as the demo's admins are
    user.save()
    return user


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    made = []

    def start(statuses=(), delay=0.0, headers=None, trickle=0.0, trickle_for=0.0):
        made.append(Receiver(list(statuses), delay, headers, trickle=trickle, trickle_for=trickle_for))
        return made[-1]

    yield start
    for r in made:
        r.close()


def test_handoff_webhook_is_signed_and_retried_after_a_failure(pipeline, receiver, admin_user, api):
    hook = receiver(statuses=[500, 200])
    created = api(admin_user).post(
        "/api/v1/webhooks", {"url": hook.url, "events": ["lead.handed_off"]}, format="json"
    )
    assert created.status_code == 201
    secret = created.json()["secret"]  # made by SLA Portal, shown this once
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert "secret" not in api(admin_user).get(f"/api/v1/webhooks/{created.json()['id']}").json()
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert (
        outbox.outbox_deliver() == 1
    )  # the rep's e-mail went; the webhook did not: the receiver answered 500
    message = Outbox.objects.get(channel="webhook")
    assert (message.status, message.attempts, message.last_error) == (
        "pending",
        1,
        "WebhookRefused: HTTP 500",
    )
    assert outbox.outbox_deliver(now=timezone.now() + timedelta(minutes=2)) == 1
    first, second = hook.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == f"msg_{message.pk}"
    assert second["headers"]["X-SLA-Portal-Event"] == "lead.handed_off"
    body = verify(second, secret)
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


def test_a_slow_receiver_times_out_and_is_retried(pipeline, receiver, settings):
    settings.WEBHOOK_DEADLINE_SECONDS = 0.3
    hook = receiver(delay=1.0)
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert outbox.outbox_deliver() == 1  # the rep's e-mail about the new lead, not the webhook
    message = Outbox.objects.get(channel="webhook")
    assert message.status == "pending"
    assert "timed out" in message.last_error or "No answer within 0.3 seconds" in message.last_error


def test_a_receiver_that_trickles_its_headers_is_cut_off_at_the_deadline(pipeline, receiver, settings):
    # A header line every half second never lets a socket timeout fire; the deadline counts them all.
    settings.WEBHOOK_DEADLINE_SECONDS = 1.0
    hook = receiver(trickle=0.5, trickle_for=20)
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    started = time.monotonic()
    assert outbox.outbox_deliver() == 1  # the rep's e-mail about the new lead, not the webhook
    assert time.monotonic() - started < 3
    message = Outbox.objects.get(channel="webhook")
    assert message.status == "pending"
    assert message.last_error == "DeadlineExceeded: No answer within 1 seconds."


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
        "http://[64:ff9b::7f00:1]/",  # IPv6 carrying an internal IPv4 address: NAT64 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "http://[fec0::1]/",
    ],
)
def test_internal_or_odd_urls_are_refused_unless_allowed(admin_user, api, url):
    response = api(admin_user).post(
        "/api/v1/webhooks", {"url": url, "events": ["lead.accepted"]}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def test_only_admins_manage_subscriptions(marketer, manager, api):
    for user in (marketer, manager):
        assert api(user).get("/api/v1/webhooks").status_code == 403


def test_unknown_events_are_refused(admin_user, api, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    response = api(admin_user).post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1/x", "events": ["lead.exploded"]},
        format="json",
    )
    assert response.status_code == 400


def test_redirects_are_not_followed(pipeline, receiver):
    target = receiver()
    hook = receiver(statuses=[302], headers={"Location": target.url})
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert outbox.outbox_deliver() == 1  # the rep's e-mail about the new lead, not the webhook
    assert "HTTP 302: redirects are not followed" in Outbox.objects.get(channel="webhook").last_error
    assert (len(hook.requests), target.requests) == (1, [])


def test_a_host_that_resolves_elsewhere_at_delivery_is_refused_unsent(receiver, monkeypatch, settings):
    """DNS rebinding: public when the URL is checked, loopback when the connection is made."""
    hook = receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = []
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # the first look-up (the check) sees a public address

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    request = urllib.request.Request(f"http://hooks.example.com:{hook.port}/hook", data=b"{}", method="POST")
    with pytest.raises(netguard.AddressRefused, match=r"127\.0\.0\.1, an internal address"):
        netguard.guarded_open(request, timeout=5)
    assert hook.requests == []


def test_the_admin_refuses_internal_urls_and_unknown_events(client, admin_user, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    client.force_login(site_admin(admin_user))
    form = {"url": "http://10.1.2.3/hook", "events": ["lead.exploded"]}
    page = client.post("/admin/integrations/webhooksubscription/add/", form)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "internal address" in errors["url"][0]
    assert "lead.exploded is not one of the available choices" in errors["events"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)  # real commits: the re-send nudges delivery after its commit
def test_admins_see_deliveries_and_send_failed_ones_again(pipeline, receiver, client, admin_user, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    hook = receiver(statuses=[503])
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    outbox.outbox_deliver()
    message = Outbox.objects.get(channel="webhook")
    assert (message.status, message.last_error) == ("failed", "WebhookRefused: HTTP 503")
    client.force_login(site_admin(admin_user))
    listing = client.get("/admin/integrations/outbox/?channel__exact=webhook").content.decode()
    assert "lead.handed_off to subscription" in listing
    assert "HTTP 503" in listing
    client.post("/admin/integrations/outbox/", {"action": "resend", "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)  # Celery runs in-process here
    assert verify(hook.requests[-1])["event"] == "lead.handed_off"


def test_the_admin_saves_a_subscription_with_chosen_events(client, admin_user, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    client.force_login(site_admin(admin_user))
    form = {"url": "http://127.0.0.1:9/hook", "events": ["lead.accepted", "lead.closed"]}
    page = client.post("/admin/integrations/webhooksubscription/add/", form, follow=True).content.decode()
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["lead.accepted", "lead.closed"]
    assert subscription.secret.startswith("whsec_")
    assert subscription.secret in page  # shown once, as it is made
    edit = client.get(f"/admin/integrations/webhooksubscription/{subscription.pk}/change/").content.decode()
    assert subscription.secret not in edit


def test_deliveries_of_a_deleted_subscription_fail_at_once_unsent(pipeline, receiver, admin_user, api):
    hook = receiver()
    subscription = WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    assert api(admin_user).delete(f"/api/v1/webhooks/{subscription.pk}").status_code == 204
    outbox.outbox_deliver()
    message = Outbox.objects.get(channel="webhook")
    assert (message.status, message.attempts) == ("failed", 1)
    assert "deleted or deactivated" in message.last_error
    assert hook.requests == []


def test_the_guides_verification_code_accepts_real_deliveries_only(pipeline, receiver):
    """The Python snippet in the integration guide (shown at /api/docs/) works as printed."""
    guide = (settings_module.BASE_DIR / "integrations" / "api" / "guide.md").read_text()
    after = guide.split("In Python, with the reference library:\n\n", 1)[1]
    indented = itertools.takewhile(lambda line: not line or line.startswith(" "), after.splitlines())
    snippet = textwrap.dedent("\n".join(indented))
    namespace: dict = {}
    exec(snippet, namespace)  # our own documentation's code, run as a reader would
    hook = receiver()
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    outbox.outbox_deliver()
    delivery = hook.requests[0]
    headers = dict(delivery["headers"].items())
    assert namespace["receive"](SECRET, delivery["body"], headers)["event"] == "lead.handed_off"
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    for secret, body, sent in (
        (other, delivery["body"], headers),
        (SECRET, delivery["body"] + b" ", headers),
        (SECRET, delivery["body"], {**headers, "webhook-id": "msg_999999"}),  # a replay under another id
    ):
        with pytest.raises(WebhookVerificationError):
            namespace["receive"](secret, body, sent)


def test_a_rotated_secret_and_the_one_before_both_sign_during_the_overlap(
    pipeline, receiver, admin_user, api
):
    hook = receiver()
    client = api(admin_user)
    created = client.post("/api/v1/webhooks", {"url": hook.url, "events": ["lead.handed_off"]}, format="json")
    old = created.json()["secret"]
    rotated = client.post(f"/api/v1/webhooks/{created.json()['id']}/rotate-secret").json()
    new = rotated["secret"]
    assert new != old
    assert new.startswith("whsec_")
    assert rotated["previous_secret_until"]
    make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    outbox.outbox_deliver()
    delivery = hook.requests[0]
    assert len(delivery["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(delivery, new)["event"] == verify(delivery, old)["event"] == "lead.handed_off"
    # Once the overlap ends, only the new secret signs.
    subscription = WebhookSubscription.objects.get()
    subscription.previous_secret_until = timezone.now() - timedelta(seconds=1)
    subscription.save()
    make_lead(external_id="L2", now=timezone.now(), activities=WARM)
    outbox.outbox_deliver()
    later = hook.requests[-1]
    assert verify(later, new)["data"]["lead"]["external_id"] == "L2"
    with pytest.raises(WebhookVerificationError):
        verify(later, old)


def test_a_client_cannot_choose_the_secret(admin_user, api, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    body = {"url": "http://127.0.0.1/x", "events": ["lead.accepted"], "secret": "a" * 16}
    response = api(admin_user).post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400
    assert "secret" in response.json()["errors"]
    assert not WebhookSubscription.objects.exists()


def test_the_lead_in_a_delivery_reads_exactly_as_the_api_returns_it(pipeline, receiver, marketer, api):
    hook = receiver()
    WebhookSubscription.objects.create(url=hook.url, secret=SECRET, events=["lead.handed_off"])
    lead = make_lead(external_id="L1", now=timezone.now(), activities=())
    Lead.objects.filter(pk=lead.pk).update(company_annual_revenue="2500000.50")
    services.activities_ingest(
        items=[
            {"lead_external_id": "L1", "type": t, "occurred_at": timezone.now(), "external_id": t}
            for t in ("webinar_attendance", "ebook_download")
        ],
        actor=Actor.system(),
    )
    outbox.outbox_deliver()
    delivered = verify(hook.requests[0])["data"]["lead"]
    assert delivered == api(marketer).get(f"/api/v1/leads/{lead.pk}").json()
    assert delivered["company"]["annual_revenue"] == 2500000.5


def test_without_subscribers_transitions_build_no_payload(pipeline, rep, monkeypatch):
    def unexpected(*args, **kwargs):
        raise AssertionError("a webhook payload was built for nobody")

    monkeypatch.setattr(webhooks, "lead_data", unexpected)
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    services.lead_accept(lead=lead, actor=Actor.of(lead.owner))
    assert not Outbox.objects.filter(channel="webhook").exists()


def test_every_event_of_the_catalogue_is_published_by_some_step(
    pipeline, rep, other_rep, manager, admin_user
):
    WebhookSubscription.objects.create(url="https://crm.example.com/all", secret=SECRET, events=list(EVENTS))
    now = timezone.now()
    won = make_lead(external_id="W", now=now - timedelta(days=10), activities=WARM)  # created, handed off
    won = services.lead_accept(lead=won, actor=Actor.of(won.owner), now=now - timedelta(days=10))
    won = services.lead_qualify(
        lead=won, actor=Actor.of(won.owner), product_potential=True, purchase_timeframe_months=3
    )
    services.lead_feedback(lead=won, actor=Actor.of(won.owner), answers={"talk": "Went well."})
    services.lead_close(lead=won, actor=Actor.of(won.owner), outcome="won")
    moved = make_lead(external_id="M", now=now, activities=WARM)
    services.lead_reassign(
        lead=moved, actor=Actor.of(manager), owner=other_rep.username if moved.owner == rep else rep.username
    )
    late = make_lead(external_id="L", now=now - timedelta(days=14), activities=WARM)
    escalation.check_overdue_pickups()
    late.refresh_from_db()
    recycled = services.lead_reject(
        lead=late,
        actor=Actor.of(late.owner),
        reason="no_budget",
        note="next year",
        now=now - timedelta(days=200),
    )
    assert recycled.status == "recycled"
    services.leads_return_recycled(now=now)
    undone = make_lead(external_id="U", now=now, activities=WARM)
    services.lead_reject(lead=undone, actor=Actor.of(undone.owner), reason="no_fit", note="wrong person")
    undone.refresh_from_db()
    services.lead_undo_reject(
        lead=undone, actor=Actor.of(LeadEvent.objects.filter(kind="rejected").last().actor)
    )
    services.lead_erase(lead=moved, actor=Actor.of(admin_user))
    pipeline.versions.update(effective_from=now - timedelta(days=90))
    report_build(agreement=pipeline, period=period_containing(now, "month", "Europe/Warsaw").previous())
    webhooks.webhook_send_test(subscription=WebhookSubscription.objects.get())
    published = {m.payload["event"] for m in Outbox.objects.filter(channel="webhook")}
    assert published == set(EVENTS) | {webhooks.TEST_EVENT}
    # Each body is what the schema's `webhooks` section says, with no member it does not describe.
    documented = SchemaGenerator().get_schema(request=None, public=True)
    components = closed(documented["components"])
    for message in Outbox.objects.filter(channel="webhook").exclude(payload__body=TOMBSTONE):
        event = message.payload["event"]
        body_schema = documented["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]
        validator = Draft202012Validator(
            {**body_schema["schema"], "components": components},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [
            f"{list(e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(json.loads(message.payload["body"]))
        ]
        assert errors == [], (event, errors)
    feedback = next(
        m for m in Outbox.objects.filter(channel="webhook") if m.payload["event"] == "lead.feedback"
    )
    answers = json.loads(feedback.payload["body"])["data"]["details"]["answers"]
    assert "Went well." in answers.values()


def closed(schema):
    """The schema with every described object closed to members it does not describe."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [closed(item) for item in schema]
    return schema


def test_the_guide_lists_every_event_of_the_catalogue():
    guide = (settings_module.BASE_DIR / "integrations" / "api" / "guide.md").read_text()
    assert [event for event in EVENTS if f"`{event}`" not in guide] == []


def test_a_test_event_reaches_the_subscription_and_is_listed_with_its_deliveries(
    pipeline, receiver, admin_user, api
):
    hook = receiver()
    client = api(admin_user)
    created = client.post(
        "/api/v1/webhooks", {"url": hook.url, "events": ["lead.closed"]}, format="json"
    ).json()
    queued = client.post(f"/api/v1/webhooks/{created['id']}/test")
    assert queued.status_code == 202
    assert queued.json()["event"] == "webhook.test"
    outbox.outbox_deliver()
    body = verify(hook.requests[0], created["secret"])
    assert body == {
        "event": "webhook.test",
        "occurred_at": body["occurred_at"],
        "data": {"subscription": created["id"]},
    }
    page = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", {"page_size": "10"}).json()
    assert [(d["id"], d["event"], d["status"]) for d in page["results"]] == [
        (queued.json()["id"], "webhook.test", "sent")
    ]
    assert page["next"] is None
    assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries", {"limit": "5"}).status_code == 400
