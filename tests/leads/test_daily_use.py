"""A rep's and a manager's daily use of the lead pages: undo a rejection, history and search, sortable
columns with the deadline, CSV of what is filtered, bulk reassign."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads import services
from leads.models import Lead, LeadEvent
from leads.services import Actor
from slaportal.models import Notice
from tests.factories import WARM, make_lead

WAW = ZoneInfo("Europe/Warsaw")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MONDAY_10)]


def reject(lead, rep, now=MONDAY_10):
    return services.lead_reject(lead=lead, actor=Actor.of(rep), reason="no_fit", note="wrong size", now=now)


def test_a_rejection_is_undone_within_seconds_and_the_lead_is_as_it_was(pipeline, rep):
    lead = make_lead(external_id="U1", now=MONDAY_10, activities=WARM)
    before = Lead.objects.get(pk=lead.pk)
    rejected = reject(lead, rep)
    assert (rejected.status, rejected.owner) == ("disqualified", None)
    back = services.lead_undo_reject(
        lead=rejected, actor=Actor.of(rep), now=MONDAY_10 + timedelta(seconds=20)
    )
    fields = ("status", "owner_id", "pickup_deadline", "reminder_at", "rejection_reason", "picked_up_at")
    assert [getattr(back, f) for f in fields] == [getattr(before, f) for f in fields]
    assert back.events.filter(kind="rejection_undone").count() == 1
    # The rejection stays in the record (events are never edited); the undo follows it.
    assert list(back.events.order_by("pk").values_list("kind", flat=True))[-2:] == [
        "rejected",
        "rejection_undone",
    ]


def test_an_undo_is_refused_late_by_someone_else_or_after_another_step(pipeline, rep, other_rep, manager):
    lead = reject(make_lead(external_id="U2", now=MONDAY_10, activities=WARM), rep)
    late = MONDAY_10 + timedelta(seconds=31)
    with pytest.raises(services.TransitionRefused, match="within 30 seconds"):
        services.lead_undo_reject(lead=lead, actor=Actor.of(rep), now=late)
    with pytest.raises(services.TransitionRefused):
        services.lead_undo_reject(lead=lead, actor=Actor.of(other_rep), now=MONDAY_10)
    assert Lead.objects.get(pk=lead.pk).status == "disqualified"  # nothing changed


def test_the_inbox_offers_the_undo_after_a_reject_and_takes_it(client, pipeline, rep):
    lead = make_lead(external_id="U3", now=MONDAY_10, activities=WARM)
    client.force_login(rep)
    hx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "inbox"}
    done = client.post(reverse("leads:reject", args=[lead.pk]), {"reason": "no_fit", "note": "no"}, **hx)
    page = done.content.decode()
    assert "now Disqualified, as “Not a fit for our product”." in page
    assert reverse("leads:undo_reject", args=[lead.pk]) in page
    undone = client.post(reverse("leads:undo_reject", args=[lead.pk]), **hx)
    assert undone.status_code == 200
    assert "Rejection undone" in undone.content.decode()
    assert f"lead-row-{lead.pk}" in undone.content.decode()
    late = client.post(reverse("leads:undo_reject", args=[lead.pk]), **hx)
    assert late.status_code == 409  # already undone: said in place


def test_a_rep_finds_their_rejected_and_closed_leads_in_their_history(client, pipeline, rep, other_rep):
    rejected = reject(make_lead(external_id="H1", now=MONDAY_10, activities=WARM), rep)
    won = make_lead(external_id="H2", now=MONDAY_10, activities=WARM, company_name="Zeta Works")
    if won.owner != rep:
        won = make_lead(external_id="H3", now=MONDAY_10, activities=WARM, company_name="Zeta Works")
    services.lead_accept(lead=won, actor=Actor.of(rep))
    won = services.lead_close(lead=Lead.objects.get(pk=won.pk), actor=Actor.of(rep), outcome="won")
    theirs = make_lead(external_id="H4", now=MONDAY_10, activities=WARM)
    client.force_login(rep)
    page = client.get(reverse("leads:list")).content.decode()
    assert "My history" in page
    assert f"lead-row-{rejected.pk}" in page
    assert f"lead-row-{won.pk}" in page
    assert theirs.owner == other_rep  # round-robin: rep, other_rep, rep, other_rep
    assert f"lead-row-{theirs.pk}" not in page  # another rep's
    found = client.get(reverse("leads:list"), {"q": "Zeta"}).content.decode()
    assert f"lead-row-{won.pk}" in found
    assert f"lead-row-{rejected.pk}" not in found
    # And the lead page of one they rejected still opens for them.
    assert client.get(reverse("leads:detail", args=[rejected.pk])).status_code == 200


def test_the_list_sorts_by_pickup_deadline_and_says_how(client, pipeline, manager):
    early = make_lead(external_id="S1", now=MONDAY_10 - timedelta(hours=3), activities=WARM)
    later = make_lead(external_id="S2", now=MONDAY_10, activities=WARM)
    client.force_login(manager)
    page = client.get(reverse("leads:list"), {"sort": "deadline"}).content.decode()
    assert page.index(f"lead-row-{early.pk}") < page.index(f"lead-row-{later.pk}")
    assert 'aria-sort="ascending"' in page
    assert "7 business hours left</span>; <time" in page  # the deadline column's countdown
    reverse_page = client.get(reverse("leads:list"), {"sort": "-deadline"}).content.decode()
    assert reverse_page.index(f"lead-row-{later.pk}") < reverse_page.index(f"lead-row-{early.pk}")
    bad = client.get(reverse("leads:list"), {"sort": "password"})
    assert bad.status_code == 400
    assert "Sort by one of the table" in bad.content.decode()


def test_the_csv_holds_exactly_the_filtered_leads_with_formulas_defused(client, pipeline, manager):
    make_lead(external_id="C1", now=MONDAY_10, activities=WARM, company_name="=HYPERLINK(1)")
    make_lead(external_id="C2", now=MONDAY_10, company_name="Quiet Co")  # no engagement: nurturing
    client.force_login(manager)
    response = client.get(reverse("leads:list_csv"), {"status": "handed_off"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["external_id"] for r in rows] == ["C1"]
    assert rows[0]["company"] == "'=HYPERLINK(1)"
    assert rows[0]["pickup_deadline"].endswith("Z")


def test_a_manager_reassigns_ticked_leads_and_hears_which_could_not_move(
    client, pipeline, manager, rep, other_rep
):
    one = make_lead(external_id="B1", now=MONDAY_10, activities=WARM)
    two = make_lead(external_id="B2", now=MONDAY_10, activities=WARM)
    mine = one if one.owner == rep else two
    Notice.objects.all().delete()
    client.force_login(manager)
    response = client.post(
        reverse("leads:bulk_reassign"),
        {"leads": [one.pk, two.pk], "owner": "other_rep", "back": "status=handed_off"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("?status=handed_off")
    page = response.content.decode()
    assert "1 lead given to other_rep" in page
    assert "already owns this lead" in page  # the one other_rep had
    assert Lead.objects.get(pk=mine.pk).owner == other_rep
    assert Notice.objects.filter(user=other_rep, url=f"/leads/{mine.pk}/").count() == 1
    empty = client.post(reverse("leads:bulk_reassign"), {"owner": "other_rep"}, follow=True)
    assert "Tick the leads to reassign first." in empty.content.decode()


def test_reps_are_told_when_a_lead_is_handed_off_or_given_to_them(pipeline, rep, other_rep, manager):
    lead = make_lead(external_id="N1", now=MONDAY_10, activities=WARM)
    notice = Notice.objects.get(user=lead.owner)
    assert "was handed off to you" in notice.text
    assert "CET" in notice.text
    with time_machine.travel(MONDAY_10 + timedelta(minutes=5), tick=False):
        new_owner = other_rep if lead.owner == rep else rep
        services.lead_reassign(lead=lead, actor=Actor.of(manager), owner=new_owner.username)
    assert "was given to you by boss" in Notice.objects.get(user=new_owner).text
    assert LeadEvent.objects.filter(lead=lead, kind="reassigned").count() == 1


def test_a_rejection_taken_back_is_not_counted_in_the_reports(pipeline):
    from reporting import selectors as reports
    from reporting.periods import period_containing

    kept = make_lead(external_id="R1", now=MONDAY_10, activities=WARM)
    reject(kept, kept.owner)
    taken_back = make_lead(external_id="R2", now=MONDAY_10, activities=WARM)
    rep = taken_back.owner
    taken_back = reject(taken_back, rep)
    services.lead_undo_reject(lead=taken_back, actor=Actor.of(rep), now=MONDAY_10 + timedelta(seconds=5))
    figures = reports.report_figures(
        agreements=[pipeline],
        period=period_containing(MONDAY_10, "month", "Europe/Warsaw"),
        now=MONDAY_10 + timedelta(minutes=1),
    )
    assert figures["rejected"] == 1
    assert figures["rejected_by_reason"] == {"no_fit": 1}


def test_a_lead_given_to_another_rep_leaves_the_first_reps_history(client, pipeline, rep, other_rep, manager):
    lead = make_lead(external_id="G1", now=MONDAY_10, activities=WARM)
    assert lead.owner == rep
    lead = services.lead_accept(lead=lead, actor=Actor.of(rep))
    services.lead_reassign(lead=lead, actor=Actor.of(manager), owner=other_rep.username)
    client.force_login(rep)
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 403
    assert f"lead-row-{lead.pk}" not in client.get(reverse("leads:list")).content.decode()
    csv_text = b"".join(client.get(reverse("leads:list_csv")).streaming_content).decode()
    assert "G1" not in csv_text


def test_every_sort_a_column_header_offers_is_accepted(client, pipeline, manager):
    client.force_login(manager)
    for sort in ("updated", "-updated", "deadline", "-deadline", "temperature", "-owner"):
        assert client.get(reverse("leads:list"), {"sort": sort}).status_code == 200, sort


def test_a_header_sort_in_place_also_updates_the_sort_by_choice(client, pipeline, manager):
    client.force_login(manager)
    fragment = client.get(
        reverse("leads:list"), {"sort": "owner"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lead-table"
    ).content.decode()
    assert 'hx-swap-oob="true"' in fragment
    assert '<option value="owner" selected>' in fragment
