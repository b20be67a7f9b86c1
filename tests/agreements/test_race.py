"""Races on real PostgreSQL connections: the database keeps one version in force, whatever the timing."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from agreements import services
from agreements.models import AgreementVersion
from tests import factories

Status = AgreementVersion.Status


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_both_signatures_at_once_activate_exactly_once(marketer, marketing_approver, manager):
    for attempt in range(5):
        version = factories.agreement_draft(author=marketer, name=f"Race {attempt}")
        services.version_submit(version=version, actor=marketer)
        results = run_together(
            lambda v=version: services.version_sign(version=v, side="marketing", actor=marketing_approver),
            lambda v=version: services.version_sign(version=v, side="sales", actor=manager),
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        version.refresh_from_db()
        # Signatures are serialised, so the second signer always sees the first and activates.
        assert version.status == Status.ACTIVE
        assert version.events.filter(kind="activated").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_new_drafts_at_once_give_one_draft_and_one_clear_refusal(marketer, marketing_approver, manager):
    agreement = factories.active_agreement(
        author=marketer, marketing_approver=marketing_approver, sales_approver=manager
    )
    results = run_together(
        *[lambda: services.version_create_draft(agreement=agreement, actor=marketer) for _ in range(4)]
    )
    drafts = [r for r in results if isinstance(r, AgreementVersion)]
    refusals = [r for r in results if isinstance(r, services.AgreementError)]
    assert len(drafts) == 1, results
    assert len(refusals) == 3, results
    assert agreement.versions.filter(status=Status.DRAFT).count() == 1
