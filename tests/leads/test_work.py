""" "My work" (the home page), notices, each person's time zone, and countdowns in business time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from agreements.business_hours import BusinessCalendar
from leads.deadlines import countdown
from leads.services import escalation
from slaportal.models import Notice
from tests.factories import WARM, make_lead

WAW = ZoneInfo("Europe/Warsaw")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=WAW)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(MONDAY_10, tick=False)]
CALENDAR = BusinessCalendar(
    timezone="Europe/Warsaw",
    working_days=frozenset(range(5)),
    start=datetime(2026, 1, 1, 9).time(),
    end=datetime(2026, 1, 1, 17).time(),
)


def test_a_countdown_counts_business_time_and_pauses_out_of_hours():
    friday_16 = datetime(2026, 11, 27, 16, 0, tzinfo=WAW)
    monday_11 = datetime(2026, 11, 30, 11, 0, tzinfo=WAW)  # 1 h on Friday + 2 h on Monday
    during = countdown(monday_11, CALENDAR, friday_16)
    assert (during.text, during.paused) == ("3 business hours left", False)
    saturday = countdown(monday_11, CALENDAR, datetime(2026, 11, 28, 12, 0, tzinfo=WAW))
    assert saturday.text == "2 business hours left; paused outside business hours"
    late = countdown(friday_16, CALENDAR, monday_11)
    assert late.text == "overdue by 3 business hours"
    assert countdown(monday_11, CALENDAR, monday_11 - timedelta(seconds=10)).text == "1 business minute left"
    # The script recounts from these windows: they cover now and the deadline.
    assert during.windows[0][0] <= friday_16 < during.windows[0][1]
    assert during.windows[-1][1] >= monday_11


def test_my_work_shows_each_role_what_needs_them(client, pipeline, rep, manager, marketer):
    make_lead(external_id="W1", now=MONDAY_10 - timedelta(days=4), activities=WARM)  # overdue by now
    make_lead(external_id="W2", now=MONDAY_10, activities=WARM)
    client.force_login(rep)
    page = client.get(reverse("home")).content.decode()
    assert "Leads awaiting my pickup" in page
    assert "business hours" in page
    assert "CET" in page
    assert "Unread notices" in page
    assert "was handed off to you" in page
    client.force_login(manager)
    page = client.get(reverse("home")).content.decode()
    assert "My team&#x27;s overdue leads (1)" in page or "My team's overdue leads (1)" in page
    assert "overdue by" in page
    client.force_login(marketer)
    assert "Nothing needs you right now." in client.get(reverse("home")).content.decode()


def test_my_work_runs_a_constant_number_of_queries(client, pipeline, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_lead(external_id="Q1", now=MONDAY_10, activities=WARM)
    client.force_login(rep)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("home"))
    for n in range(2, 12):
        make_lead(external_id=f"Q{n}", now=MONDAY_10, activities=WARM)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("home"))
    assert len(many) == len(one)


def test_an_escalation_is_told_in_the_app_to_the_new_owner_the_rep_and_the_manager(
    pipeline, rep, other_rep, manager
):
    from tests import factories

    factories.add_member(pipeline.sales_team, manager)
    lead = make_lead(external_id="E1", now=MONDAY_10, activities=WARM)
    missed_by = lead.owner
    escalation.leads_escalate_overdue(now=MONDAY_10 + timedelta(days=2))
    lead.refresh_from_db()
    assert "was escalated to you" in Notice.objects.filter(user=lead.owner).latest("created_at").text
    assert "You missed the pickup deadline" in Notice.objects.filter(user=missed_by).latest("created_at").text
    told = Notice.objects.get(user=manager).text
    assert told.startswith(f"{missed_by.username} missed the pickup deadline of")


def test_opening_a_notice_reads_it_and_goes_to_its_page(client, pipeline, rep, other_rep):
    make_lead(external_id="O1", now=MONDAY_10, activities=WARM)
    notice = Notice.objects.get(user=rep)
    client.force_login(other_rep)
    assert client.get(reverse("notice_open", args=[notice.pk])).status_code == 404  # not theirs
    client.force_login(rep)
    response = client.get(reverse("notice_open", args=[notice.pk]))
    assert response.status_code == 302
    assert response["Location"] == notice.url
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_notices_are_listed_and_marked_read(client, pipeline, rep):
    make_lead(external_id="N1", now=MONDAY_10, activities=WARM)
    client.force_login(rep)
    assert 'class="count">1<' in client.get(reverse("notices")).content.decode()
    client.post(reverse("notices_read"))
    assert not Notice.objects.filter(user=rep, read_at__isnull=True).exists()
    assert "All notices marked as read." in client.get(reverse("notices")).content.decode()


def test_each_person_reads_times_in_their_own_zone(client, pipeline, rep):
    lead = make_lead(external_id="Z1", now=MONDAY_10, activities=WARM)
    client.force_login(rep)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Mon 23 Nov 2026, 10:00 CET" in page  # the SLA calendar's zone by default
    settings_page = client.get(reverse("preferences")).content.decode()
    assert "The SLA&#x27;s business calendar (Europe/Warsaw)" in settings_page
    saved = client.post(reverse("preferences"), {"time_zone": "America/New_York"}, follow=True)
    assert "Times are now shown in America/New_York" in saved.content.decode()
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Mon 23 Nov 2026, 04:00 EST" in page
    refused = client.post(reverse("preferences"), {"time_zone": "Mars/Olympus"})
    assert refused.status_code == 400
    assert "Choose a time zone from the list." in refused.content.decode()
    assert (
        "Mon 23 Nov 2026, 04:00 EST" in client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    )


def test_a_zone_the_tz_database_no_longer_knows_falls_back_to_the_slas(client, pipeline, rep):
    from slaportal.models import Preferences

    Preferences.objects.create(user=rep, time_zone="Mars/Olympus_Mons")
    client.force_login(rep)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("preferences")).status_code == 200
