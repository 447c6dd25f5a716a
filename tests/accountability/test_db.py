"""The plain-SQL helpers of the hot paths read and write what the ORM would."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accountability import db
from review.models import Item, ItemField, Lease, Review
from review.services import lease_claim_next
from tests.conftest import postgres_only
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def _as_dict(instance: object) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_instances_read_with_plain_sql_equal_the_orms(agent, queue, reviewer):
    item = ingest(agent, metadata={"claim": {"region": "north", "lines": [1, 2]}})
    lease_claim_next(queue=queue, reviewer=reviewer)

    for model, column in [(Item, "id"), (ItemField, "item_id"), (Lease, "item_id")]:
        plain = db.select(model, f"{column} = %s", [item.pk])
        orm = model.objects.filter(**{column: item.pk}).order_by("id")
        assert plain and [_as_dict(p) for p in plain] == [_as_dict(o) for o in orm]
    [read] = db.select(Item, "id = %s", [item.pk])
    assert read.metadata == {"claim": {"region": "north", "lines": [1, 2]}}  # decoded JSON
    assert read.due_at.tzinfo is not None  # aware, on SQLite too
    assert not read._state.adding  # saves as an update, like a loaded instance


def test_a_batch_runs_in_order_and_answers_each_statement(agent):
    item = ingest(agent)
    with transaction.atomic():
        changed, read, nothing = db.batch(
            [
                (f"UPDATE {Item._meta.db_table} SET priority = %s WHERE id = %s", [42, item.pk]),
                (f"SELECT priority FROM {Item._meta.db_table} WHERE id = %s", [item.pk]),
                (f"SELECT id FROM {Item._meta.db_table} WHERE id = %s", [-1]),
            ]
        )
    assert changed == []  # no rows to answer with
    assert read == [(42,)]  # the second statement saw the first one's write
    assert nothing == []
    item.refresh_from_db()
    assert item.priority == 42


def test_a_failing_statement_in_a_batch_leaves_nothing_written(agent):
    first, second = ingest(agent), ingest(agent, external_id="claim-2")
    before = (first.priority, second.priority)
    with pytest.raises(IntegrityError), transaction.atomic():
        db.batch(
            [
                (f"UPDATE {Item._meta.db_table} SET priority = %s WHERE id = %s", [7, first.pk]),
                (  # a second item under the same agent and external id: refused
                    f"UPDATE {Item._meta.db_table} SET external_id = %s WHERE id = %s",
                    [first.external_id, second.pk],
                ),
                (f"UPDATE {Item._meta.db_table} SET priority = %s WHERE id = %s", [9, second.pk]),
            ]
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.priority, second.priority) == before


def test_a_key_drawn_beforehand_is_the_one_the_row_gets(agent, queue, reviewer):
    item = ingest(agent)
    lease = lease_claim_next(queue=queue, reviewer=reviewer)
    with transaction.atomic():
        drawn = db.key_drawn(db.batch(db.keys_statement(Review)))
        review = Review(
            pk=drawn,
            item=item,
            lease=lease,
            reviewer=reviewer,
            decision=Review.Decision.APPROVE,
            started_at=lease.claimed_at,
            decided_at=lease.claimed_at,
        )
        db.insert(db.instances([review], need_pks=review.pk is None))
    if connection.vendor == "postgresql":
        assert drawn is not None and review.pk == drawn
    else:  # SQLite has no sequences: the insert draws the key
        assert drawn is None and review.pk is not None
    assert Review.objects.get(pk=review.pk).item_id == item.pk


def _field_rows(item_id: int, count: int) -> list[dict]:
    """Rows whose values change type and shape from one row to the next."""
    values = [3, None, 'it\'s "quoted", with a comma', 2**40, 1.5, [1, "two"], {"k": {"n": None}}]
    return [
        {
            "item_id": item_id,
            "position": n,
            "name": f"field_{n}",
            "value": values[n % len(values)],
            "confidence": None if n % 3 == 0 else n / (count + 1),
            "evidence": [{"document": "form", "quote": f"q{n}"}] if n % 2 else [],
            "rationale": "" if n % 2 else f"line one\nline {n}",
        }
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, 7, db.PIPELINE_MAX_ROWS + 6])  # INSERTs, or COPY
def test_rows_inserted_together_are_stored_as_given(agent, count):
    item = ingest(agent)
    ItemField.objects.filter(item=item).delete()
    rows = _field_rows(item.pk, count)
    with transaction.atomic():
        db.insert(db.rows(ItemField, rows))
    keys = ["item_id", "position", "name", "value", "confidence", "evidence", "rationale"]
    stored = list(ItemField.objects.filter(item=item).order_by("position").values(*keys))
    assert stored == rows
    assert all(
        f.alternatives == [] and f.verdict == "" for f in ItemField.objects.filter(item=item)
    )


# A transaction ended by its last write: the COMMIT and the reads after it ride that write's
# round trip. Only on PostgreSQL, and only for the outermost transaction (so: transactional
# tests, where no test-wide transaction wraps the code).
_PRIORITY = f"SELECT priority FROM {Item._meta.db_table} WHERE id = %s"  # noqa: S608
_SET_PRIORITY = f"UPDATE {Item._meta.db_table} SET priority = %s WHERE id = %s"  # noqa: S608


def _priority_seen_by_another_connection(item_id: int) -> int:
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"],
    ) as other:
        return other.execute(_PRIORITY, [item_id]).fetchone()[0]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_last_write_commits_and_the_reads_after_it_see_what_was_committed(agent):
    item = ingest(agent)
    on_commit = []
    with db.reads_at_commit([(_PRIORITY, [item.pk])]) as reads, db.atomic_ended_by_last_write():
        transaction.on_commit(lambda: on_commit.append("ran"))
        db.insert(then=[(_SET_PRIORITY, [42, item.pk])], last=True)
        # Committed already, before the block ends: another connection sees it.
        assert _priority_seen_by_another_connection(item.pk) == 42
    assert reads.rows == [[(42,)]]
    assert on_commit == ["ran"]  # Django still runs what waits for the commit


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_inside_another_transaction_the_outer_one_still_decides(agent):
    item = ingest(agent)
    before = item.priority
    with pytest.raises(RuntimeError), transaction.atomic():
        with db.reads_at_commit([(_PRIORITY, [item.pk])]) as reads, db.atomic_ended_by_last_write():
            db.insert(then=[(_SET_PRIORITY, [42, item.pk])], last=True)
        assert _priority_seen_by_another_connection(item.pk) == before  # not committed
        raise RuntimeError("the outer transaction fails")
    assert reads.rows is None  # not sent: the caller reads as usual
    item.refresh_from_db()
    assert item.priority == before


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_failing_last_write_leaves_nothing_written(agent):
    first, second = ingest(agent), ingest(agent, external_id="claim-2")
    refused = (  # the same agent and external id twice
        f"UPDATE {Item._meta.db_table} SET external_id = %s WHERE id = %s",  # noqa: S608
        [first.external_id, second.pk],
    )
    with (
        db.reads_at_commit([(_PRIORITY, [first.pk])]) as reads,
        pytest.raises(IntegrityError),
        db.atomic_ended_by_last_write(),
    ):
        db.batch([(_SET_PRIORITY, [7, first.pk])])
        db.insert(then=[refused], last=True)
    assert reads.rows is None
    first.refresh_from_db()
    assert first.priority != 7
    assert Item.objects.filter(external_id=first.external_id).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_statement_after_the_last_write_is_refused(agent):
    item = ingest(agent)
    refused = pytest.raises(ProgrammingError, match="after the transaction's last write")
    with refused, db.atomic_ended_by_last_write():
        db.insert(then=[(_SET_PRIORITY, [42, item.pk])], last=True)
        db.execute(_SET_PRIORITY, [43, item.pk])  # would commit apart from the rest
    item.refresh_from_db()
    assert item.priority == 42  # the transaction ended by the last write stands; 43 did not


@postgres_only
def test_after_a_failed_statement_the_next_ones_run_as_usual(agent):
    # The hot paths keep their psycopg cursors between calls: a failure must leave none of
    # them in a state that changes what later statements do.
    item, other = ingest(agent), ingest(agent, external_id="claim-2")
    table = Item._meta.db_table
    with pytest.raises(ProgrammingError), transaction.atomic():
        db.values(f"SELECT no_such_column FROM {table}", [])  # noqa: S608
    same_external_id = f"UPDATE {table} SET external_id = %s WHERE id = %s"  # noqa: S608
    with pytest.raises(IntegrityError), transaction.atomic():
        db.batch([(same_external_id, [item.external_id, other.pk])])
    with pytest.raises(ProgrammingError), transaction.atomic():
        db.batch([("SELECT 1", []), (f"SELECT no_such_column FROM {table}", [])])  # noqa: S608
    read = f"SELECT id, priority FROM {table} WHERE id = %s"  # noqa: S608
    assert db.values(read, [item.pk]) == [(item.pk, item.priority)]
    assert db.batch([(read, [item.pk]), ("SELECT 2", [])]) == [[(item.pk, item.priority)], [(2,)]]


def test_queries_stay_visible_to_djangos_query_capture(agent):
    item = ingest(agent)
    with CaptureQueriesContext(connection) as captured:
        db.values(f"SELECT id FROM {Item._meta.db_table} WHERE id = %s", [item.pk])  # noqa: S608
        db.batch([("SELECT 1", []), ("SELECT 2", [])])
    assert [q["sql"] for q in captured] == [
        f"SELECT id FROM {Item._meta.db_table} WHERE id = {item.pk}",
        "SELECT 1",
        "SELECT 2",
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"a": (1, 2), "b": {"c": None}, "d": 0.1},
        {1: "int key", "big": 123456789012345678901234567890},
        {"when": "2026-12-06T10:00:00+00:00", "nested": [[1.5, True], {"x": "é"}]},
    ],
)
def test_as_stored_json_is_what_a_json_column_gives_back(value):
    assert db.as_stored_json(value) == json.loads(db.json_text(value))


def test_new_builds_what_the_keyword_constructor_builds(django_assert_num_queries):
    from django.utils import timezone

    from review.models import Queue

    queue, now = Queue(pk=7, slug="claims"), timezone.now()
    given = {"queue": queue, "agent_id": 3, "external_id": "x", "status": "pending_review"}
    made, expected = db.new(Item, created_at=now, **given), Item(created_at=now, **given)
    for field in Item._meta.concrete_fields:
        assert getattr(made, field.attname) == getattr(expected, field.attname), field.name
    with django_assert_num_queries(0):
        assert made.queue is queue  # the instance given, not a query
    assert made._state.adding
    other = db.new(Item, **given)
    assert other.metadata == {} and other.metadata is not made.metadata  # default=dict, each
    assert now <= other.created_at <= timezone.now()  # default=timezone.now, when made
    with pytest.raises(TypeError, match="no field colour"):
        db.new(Item, colour="red")
