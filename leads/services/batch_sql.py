"""Writes the ORM says slowly, in SQL of their own.

The batch transition's UPDATE on PostgreSQL: one statement for the whole batch, the new values of each
lead joined in from a VALUES list, guarded like the single write (status and, where asked, owner as the
mover read them) and RETURNING the leads it moved.

Django's ORM would say the same with one CASE per column and lead, which costs more to build in Python
than the database takes to run it (half a second for 1,000 leads). Where this does not apply (SQLite,
or a change that is an expression such as F("n") + 1) the transition core uses the ORM.

A new lead's INSERT that gives way to a concurrent one with the same external_id (`insert_new`), the
same for a list of activities (`insert_activities`), and the upsert's locking read (`lead_locked`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from agreements.models import AgreementVersion
from leads.models import Activity, Lead

KEEP = object()  # a column this lead's move leaves alone


def applies(changes: list[dict[str, Any]]) -> bool:
    return connection.vendor == "postgresql" and not any(
        hasattr(value, "resolve_expression") for change in changes for value in change.values()
    )


def update_each(
    rows: list[tuple[int, str, Any, str, dict[str, Any]]], columns: list[str], now: datetime
) -> set[int]:
    """`rows`: (lead id, status read, owner id read or ..., new status, {column: value or KEEP}).
    Returns the ids it updated: a lead missing from them had moved since it was read."""
    table = Lead._meta.db_table
    fields = {column: Lead._meta.get_field(column) for column in columns}
    # Text as unbounded text: an explicit cast to varchar(n) would cut a long value where the column's
    # own assignment refuses it, as the ORM's write does.
    text = ("CharField", "TextField", "EmailField", "SlugField")
    cast = {
        column: "text" if field.get_internal_type() in text else field.db_type(connection)
        for column, field in fields.items()
    }
    status_type = Lead._meta.get_field("status").db_type(connection)
    owner_type = Lead._meta.get_field("owner").target_field.db_type(connection)
    names = ["id", "from_status", "check_owner", "expected_owner", "to_status"]
    for column in columns:
        names += [f"{column}__set", column]
    placeholders = [
        f"(%s::bigint, %s::{status_type}, %s::boolean, %s::{owner_type}, %s::{status_type}"
        + "".join(f", %s::boolean, %s::{cast[column]}" for column in columns)
        + ")"
    ]
    params: list[Any] = []
    for lead_id, status, owner, to, changes in rows:
        params += [lead_id, status, owner is not ..., None if owner is ... else owner, to]
        for column in columns:
            value = changes.get(column, KEEP)
            kept = value is KEEP
            params += [not kept, None if kept else fields[column].get_db_prep_save(value, connection)]
    sets = ", ".join(
        f'"{fields[column].column}" = CASE WHEN v."{column}__set" THEN v."{column}" '
        f'ELSE l."{fields[column].column}" END'
        for column in columns
    )
    aliases = ", ".join(f'"{name}"' for name in names)
    sql = (
        f'UPDATE "{table}" AS l SET "status" = v."to_status", "updated_at" = %s'
        + (f", {sets}" if sets else "")
        + f" FROM (VALUES {', '.join(placeholders * len(rows))}) AS v({aliases})"
        + ' WHERE l."id" = v."id" AND l."status" = v."from_status"'
        + ' AND (NOT v."check_owner" OR l."owner_id" IS NOT DISTINCT FROM v."expected_owner")'
        + ' RETURNING l."id"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *params])
        return {row[0] for row in cursor.fetchall()}


def insert_new(lead: Lead, *, unique: str) -> bool:
    """INSERT `lead` unless a lead with its `unique` column's value exists: one statement, where the ORM
    would need a savepoint around the INSERT to survive the unique violation. Sets the lead's id and
    returns True when it was inserted. A concurrent transaction's uncommitted INSERT of the same value makes
    this one wait for it, then insert nothing if it committed (PostgreSQL and SQLite alike)."""
    meta = Lead._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(meta.get_field(unique).column)}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    params = [field.get_db_prep_save(field.pre_save(lead, add=True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    lead.pk = row[0]
    lead._state.adding = False
    lead._state.db = connection.alias
    return True


def insert_activities(activities: list[Activity]) -> list[Activity]:
    """INSERT the activities whose external_id is not stored yet, in statements of many rows; returns those
    it inserted. One that a concurrent batch stored first is left out: it is that batch's to count."""
    meta = Activity._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    unique = quote(meta.get_field("external_id").column)
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row = f"({', '.join(['%s'] * len(fields))})"
    size = max(connection.ops.bulk_batch_size(fields, activities), 1)
    # In one order, by every batch: two that share ids wait for each other instead of deadlocking.
    activities = sorted(activities, key=lambda activity: activity.external_id)
    by_external_id = {activity.external_id: activity for activity in activities}
    inserted = []
    with connection.cursor() as cursor:
        for start in range(0, len(activities), size):
            chunk = activities[start : start + size]
            params = [
                field.get_db_prep_save(field.pre_save(activity, add=True), connection)
                for activity in chunk
                for field in fields
            ]
            cursor.execute(
                f"{head}{', '.join([row] * len(chunk))} ON CONFLICT ({unique}) DO NOTHING "
                f"RETURNING {quote(meta.pk.column)}, {unique}",
                params,
            )
            for pk, external_id in cursor.fetchall():
                activity = by_external_id[external_id]
                activity.pk = pk
                activity._state.adding = False
                inserted.append(activity)
    return inserted


@cache
def _lock_sql(vendor: str) -> str:
    meta, versions = Lead._meta, AgreementVersion._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(f"{table}.{quote(field.column)}" for field in meta.concrete_fields)
    agreement = f"{table}.{quote(meta.get_field('agreement').column)}"
    in_force = (
        f"(SELECT v.{quote(versions.pk.column)} FROM {quote(versions.db_table)} v "
        f"WHERE v.{quote(versions.get_field('agreement').column)} = {agreement} "
        f"AND v.{quote(versions.get_field('status').column)} = %s LIMIT 1)"
    )
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {columns}, {in_force} AS in_force_id FROM {table} "
        f"WHERE {table}.{quote(meta.get_field('external_id').column)} = %s{lock}"
    )


def lead_locked(external_id: str) -> Lead | None:
    """The lead known by `external_id`, locked (SELECT … FOR UPDATE), with the id of its agreement's version
    in force as `in_force_id`: one statement, its SQL built once. The ORM compiles a query like it anew on
    each call, at three times what the database then takes to answer it."""
    rows = list(Lead.objects.raw(_lock_sql(connection.vendor), [AgreementVersion.Status.ACTIVE, external_id]))
    return rows[0] if rows else None
