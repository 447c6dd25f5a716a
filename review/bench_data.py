"""Bulk loading for the benchmarks: rows straight into PostgreSQL with COPY.

Benchmarks of the read side (dashboards, claim-next) need a million rows that the services
would take an hour to write; these helpers write them in seconds, ids assigned here and the
sequences moved past them afterwards. Only for throwaway benchmark databases.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import connection, models


def copy_rows(model: type[models.Model], rows: list[dict]) -> None:
    """COPY rows ({attname: value}; others take their default, or NULL) into model's table."""
    if not rows:
        return
    columns = list(model._meta.concrete_fields)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(
            f"COPY {model._meta.db_table} ({names}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row([_value(f, row) for f in columns])


def _value(field: models.Field, row: dict) -> Any:
    if field.attname in row:
        return row[field.attname]
    if field.null:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(field.get_default())
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    return field.get_default()


def next_ids(*models_: type[models.Model]) -> dict[type[models.Model], int]:
    """The first free id of each table."""
    return {m: (m.objects.aggregate(top=models.Max("id"))["top"] or 0) + 1 for m in models_}


def reset_sequences(*models_: type[models.Model]) -> None:
    """Move each id sequence past the rows COPY wrote with explicit ids."""
    with connection.cursor() as cursor:
        for model in models_:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - model tables
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


def settle() -> None:
    """After a bulk load, before the clock starts: vacuum and analyze (as autovacuum would
    have, instead of it starting in the middle of a timing) and write the load's dirty pages
    out (CHECKPOINT, where the role may: otherwise the next checkpoint's writes land in the
    timing). A database that has been running a while is in that state."""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # a test's transaction: VACUUM cannot run in one
            cursor.execute("ANALYZE")
            return
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("CHECKPOINT")
