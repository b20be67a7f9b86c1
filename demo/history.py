"""About 200 demo leads over the last 12 months, in every status, made through the real services.

Each lead is sent, engages, is evaluated, handed off by round-robin and picked up at backdated moments, so
its timeline, deadlines and explanations are exactly what the demo SLA would have produced.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from leads import services
from leads.models import Lead
from leads.services import Actor

FIRST = ["Anna", "Piotr", "Julia", "Tomasz", "Maria", "Jan", "Ewa", "Marek", "Olga", "Adam", "Zofia", "Karol"]
LAST = ["Nowak", "Kowalska", "Wiśniewski", "Lewandowska", "Zieliński", "Szymańska", "Wójcik", "Kamińska"]
COMPANIES = [
    "Datanest",
    "Orbitel",
    "Kraków Tools",
    "Bluefin Logistics",
    "Medivo",
    "Finlane",
    "Agrotech",
    "Nordic Retail",
    "Voltix",
    "Cloudberry",
    "Papirus",
    "Solvera",
]
INDUSTRIES = ["software", "logistics", "healthcare", "finance", "retail", "manufacturing"]
SOURCES = ["webinar", "ebook", "website", "event", "linkedin"]
TITLES = ["CTO", "IT Manager", "Head of Operations", "CFO", "Procurement Specialist", "CEO"]
PROFILES = [  # engagement patterns and how often they occur
    ((), 1),
    (("webinar_registration",), 2),
    (("webinar_registration", "webinar_attendance", "ebook_download"), 6),
    (("webinar_registration", "webinar_attendance", "ebook_download", "webinar_attendance"), 5),
]
# Every other lead of the longest pattern attends two webinars before the e-book: it is hot when it first
# qualifies, so it goes to sales hot. As long as that pattern, so the rest of the demo stays as it was.
HOT_PROFILE = ("webinar_attendance", "webinar_attendance", "ebook_download", "webinar_registration")
DEMO_PREFIX = "demo-"


def _moment(rng: random.Random, day: datetime) -> datetime:
    # Working-hour moments in Warsaw (UTC+1/+2): 07:00-15:00 UTC.
    return day.replace(
        hour=rng.randint(7, 14), minute=rng.choice([0, 10, 20, 30, 40, 50]), second=0, microsecond=0
    )


@transaction.atomic
def seed_leads(*, count: int = 200, now: datetime | None = None) -> int:
    """Create the demo leads unless they exist. Returns how many were created."""
    if Lead.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
        return 0
    now = now or timezone.now()
    rng = random.Random(2026)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["marketing", "manager"])}
    crm = Actor.integration(users.get("marketing"))
    weights = [w for _, w in PROFILES]
    for index in range(count):
        # Spread over 12 months; the last few leads are recent, so the inbox has live deadlines.
        days_ago = rng.uniform(0.2, 3) if index >= count - 12 else rng.uniform(3, 365)
        start = _moment(rng, now - timedelta(days=days_ago))
        if start > now:
            start = now - timedelta(hours=1)
        company = rng.choice(COMPANIES)
        lead, _ = services.lead_upsert(
            external_id=f"{DEMO_PREFIX}{index:04d}",
            data={
                "email": f"lead{index}@{company.lower().replace(' ', '')}.example",
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "job_title": rng.choice(TITLES),
                "source": rng.choice(SOURCES),
                "company_name": company,
                "company_employees": 120
                if days_ago < 3
                else rng.choice([8, 20, 45, 60, 120, 250, 800, 3000]),
                "company_annual_revenue": rng.choice([500_000, 2_000_000, 15_000_000, 90_000_000]),
                "company_industry": rng.choice(INDUSTRIES),
                "company_country": rng.choice(["PL", "PL", "PL", "DE", "CZ"]),
            },
            actor=crm,
            now=start,
        )
        # Recent leads are engaged ones, so the reps' inboxes have live deadlines in the demo.
        profile = (
            PROFILES[2 + index % 2][0] if days_ago < 3 else rng.choices([p for p, _ in PROFILES], weights)[0]
        )
        if profile == PROFILES[3][0] and index % 2:
            profile = HOT_PROFILE
        moment = start
        for number, activity in enumerate(profile):
            gap = timedelta(hours=rng.randint(1, 6))
            if profile == HOT_PROFILE:
                gap /= 6  # a webinar series in one afternoon: handed off hot while sales is at work
            moment = min(moment + gap, now)
            services.activities_ingest(
                items=[
                    {
                        "lead_external_id": lead.external_id,
                        "type": activity,
                        "occurred_at": moment,
                        "external_id": f"{lead.external_id}-a{number}",
                    }
                ],
                actor=crm,
                now=moment,
            )
        lead.refresh_from_db()
        if lead.status == Lead.Status.HANDED_OFF and lead.owner and moment < now - timedelta(days=3):
            _play_sales(rng, lead, moment, now)
    return count


def _play_sales(rng: random.Random, lead: Lead, handed_off: datetime, now: datetime) -> None:
    """What sales did with the lead; each step only if its moment is already in the past."""
    owner = Actor.of(lead.owner)
    # Most reps pick up within the deadline; some are late.
    pickup = handed_off + timedelta(minutes=rng.choice([20, 45, 90, 240, 600, 1500]))
    if pickup > now:
        return
    roll = rng.random()
    if roll < 0.2:
        reason = rng.choice(lead.sla_version.clauses.handoff.rejection_reasons)
        services.lead_reject(
            lead=lead,
            actor=owner,
            reason=reason.code,
            note=rng.choice(
                [
                    "Student, not a buyer.",
                    "Budget frozen until next year.",
                    "Just collecting e-books.",
                    "Too small for us.",
                ]
            ),
            now=pickup,
        )
        return
    lead = services.lead_accept(lead=lead, actor=owner, now=pickup)
    if rng.random() < 0.5 and pickup + timedelta(hours=1) <= now:
        services.lead_feedback(
            lead=lead,
            actor=owner,
            answers={
                "talk": rng.choice(
                    ["Good call, clear need.", "Short call, asked for a follow-up.", "Polite, not urgent."]
                ),
                "interesting": rng.choice(["The CTO joined the call.", "They run three warehouses.", ""]),
                "missing_info": rng.choice(["Which webinar they attended.", "Company budget cycle.", ""]),
            },
            now=pickup + timedelta(hours=1),
        )
    if rng.random() < 0.75 and pickup + timedelta(days=2) <= now:
        lead = services.lead_qualify(
            lead=lead,
            actor=owner,
            product_potential=rng.random() < 0.85,
            purchase_timeframe_months=rng.choice([2, 4, 6, 9, 12, 18]),
            now=pickup + timedelta(days=2),
        )
        outcome, closed = rng.random(), pickup + timedelta(days=rng.randint(5, 40))
        if closed <= now and outcome < 0.6:
            services.lead_close(
                lead=lead, actor=owner, outcome="won" if outcome < 0.35 else "lost", now=closed
            )
