"""Load a benchmark database: the demo SLA, 20 reps, LEADS leads over 12 months, with their activities
and events (about 5 per lead in all), in set-based INSERT ... SELECT statements run by PostgreSQL itself.

Spreads: statuses as a funnel (most leads still nurtured, a few waiting for pickup, the rest accepted,
qualified, closed, rejected or recycled); temperatures; 2 to 4 activities per lead; an event for every
step a lead took. Every lead waiting for pickup has a deadline in the future, so the database starts
with nothing overdue; the sweep benchmark makes leads overdue itself.

The record follows the SLA in force, as the pipeline's would: each lead's activities and company are
chosen so that the evaluation module, given them, decides what the lead's row and events say (its
temperature, ICP fit, MQL moment and handoff). `templates` checks that with the module itself, so the
what-if replay of the version in force reproduces the record (its fidelity) on bench data too.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from agreements.clauses import TEMPERATURES, Clauses
from agreements.evaluation import ActivitySnapshot, LeadSnapshot, evaluate
from agreements.models import AgreementVersion, Team, TeamMember
from demo.sla import ensure_roles, seed_agreements
from integrations.models import IdempotencyRecord, Outbox
from leads.models import AccountMonth, Activity, Lead, LeadEvent, PickupNotice, Tally
from leads.services.recount import tallies_rebuild
from leads.services.touches import touches_rebuild
from slaportal.roles import Role

REPS = 20
ACTIVITY_TYPES = [
    "webinar_registration",
    "webinar_attendance",
    "ebook_download",
    "form_submission",
    "email_click",
]

LEADS_SQL = """
INSERT INTO leads_lead (
    external_id, email, first_name, last_name, job_title, source, company_name, company_employees,
    company_annual_revenue, company_industry, company_country, status, marketing_temperature,
    sales_temperature, icp_fit, is_mql, mql_at, explanation, handoff_temperature, handed_off_at,
    pickup_deadline, reminder_at, assignment_no, accepted_at, picked_up_at, pickup_business_minutes,
    pickup_within_sla, pickup_breaches, product_potential, purchase_timeframe_months, qualified_at,
    closed_at, rejection_reason, recycle_at, nurture_since, created_at, updated_at, agreement_id,
    owner_id, sla_version_id)
SELECT
    'bench-' || g, 'lead' || g || '@example.com', 'Ann', 'Smith', 'CTO', 'webinar',
    'Company ' || (g %% 50000),
    CASE WHEN fits THEN %(fit_employees)s + (r3 * 950)::int ELSE %(unfit_employees)s END,
    1000000 + (r2 * 9000000)::int,
    (ARRAY['software','logistics','healthcare','finance','retail'])[1 + g %% 5],
    (ARRAY['PL','DE','CZ','FR'])[1 + g %% 4],
    status,
    temp,
    CASE WHEN status IN ('qualified','won','lost') THEN (ARRAY['cold','warm','hot'])[1 + (g %% 3)] END,
    fits,
    COALESCE(temp IN ('warm', 'hot'), false),
    CASE WHEN status <> 'nurturing' THEN handed WHEN temp = 'warm' THEN created END,
    '{}'::jsonb,
    CASE WHEN status <> 'nurturing' THEN temp END,
    CASE WHEN status <> 'nurturing' THEN handed END,
    CASE WHEN status = 'handed_off' THEN %(now)s + interval '1 day' + r2 * interval '2 days' END,
    CASE WHEN status = 'handed_off' THEN %(now)s + interval '18 hours' + r2 * interval '2 days' END,
    CASE WHEN status = 'nurturing' THEN 0 ELSE 1 END,
    CASE WHEN status IN ('accepted','qualified','won','lost') THEN picked END,
    CASE WHEN status IN ('accepted','qualified','won','lost','disqualified','recycled') THEN picked END,
    CASE WHEN status IN ('accepted','qualified','won','lost','disqualified','recycled')
         THEN (r2 * 900)::int END,
    CASE WHEN status IN ('accepted','qualified','won','lost','disqualified','recycled') THEN r2 < 0.8 END,
    CASE WHEN status IN ('accepted','qualified','won','lost','disqualified','recycled') AND r2 >= 0.8
         THEN 1 ELSE 0 END,
    CASE WHEN status IN ('qualified','won','lost') THEN true END,
    CASE WHEN status IN ('qualified','won','lost') THEN 1 + (g %% 12) END,
    CASE WHEN status IN ('qualified','won','lost') THEN picked + interval '3 days' END,
    CASE WHEN status IN ('won','lost') THEN LEAST(picked + interval '20 days', %(now)s) END,
    CASE WHEN status = 'disqualified' THEN 'no_fit' WHEN status = 'recycled' THEN 'not_ready' ELSE '' END,
    CASE WHEN status = 'recycled' THEN %(now)s + r2 * interval '90 days' END,
    CASE WHEN status = 'nurturing' THEN created END,
    created, GREATEST(created, COALESCE(picked, handed, created)),
    %(agreement)s,
    CASE WHEN status <> 'nurturing' THEN (%(reps)s::int[])[1 + g %% %(rep_count)s] END,
    %(version)s
