"""The accounts each agreement's activities touched, per UTC month (leads.models.AccountMonth).

An account is the company a lead names (`company_name`), as the report has always counted it: the activities
of a lead count for its company as it is now. So the rows follow the leads: an activity stored widens its
account's month (`touches_add`, in the ingest's transaction, with the leads locked), and a lead that names
another company (a CRM's correction, an erasure) takes its activities along (`touches_moved`, with the lead
locked). `touches_verify` and `touches_rebuild` compare with and count from the activities themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Max, Min
from django.db.models.functions import TruncMonth

from leads.models import AccountMonth, Activity

# (agreement id, account, UTC month): a row's address; its value, the first and last touch.
Key = tuple[int, str, datetime]
Span = tuple[datetime, datetime]


def month_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spans_of(touches: Iterable[tuple[int, str, datetime]]) -> dict[Key, Span]:
    """Touches (agreement id, account, occurred_at) folded into each account month's first and last."""
    out: dict[Key, Span] = {}
    for agreement_id, account, at in touches:
        key = (agreement_id, account, month_of(at))
        first, last = out.get(key, (at, at))
        out[key] = (min(first, at), max(last, at))
    return out


def touches_add(spans: dict[Key, Span]) -> None:
    """Widen each account month to take in its new first and last touch, creating the rows that are new.

    Rows are written in key order, by every writer, so two ingests that share accounts wait for each other
    instead of deadlocking; a row only ever widens here, so the order of two writers does not matter."""
    if not spans:
        return
    meta = AccountMonth._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [meta.get_field(name) for name in ("agreement", "account", "month", "first_at", "last_at")]
    first, last = quote("first_at"), quote("last_at")
    head = f"INSERT INTO {table} ({', '.join(quote(f.column) for f in columns)}) VALUES "
    tail = (
        f" ON CONFLICT ({', '.join(quote(f.column) for f in columns[:3])}) DO UPDATE SET "
        f"{first} = CASE WHEN EXCLUDED.{first} < {table}.{first} "
        f"THEN EXCLUDED.{first} ELSE {table}.{first} END, "
        f"{last} = CASE WHEN EXCLUDED.{last} > {table}.{last} THEN EXCLUDED.{last} ELSE {table}.{last} END"
    )
    rows = sorted(spans.items())
    adapt = connection.ops.adapt_datetimefield_value
    size = max(connection.ops.bulk_batch_size(columns, rows), 1)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params = []
            for (agreement_id, account, month), (first_at, last_at) in chunk:
                params += [agreement_id, account, *map(adapt, (month, first_at, last_at))]
            cursor.execute(f"{head}{', '.join(['(%s, %s, %s, %s, %s)'] * len(chunk))}{tail}", params)


def touches_moved(*, lead_id: int, agreement_id: int, before: str, after: str) -> None:
    """The lead (locked by the caller) named `before` and now names `after`: its activities leave the one
    account's months and join the other's. The account left is counted again from its other leads'
    activities, its rows locked first so that a concurrent ingest's touch is either seen or added after."""
    if before == after:
        return
    mine = (
        Activity.objects.filter(lead_id=lead_id)
        .annotate(month=TruncMonth("occurred_at", tzinfo=UTC))
        .values_list("month")
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by()
    )
    spans = {month: (first, last) for month, first, last in mine}
    if not spans:
        return
    with transaction.atomic():
        # In account order, as touches_add writes its rows.
        for account in sorted((before, after)):
            if account == after:
                touches_add({(agreement_id, after, month): span for month, span in spans.items()})
            else:
                _recount(agreement_id, before, sorted(spans), leaving=lead_id)


def _recount(agreement_id: int, account: str, months: list[datetime], *, leaving: int) -> None:
    rows = list(
        AccountMonth.objects.select_for_update()
        .filter(agreement_id=agreement_id, account=account, month__in=months)
        .order_by("month")
    )
    counted = {
        month: (first, last)
        for month, first, last in Activity.objects.filter(
            lead__agreement_id=agreement_id,
            lead__company_name=account,
            occurred_at__gte=months[0],
            occurred_at__lt=next_month(months[-1]),
        )
        .exclude(lead_id=leaving)
        .annotate(month=TruncMonth("occurred_at", tzinfo=UTC))
        .values_list("month")
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by()
    }
    gone = []
    for row in rows:
        if row.month not in counted:
            gone.append(row.pk)
        elif (row.first_at, row.last_at) != counted[row.month]:
            row.first_at, row.last_at = counted[row.month]
            row.save(update_fields=["first_at", "last_at"])
    if gone:
        AccountMonth.objects.filter(pk__in=gone).delete()


def next_month(month: datetime) -> datetime:
    return (
        month.replace(year=month.year + 1, month=1)
        if month.month == 12
        else month.replace(month=month.month + 1)
    )


def counted_months() -> dict[Key, Span]:
    """Every account month as the stored activities and their leads' companies make it."""
    rows = (
        Activity.objects.annotate(month=TruncMonth("occurred_at", tzinfo=UTC))
        .values_list("lead__agreement_id", "lead__company_name", "month")
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by()
    )
    return {(a, account, month): (first, last) for a, account, month, first, last in rows.iterator(5000)}


def touches_verify() -> list[str]:
    """Where the account months differ from the activities: empty when they agree."""
    counted = counted_months()
    stored = {
        (row.agreement_id, row.account, row.month): (row.first_at, row.last_at)
        for row in AccountMonth.objects.iterator(5000)
    }
    problems = []
    for key in sorted(set(counted) | set(stored)):
        if counted.get(key) != stored.get(key):
            a, account, month = key
            problems.append(
                f"agreement {a}, {month:%Y-%m}, account {account!r}: stored touches "
                f"{_span_text(stored.get(key))}, activities say {_span_text(counted.get(key))}"
            )
    return problems


def _span_text(span: Span | None) -> str:
    return "none" if span is None else f"{span[0]:%Y-%m-%d %H:%M:%S} to {span[1]:%Y-%m-%d %H:%M:%S}"


def touches_rebuild() -> int:
    """Count every account month again from the activities (`manage.py tallies --rebuild`). Ingests made
    meanwhile wait for it (the table is locked on PostgreSQL). Returns the rows written."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {AccountMonth._meta.db_table} IN EXCLUSIVE MODE")
        AccountMonth.objects.all().delete()
        rows = [
            AccountMonth(agreement_id=a, account=account, month=month, first_at=first, last_at=last)
            for (a, account, month), (first, last) in counted_months().items()
        ]
        AccountMonth.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
