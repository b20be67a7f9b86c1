"""The batch transition's UPDATE on PostgreSQL: one statement for the whole batch, the new values of each
lead joined in from a VALUES list, guarded like the single write (status and, where asked, owner as the
mover read them) and RETURNING the leads it moved.

Django's ORM would say the same with one CASE per column and lead, which costs more to build in Python
than the database takes to run it (half a second for 1,000 leads). Where this does not apply (SQLite,
or a change that is an expression such as F("n") + 1) the transition core uses the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from leads.models import Lead

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