FROM (
    SELECT g, r2, r3, created, status,
        -- Leads still waiting were handed off in the last four hours (their deadlines are ahead).
        CASE WHEN status = 'handed_off' THEN GREATEST(created, %(now)s - r2 * interval '4 hours')
             ELSE LEAST(created + r2 * interval '5 days', %(now)s) END AS handed,
        LEAST(created + r2 * interval '5 days' + r2 * interval '8 hours', %(now)s) AS picked,
        -- A nurtured lead is not yet an MQL (no temperature, or cold) or is one that does not fit the ICP.
        CASE WHEN status = 'nurturing' THEN (ARRAY[NULL,'cold','warm'])[1 + (g %% 3)]
             ELSE (ARRAY['warm','hot'])[1 + (g %% 2)] END AS temp,
        CASE WHEN status <> 'nurturing' THEN true WHEN g %% 3 = 2 THEN false ELSE r2 < 0.5 END AS fits
    FROM (
    SELECT g, r2, r3, created,
        CASE
            WHEN r < 0.55 THEN 'nurturing' WHEN r < 0.58 THEN 'handed_off' WHEN r < 0.66 THEN 'accepted'
            WHEN r < 0.73 THEN 'qualified' WHEN r < 0.76 THEN 'won' WHEN r < 0.80 THEN 'lost'
            WHEN r < 0.92 THEN 'disqualified' ELSE 'recycled'
        END AS status
    FROM (
        SELECT g, random() AS r, random() AS r2, random() AS r3,
               %(now)s - random() * interval '365 days' AS created
        FROM generate_series(1, %(count)s) AS g
    ) AS raw
    ) AS funnel
) AS s
"""

# The lead's temperature's template (see `templates`), stored in one batch at the lead's handoff (or
# creation, for nurtured leads), occurred a day apart before it.
ACTIVITIES_SQL = """
INSERT INTO leads_activity (type, occurred_at, external_id, details, created_at, lead_id)
SELECT a.type,
       COALESCE(l.handed_off_at, l.created_at) - a.k * interval '1 day',
       'bench-act-' || l.id || '-' || a.k, '{}'::jsonb, COALESCE(l.handed_off_at, l.created_at), l.id
FROM leads_lead l
CROSS JOIN LATERAL unnest(CASE COALESCE(l.marketing_temperature, '')
    WHEN 'hot' THEN %(hot)s::text[] WHEN 'warm' THEN %(warm)s::text[]
    WHEN 'cold' THEN %(cold)s::text[] ELSE %(none)s::text[] END) WITH ORDINALITY AS a(type, k)
WHERE l.external_id LIKE 'bench-%%'
"""

# The steps each lead took, as the state machine records them.
EVENTS_SQL = """
INSERT INTO leads_leadevent (kind, at, actor_type, from_status, to_status, clause, reason, details,
                             actor_id, lead_id, sla_version_id)
SELECT e.kind, e.at, e.actor_type, e.from_status, e.to_status, e.clause, e.reason,
       CASE WHEN e.kind = 'handed_off' THEN jsonb_build_object(
           'temperature', l.handoff_temperature, 'owner', u.username, 'assignment', 'handoff.assignment',
           'pickup_hours', %(pickup_hours)s::jsonb -> l.handoff_temperature) ELSE '{}'::jsonb END,
       e.actor_id, l.id, l.sla_version_id
