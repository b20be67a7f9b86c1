"""Idempotency-Key: retries get the first response, abandoned claims and old keys do not block for ever,
and concurrent retries on real PostgreSQL connections act once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.idempotency import KEY_TTL, STALE_CLAIM, idempotency_purge
from integrations.models import IdempotencyRecord
from leads.models import Lead
from tests.agreements.test_race import run_together
from tests.api.test_api import LEAD
from tests.factories import WARM, make_lead

pytestmark = pytest.mark.django_db


def accept_url(lead: Lead) -> str:
    return f"/api/v1/leads/{lead.pk}/accept"


def test_a_claim_still_in_progress_answers_409(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    client = api(rep)
    client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k")  # the first request has stored its response
    IdempotencyRecord.objects.filter(key="k").update(status_code=None, response="")  # as if still running
    response = client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 409
    assert "still in progress" in response.json()["detail"]


def test_a_claim_abandoned_by_a_dead_request_is_taken_over_by_a_retry(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    client = api(rep)
    first = client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 200
    # As if the worker had been killed after the claim, before anything else happened.
    Lead.objects.filter(pk=lead.pk).update(status="handed_off", accepted_at=None)
    IdempotencyRecord.objects.filter(key="k").update(
        status_code=None, response="", created_at=timezone.now() - STALE_CLAIM - timedelta(seconds=1)
    )
    retry = client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k")
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert lead.events.filter(kind="accepted").count() == 2  # the retry really ran


def test_an_unexpected_error_releases_the_key(pipeline, rep, api, monkeypatch):
    from leads import services

    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    client = api(rep)
    client.raise_request_exception = False

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "lead_accept", broken)
    assert client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k").status_code == 500
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()
    assert client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k").status_code == 200


def test_keys_are_kept_a_day_then_purged(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    api(rep).post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="old")
    api(rep).post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="new")
    long_ago = timezone.now() - KEY_TTL - timedelta(minutes=1)
    IdempotencyRecord.objects.filter(key="old").update(created_at=long_ago)
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_keys_belong_to_their_user(pipeline, rep, other_rep, api):
    mine = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    theirs = make_lead(external_id="L2", now=timezone.now(), activities=WARM)
    assert (mine.owner, theirs.owner) == (rep, other_rep)
    assert api(rep).post(accept_url(mine), HTTP_IDEMPOTENCY_KEY="same").status_code == 200
    assert api(other_rep).post(accept_url(theirs), HTTP_IDEMPOTENCY_KEY="same").status_code == 200


def test_invalid_keys_are_field_errors(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    response = api(rep).post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).status == "handed_off"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_act_once(pipeline, rep, api):
    for n in range(5):
        lead = make_lead(external_id=f"C{n}", now=timezone.now(), activities=WARM)
        clients = [api(lead.owner) for _ in range(4)]  # four retries in flight, one token each
        url, key = accept_url(lead), f"key-{n}"
        results = run_together(
            *[lambda c=c, url=url, key=key: c.post(url, HTTP_IDEMPOTENCY_KEY=key) for c in clients]
        )
        codes = Counter(r.status_code for r in results)
        assert codes[200] >= 1, codes
        assert set(codes) <= {200, 409}, codes
        # Only the key turned the retries away: none of them reached the state machine.
        assert all("still in progress" in r.json()["detail"] for r in results if r.status_code == 409)
        assert lead.events.filter(kind="accepted").count() == 1
        replays = [r for r in results if r.status_code == 200]
        assert all(r.json() == replays[0].json() for r in replays)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_external_id_make_one_lead(pipeline, marketer, api):
    clients = [api(marketer) for _ in range(20)]
    results = run_together(*[lambda c=c: c.post("/api/v1/leads", LEAD, format="json") for c in clients])
    assert sorted({r.status_code for r in results}) in ([200, 201], [201])
    assert Counter(r.status_code for r in results)[201] == 1
    assert len({r.json()["id"] for r in results}) == 1
    assert Lead.objects.filter(external_id=LEAD["external_id"]).count() == 1


def test_a_replay_is_byte_for_byte_the_first_response(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    Lead.objects.filter(pk=lead.pk).update(company_annual_revenue="12000000.00")  # a decimal in the body
    client = api(lead.owner)
    first = client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k")
    second = client.post(accept_url(lead), HTTP_IDEMPOTENCY_KEY="k")
    assert b'"annual_revenue":12000000.0' in first.content
    assert second.content == first.content


def test_a_retry_whose_json_differs_only_in_spacing_or_order_is_the_same_request(pipeline, rep, api):
    lead = make_lead(external_id="L1", now=timezone.now(), activities=WARM)
    client = api(rep)
    url = f"/api/v1/leads/{lead.pk}/reject"
    first = client.post(
        url,
        '{"reason": "no_fit", "note": "not ours"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r",
    )
    assert first.status_code == 200
    retry = client.post(
        url,
        '{ "note":"not ours","reason":"no_fit" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r",
    )
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    different = client.post(
        url,
        '{"reason": "no_fit", "note": "other"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="r",
    )
    assert different.status_code == 422
