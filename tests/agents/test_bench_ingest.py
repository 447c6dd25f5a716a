"""bench_ingest's physical limit: the rows ingest wrote, copied again with raw COPY."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from agents.management.commands.bench_ingest import (
    COPY_KINDS,
    _copy_rates,
    _id_tables,
    _ids_now,
    _limit_tables_create,
)
from tests.conftest import postgres_only
from tests.factories import ingest

pytestmark = [postgres_only]


def _limit_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'limit\\_%%'")
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)  # each limit commits, as ingest does
def test_each_limit_copies_what_the_items_ingest_wrote_and_leaves_no_table_behind(agent):
    tables = _id_tables()
    before = _ids_now(tables)
    for n in range(3):
        ingest(agent, external_id=f"limit-{n}")

    rates = _copy_rates(before, _ids_now(tables), items=3)

    assert set(rates) == set(COPY_KINDS)
    assert all(rate > 0 for rate in rates.values())
    assert _limit_tables() == []


@pytest.mark.django_db(transaction=True)
def test_the_limit_with_foreign_keys_checks_them_at_the_commit_as_ingest_does(agent):
    item = ingest(agent, external_id="limit-fk")
    fields = "INSERT INTO limit_review_itemfield SELECT * FROM review_itemfield WHERE item_id = %s"
    try:
        with connection.cursor() as cursor:
            _limit_tables_create(cursor, ["review_item", "review_itemfield"], kind="foreign_keys")
            # The item exists, but not among the copied items the copied fields point at.
            with pytest.raises(IntegrityError), transaction.atomic():
                cursor.execute(fields, [item.pk])
            with transaction.atomic():
                cursor.execute("INSERT INTO limit_review_item SELECT * FROM review_item")
                cursor.execute(fields, [item.pk])
            copied = cursor.execute("SELECT count(*) FROM limit_review_itemfield").fetchone()
            assert copied == (item.fields.count(),)
            cursor.execute("DROP TABLE limit_review_itemfield, limit_review_item")

            _limit_tables_create(cursor, ["review_item", "review_itemfield"], kind="logged")
            with transaction.atomic():  # without foreign keys nothing is checked
                cursor.execute(fields, [item.pk])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS limit_review_itemfield, limit_review_item")
    assert _limit_tables() == []