FROM leads_lead l
LEFT JOIN auth_user u ON u.id = l.owner_id
CROSS JOIN LATERAL (VALUES
    ('created', l.created_at, 'integration', '', 'nurturing', '', '', NULL::int, true),
    ('handed_off', l.handed_off_at, 'system', 'nurturing', 'handed_off',
        'handoff.pickup.' || l.handoff_temperature, '', NULL, l.status <> 'nurturing'),
    ('accepted', l.picked_up_at, 'user', 'handed_off', 'accepted', 'handoff.pickup.' || l.handoff_temperature,
        '', l.owner_id, l.status IN ('accepted','qualified','won','lost')),
    ('rejected', l.picked_up_at, 'user', 'handed_off', l.status, 'handoff.rejection', l.rejection_reason,
        l.owner_id, l.status IN ('disqualified','recycled')),
    ('qualified', l.qualified_at, 'user', 'accepted', 'qualified', 'temperature.sales', '', l.owner_id,
        l.status IN ('qualified','won','lost')),
    (l.status, l.closed_at, 'user', 'qualified', l.status, '', '', l.owner_id, l.status IN ('won','lost'))
) AS e(kind, at, actor_type, from_status, to_status, clause, reason, actor_id, happened)
WHERE e.happened AND l.external_id LIKE 'bench-%%'
"""


def ensure_reps(count: int = REPS) -> list[int]:
    """The demo's two reps and as many more as make `count`, all in the Sales team."""
    groups = ensure_roles()
    sales = Team.objects.get(name="Sales")
    User = get_user_model()
    for n in range(3, count + 1):
        user, created = User.objects.get_or_create(
            username=f"sales{n}", defaults={"email": f"sales{n}@example.com", "first_name": f"Rep {n}"}
        )
        if created:
            user.groups.add(groups[Role.SALES_REP])
        TeamMember.objects.get_or_create(team=sales, user=user)
    reps = User.objects.filter(groups__name=Role.SALES_REP.value).order_by("pk")
    return list(reps.values_list("pk", flat=True))[:count]


# Companies that fit the ICP have FIT_EMPLOYEES or more; the rest have UNFIT_EMPLOYEES.
FIT_EMPLOYEES = 50
UNFIT_EMPLOYEES = 10


def templates(clauses: Clauses, now: datetime) -> dict[str, list[str]]:
    """For each marketing temperature (and "none"), activities that the evaluation module rates exactly
    so: the level's minimums, padded with types that no rule counts. Raises if the clauses do not allow
    it, or if the two company sizes do not fit and miss the ICP as the SQL above assumes."""
    rules = clauses.temperature
    counted = {activity for level in TEMPERATURES for activity, _ in rules.marketing_rules[level]}
    filler = [t for t in ACTIVITY_TYPES if t not in counted and t in rules.activity_types] or [
        t for t in ACTIVITY_TYPES if t not in counted
    ]
    made = {"none": filler[:1] * 2}
    for level in TEMPERATURES:
        made[level] = [a for a, minimum in rules.marketing_rules[level] for _ in range(minimum)] + filler[:1]
    for level, types in made.items():
        for employees, fits in ((FIT_EMPLOYEES, True), (UNFIT_EMPLOYEES, False)):
            activities = tuple(
                ActivitySnapshot(t, now - timedelta(days=k)) for k, t in enumerate(types, start=1)
            )
            verdict = evaluate(LeadSnapshot(company_employees=employees, activities=activities), clauses, now)
            if (verdict.marketing_temperature or "none", verdict.icp_fit) != (level, fits):
                raise ValueError(f"The bench data cannot follow these clauses ({level}, {employees}).")
    if clauses.handoff.mql_threshold != "warm" or not clauses.handoff.icp_fit_required:
        raise ValueError("The bench funnel hands off warm and hot leads that fit the ICP.")
    return made


def generate(*, leads: int, now, log=print) -> dict[str, float]:
    """Fill an empty database; returns seconds per step."""
    timings: dict[str, float] = {}
    seed_agreements()
    reps = ensure_reps()
    version = AgreementVersion.objects.get(status=AgreementVersion.Status.ACTIVE)
    clauses = version.clauses
    params = {
        "now": now,
        "count": leads,
        "agreement": version.agreement_id,
        "version": version.pk,
        "reps": reps,
        "rep_count": len(reps),
        "fit_employees": FIT_EMPLOYEES,
        "unfit_employees": UNFIT_EMPLOYEES,
        "pickup_hours": json.dumps(clauses.handoff.pickup_hours),
        **templates(clauses, now),
    }
    for name, sql in (("leads", LEADS_SQL), ("activities", ACTIVITIES_SQL), ("events", EVENTS_SQL)):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.rowcount
        timings[name] = time.perf_counter() - started
        log(f"  {name}: {rows:,} rows in {timings[name]:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE leads_activity")
        cursor.execute("VACUUM ANALYZE leads_leadevent")
    timings["analyze"] = time.perf_counter() - started
    # The rows above went in by SQL, past the transition core: the reports' tallies are counted after.
    started = time.perf_counter()
    rows = tallies_rebuild()
    timings["tallies"] = time.perf_counter() - started
    log(f"  tallies: {rows:,} rows in {timings['tallies']:.1f} s")
    started = time.perf_counter()
    rows = touches_rebuild()
    timings["account months"] = time.perf_counter() - started
    log(f"  account months: {rows:,} rows in {timings['account months']:.1f} s")
    return timings


def loaded() -> int:
    return Lead.objects.filter(external_id__startswith="bench-").count()


# The leads as loaded, so that every run can put back what the previous one's load changed (ingested
# activities re-evaluate leads and hand some off): each run then measures the same data.
ORIGIN = "bench_lead_origin"
# The account months as loaded: an ingest widens rows, which deleting the rows it added would not undo.
MONTHS_ORIGIN = "bench_account_month_origin"


def snapshot() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT to_regclass('{ORIGIN}')")
        if cursor.fetchone()[0] is None:
            cursor.execute(
                f"CREATE TABLE {ORIGIN} AS SELECT * FROM leads_lead WHERE external_id LIKE 'bench-%%'"
            )
            cursor.execute(f"ALTER TABLE {ORIGIN} ADD PRIMARY KEY (id)")
        cursor.execute(f"SELECT to_regclass('{MONTHS_ORIGIN}')")
        if cursor.fetchone()[0] is None:
            cursor.execute(f"CREATE TABLE {MONTHS_ORIGIN} AS SELECT * FROM {AccountMonth._meta.db_table}")
            cursor.execute(f"CREATE INDEX ON {MONTHS_ORIGIN} (month)")


def marks() -> dict[str, int]:
    """The newest row of each table that a load writes to."""
    with connection.cursor() as cursor:
        result = {}
        for table in (
            LeadEvent._meta.db_table,
            Activity._meta.db_table,
            Outbox._meta.db_table,
            PickupNotice._meta.db_table,
            Tally._meta.db_table,
        ):
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # fixed names, not input
            result[table] = cursor.fetchone()[0]
        return result


def restore(since: dict[str, int]) -> int:
    """Undo what was written after `since`: new rows go, and the leads they touched are put back as
    loaded. Returns how many bench leads were put back."""
    columns = [f.column for f in Lead._meta.concrete_fields if not f.primary_key]
    assignments = ", ".join(f'"{c}" = o."{c}"' for c in columns)
    events = LeadEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE leads_lead AS l SET {assignments} FROM {ORIGIN} AS o
                WHERE l.id = o.id AND l.id IN (SELECT lead_id FROM {events} WHERE id > %s)""",
            [since[events]],
        )
        restored = cursor.rowcount
        months = AccountMonth._meta.db_table
        cursor.execute(
            f"SELECT date_trunc('month', MIN(occurred_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
            f"FROM {Activity._meta.db_table} WHERE id > %s",
            [since[Activity._meta.db_table]],
        )
        widened = cursor.fetchone()[0]
        if widened is not None:  # the months the new activities touched, as they were
            cursor.execute(f"DELETE FROM {months} WHERE month >= %s", [widened])
            cursor.execute(f"INSERT INTO {months} SELECT * FROM {MONTHS_ORIGIN} WHERE month >= %s", [widened])
        for table, mark in since.items():
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [mark])
        # The load's own leads; their events went with the rows above.
        cursor.execute("DELETE FROM leads_lead WHERE external_id LIKE 'load-%%'")
        cursor.execute(f"DELETE FROM {IdempotencyRecord._meta.db_table}")
    return restored
