"""Bulk writes at the speed of the database.

Django's bulk_create on PostgreSQL sends each column as an array (UNNEST) and builds a model
instance per row: measured on this machine, a 500-item ingest batch (4,000 field rows) spent
several times longer in that Python work than the database spent storing the rows. So on
PostgreSQL, `insert` writes large sets with COPY and small ones as INSERTs sent together in one
pipeline (a single item's six tables cost one round trip instead of twelve), with primary keys
drawn from the sequences beforehand in one query. Elsewhere (SQLite) it falls back to
bulk_create, which returns the keys itself.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, TypeVar
from weakref import WeakKeyDictionary

import orjson
from django.db import (
    DEFAULT_DB_ALIAS,
    ProgrammingError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.models import F, Lookup, Q
from django.db.models.sql import Query
from django.utils import timezone
from psycopg.pq import ExecStatus, TransactionStatus

# Up to this many rows in one insert() call, pipelined INSERTs beat COPY, whose protocol costs
# two round trips per table.
PIPELINE_MAX_ROWS = 64


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """JSON text, about ten times faster than json.dumps for the many small values of a batch.

    orjson refuses what JSON from a request can still hold (integers past 64 bits); the
    standard library writes those.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, separators=(",", ":"))


def as_stored_json(value: Any) -> Any:
    """The value as a JSON column gives it back (keys as strings, tuples as lists): what
    json_text writes, read again, by orjson both ways where it wrote it."""
    try:
        return orjson.loads(orjson.dumps(value))
    except (orjson.JSONEncodeError, TypeError):
        return json.loads(json_text(value))


def json_bytes_sorted(value: Any) -> bytes:
    """Canonical JSON bytes (keys sorted), for fingerprints; see json_text."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


@dataclass
class Table:
    """What to insert into one model's table: instances, or plain rows keyed by attname."""

    model: type[models.Model]
    objs: Sequence[models.Model] = ()
    rows: Sequence[dict[str, Any]] = ()
    need_pks: bool = False  # give the instances their primary keys

    def __len__(self) -> int:
        return len(self.objs) or len(self.rows)


M = TypeVar("M", bound=models.Model)


def new(model: type[M], **values: Any) -> M:
    """model(**values), unsaved, built the way Django builds what it reads: every column's value
    in order, the defaults of the ones left out worked out once per model. Relations may be
    given as instances (queue=...) or as keys (queue_id=...).

    Django's keyword constructor looks each field up by name and asks for each default in
    turn: 14.6 us for an Item, 1,500 instances in a 500-item ingest batch; this takes 8.9 us.
    """
    recipe = _recipe(model)
    unknown = values.keys() - recipe.names
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    args = []
    related = []
    for attname, name, default, fresh, is_relation in recipe.columns:
        if attname in values:
            args.append(values[attname])
        elif is_relation and name in values:
            target = values[name]
            args.append(None if target is None else target.pk)
            related.append((name, target))
        else:
            args.append(default() if fresh else default)
    instance = model(*args)
    for name, target in related:
        model._meta.get_field(name).set_cached_value(instance, target)
    return instance


class _Recipe(NamedTuple):
    # attname, name, the default (or what makes it), whether it is made afresh, is a relation
    columns: list[tuple[str, str, Any, bool, bool]]
    names: frozenset[str]  # what new() takes


@cache
def _recipe(model: type[models.Model]) -> _Recipe:
    columns = []
    for field in model._meta.concrete_fields:
        fresh = field.has_default() and callable(field.default)  # dict, timezone.now: each time
        default = field.get_default if fresh else field.get_default()
        columns.append((field.attname, field.name, default, fresh, field.is_relation))
    names = {attname for attname, *_ in columns} | {
        name for _, name, *_, is_relation in columns if is_relation
    }
    return _Recipe(columns, frozenset(names))


def instances(objs: Sequence[models.Model], *, need_pks: bool = False) -> Table:
    model = type(objs[0]) if objs else models.Model
    return Table(model, objs=objs, need_pks=need_pks)


def rows(model: type[models.Model], values: Sequence[dict[str, Any]]) -> Table:
    """Plain rows ({attname: value}; omitted fields take their defaults) for many small rows
    that nothing needs as instances afterwards."""
    return Table(model, rows=values)


Statement = tuple[str, Sequence[Any] | Mapping[str, Any]]


def insert(*tables: Table, then: Sequence[Statement] = (), last: bool = False) -> list[list[tuple]]:
    """Insert every table's rows, in order, then run the statements `then`, in the same round
    trip where the rows are few; returns each `then` statement's rows (as batch does). Must
    run inside a transaction.

    last: these are the transaction's last writes. Inside atomic_ended_by_last_write() on
    PostgreSQL, the COMMIT goes in their round trip, followed by the reads asked for with
    reads_at_commit(); elsewhere it changes nothing."""
    then, reads = _ended_here(then) if last else (then, None)
    tables = tuple(table for table in tables if len(table))
    if not tables:
        return _answered(batch(then), reads)
    if not _is_postgres():
        for table in tables:
            table.model.objects.bulk_create(
                list(table.objs) or [table.model(**row) for row in table.rows]
            )
        return _answered(batch(then), reads)
    _allocate_ids([table.objs for table in tables if table.need_pks])
    now = timezone.now()
    prepared = [(table.model, *_values(table, now)) for table in tables]
    if sum(len(table) for table in tables) <= PIPELINE_MAX_ROWS:
        results = _pipelined_inserts(prepared, then)
    else:
        for model, fields, values in prepared:
            _copy(model, fields, values)
        results = batch(then)
    for table in tables:
        for obj in table.objs:
            mark_stored(obj)
    return _answered(results, reads)


def mark_stored(obj: models.Model) -> None:
    """Tell Django the instance is a row of the database now (a later save() updates it), for
    rows written by plain SQL rather than by save()."""
    obj._state.adding = False
    obj._state.db = connection.alias


@dataclass
class Reads:
    """Reads to send after a transaction's COMMIT, in its round trip (see reads_at_commit)."""

    statements: Sequence[Statement]
    rows: list[list[tuple]] | None = None  # each statement's rows, once sent; None if not


@dataclass
class _Ending:
    sent: bool = False  # the COMMIT went with a last write


_READS: ContextVar[Reads | None] = ContextVar("reads_at_commit", default=None)
_ENDING: ContextVar[_Ending | None] = ContextVar("ending_transaction", default=None)
_COMMIT: Statement = ("COMMIT", [])


@contextmanager
def atomic_ended_by_last_write() -> Iterator[None]:
    """transaction.atomic() for a service whose transaction ends with an insert(..., last=True)
    (its audit event): on PostgreSQL that insert carries the COMMIT, a round trip fewer for
    every claim, decision and ingest. Only for the outermost transaction: nested in another,
    it is a plain atomic block and the outer one commits as usual.

    Nothing may touch the database after the last write inside the block: it would run in a
    transaction of its own, so it is refused (ProgrammingError) rather than committed apart.
    """
    if not _is_postgres() or connection.in_atomic_block:
        token = _ENDING.set(None)
        try:
            with transaction.atomic():
                yield
        finally:
            _ENDING.reset(token)
        return
    ending = _Ending()
    with transaction.atomic():
        token = _ENDING.set(ending)
        try:
            yield
        finally:
            _ENDING.reset(token)
        if ending.sent and _in_transaction():
            raise ProgrammingError("a statement ran after the transaction's last write")


@contextmanager
def reads_at_commit(statements: Sequence[Statement]) -> Iterator[Reads]:
    """Send `statements` right after the COMMIT of a transaction ended by its last write (see
    atomic_ended_by_last_write), in the same round trip: what an API answers with after a
    write, without a round trip of its own. reads.rows stays None when they were not sent
    (SQLite, a transaction nested in another, no last write): read then as usual."""
    reads = Reads(statements)
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def _in_transaction() -> bool:
    return connection.connection.info.transaction_status != TransactionStatus.IDLE


def _ended_here(then: Sequence[Statement]) -> tuple[Sequence[Statement], Reads | None]:
    """`then`, followed by COMMIT and the reads at commit when this write may end the
    transaction: inside atomic_ended_by_last_write, no savepoint open below it, not failed."""
    ending = _ENDING.get()
    if ending is None or ending.sent or any(connection.savepoint_ids) or connection.needs_rollback:
        return then, None
    ending.sent = True
    reads = _READS.get() or Reads(())
    return [*then, _COMMIT, *reads.statements], reads


def _answered(results: list[list[tuple]], reads: Reads | None) -> list[list[tuple]]:
    """The rows of `then` alone; the reads' rows go to reads."""
    if reads is None:
        return results
    count = len(reads.statements)
    reads.rows = results[len(results) - count :] if count else []
    return results[: len(results) - count - 1]


def keys_statement(model: type[models.Model], count: int = 1) -> list[Statement]:
    """On PostgreSQL, the statement that draws count primary keys for new rows of model, to
    send along with other reads in a batch (key_drawn and keys_given take the keys from its
    rows); elsewhere none: the insert draws the keys itself."""
    if not _is_postgres() or count < 1:
        return []
    meta = model._meta
    return [
        (
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
    ]


def key_drawn(results: Sequence[list[tuple]]) -> int | None:
    """The key keys_statement drew, from its rows as batch returned them; None if none was."""
    return results[0][0][0] if results else None


def keys_given(objs: Sequence[models.Model], results: Sequence[list[tuple]]) -> bool:
    """Give objs the keys keys_statement drew for them (results: its rows as batch returned
    them, if it was sent); False when none were drawn and the insert must draw them."""
    if not results:
        return False
    for obj, (pk,) in zip(objs, results[0], strict=False):
        obj.pk = pk
    return True


def _allocate_ids(groups: list[Sequence[models.Model]]) -> None:
    """Draw primary keys for several groups of unsaved instances in one query."""
    if not groups:
        return
    parts, params = [], []
    for index, objs in enumerate(groups):
        meta = type(objs[0])._meta
        parts.append(
            f"SELECT {index}, nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
        )
        params += [meta.db_table, meta.pk.column, len(objs)]
    drawn: list[list[int]] = [[] for _ in groups]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for index, pk in cursor.fetchall():
            drawn[index].append(pk)
    for objs, pks in zip(groups, drawn, strict=True):
        for obj, pk in zip(objs, pks, strict=True):
            obj.pk = pk


def _encoder(field: models.Field) -> Callable[[Any], Any] | None:
    """How one column's Python value becomes what PostgreSQL is sent (None: as it is; psycopg
    does the rest)."""
    if isinstance(field, models.JSONField):
        if field.encoder is not None:
            encoder = field.encoder
            return lambda value: None if value is None else json.dumps(value, cls=encoder)
        return lambda value: None if value is None else json_text(value)
    if isinstance(field, models.FileField):
        return lambda value: value.name if value else ""  # the stored name, as Django saves it
    return None


class _Layout(NamedTuple):
    """A model's columns for insert, and how to read and encode a row's values for them."""

    fields: list[models.Field]
    attnames: list[str]
    read: Callable[[Any], tuple]  # an instance's values in column order (one C call)
    encoders: list[tuple[int, Callable[[Any], Any]]]  # the columns that need encoding
    stamped: list[str]  # auto_now / auto_now_add attnames


@cache
def _layout(model: type[models.Model], with_pk: bool) -> _Layout:
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    attnames = [f.attname for f in fields]
    return _Layout(
        fields=fields,
        attnames=attnames,
        read=operator.attrgetter(*attnames) if len(attnames) > 1 else _one(attnames[0]),
        encoders=[(i, e) for i, f in enumerate(fields) if (e := _encoder(f)) is not None],
        stamped=[f.attname for f in fields if _stamped(f)],
    )


def _one(attname: str) -> Callable[[Any], tuple]:
    get = operator.attrgetter(attname)
    return lambda obj: (get(obj),)


def _stamped(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _values(table: Table, now: Any) -> tuple[list[models.Field], list[list[Any]]]:
    if table.objs:
        layout = _layout(table.model, table.objs[0].pk is not None)
        for obj in table.objs:  # what save() and pre_save would fill in
            # Foreign keys to instances given their keys since (a review inserted alongside).
            obj._prepare_related_fields_for_save(operation_name="insert")
            for attname in layout.stamped:
                setattr(obj, attname, now)
        values = [list(layout.read(obj)) for obj in table.objs]
    else:
        layout = _layout(table.model, False)
        defaults = {f.attname: now if _stamped(f) else f.get_default() for f in layout.fields}
        names = [(name, defaults[name]) for name in layout.attnames]
        values = [[row.get(name, default) for name, default in names] for row in table.rows]
    for row in values:
        for index, encode in layout.encoders:
            row[index] = encode(row[index])
    return layout.fields, values


def _table_sql(model: type[models.Model], fields: list[models.Field]) -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)


def _pipelined_inserts(
    prepared: list[tuple[type[models.Model], list, list]], then: Sequence[Statement]
) -> list[list[tuple]]:
    """The rows' INSERTs, then the statements `then`, in one pipeline; the rows of `then`.
    Each statement of `then` has its own cursor: a pipeline answers them all at the end."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    kept = _kept_cursors(wrapper, 1 + len(then))
    if kept is None:  # Django must see the queries: through its cursor, as before
        with wrapper.cursor() as logged:
            others = [logged.cursor.connection.cursor() for _ in then]
            started = time.monotonic()
            try:
                return _pipeline(wrapper, logged, others, prepared, then)
            finally:
                _log_queries(wrapper, others, then, time.monotonic() - started)
                for other in others:
                    other.close()
    try:
        return _pipeline(wrapper, kept[0], kept[1:], prepared, then)
    except BaseException:
        _forget_cursors(wrapper)
        raise


def _pipeline(
    wrapper: Any,
    cursor: Any,
    after: list[Any],
    prepared: list[tuple[type[models.Model], list, list]],
    then: Sequence[Statement],
) -> list[list[tuple]]:
    # wrap_database_errors turns psycopg's errors into Django's (IntegrityError on a duplicate).
    with wrapper.wrap_database_errors, cursor.connection.pipeline():
        for model, fields, values in prepared:
            table, columns = _table_sql(model, fields)
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)
        for each, (sql, params) in zip(after, then, strict=True):
            each.execute(sql, params)
    return [each.fetchall() if _has_rows(each) else [] for each in after]


def _log_queries(
    wrapper: Any, cursors: list[Any], statements: Sequence[Statement], seconds: float
) -> None:
    """Enter pipelined statements in Django's query log, as its own cursor enters each one (the
    round trip's time shared among them), for assertNumQueries and debugging tools."""
    for cursor, (sql, params) in zip(cursors, statements, strict=True):
        wrapper.queries_log.append(
            {
                "sql": wrapper.ops.last_executed_query(cursor, sql, params),
                "time": f"{seconds / len(statements):.3f}",
            }
        )


def _kept_cursors(wrapper: Any, count: int) -> list[Any] | None:
    """count psycopg cursors of this thread's PostgreSQL connection, kept for the next call;
    None where Django must see every query (DEBUG, assertNumQueries and CaptureQueriesContext,
    an execute_wrapper): its own cursor is used then.

    Django's cursor wrapper and a new psycopg cursor per statement cost more Python than the
    statement itself: measured with cachegrind, a one-row db.values took 208 k instructions
    through them and takes 94 k on kept cursors, a three-statement db.batch 498 k and 332 k.
    """
    if wrapper.queries_logged or wrapper.execute_wrappers:
        return None
    wrapper.validate_no_broken_transaction()
    wrapper.ensure_connection()
    kept = _KEPT_CURSORS.get(wrapper.connection)
    if kept is None:
        kept = _KEPT_CURSORS[wrapper.connection] = []
    while len(kept) < count:
        kept.append(wrapper.connection.cursor())
    return kept[:count]


_KEPT_CURSORS: WeakKeyDictionary = WeakKeyDictionary()  # psycopg connection -> its cursors


def _forget_cursors(wrapper: Any) -> None:
    """After a failure, start again from fresh cursors (and none for a closed connection)."""
    if wrapper.connection is not None:
        _KEPT_CURSORS.pop(wrapper.connection, None)


def _has_rows(cursor: Any) -> bool:
    """Whether the statement returned rows (cursor.description would build every column's
    description to say so)."""
    result = cursor.pgresult
    return result is not None and result.status == ExecStatus.TUPLES_OK


def _copy(model: type[models.Model], fields: list[models.Field], values: list[list]) -> None:
    table, columns = _table_sql(model, fields)
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in values:
            copy.write_row(row)


class AnyOf(Lookup):
    """`column = ANY('{1,2,...}'::bigint[])`: the ids as one text parameter. An IN list of 2,000
    parameters cost more to build and parse than its query took to run, and psycopg's own list
    adapter checks each element with a regular expression (measured: most of a chunk's time)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, conn: Any) -> tuple[str, list]:
        lhs, params = self.process_lhs(compiler, conn)
        array = "{" + ",".join(map(str, map(int, self.rhs))) + "}"
        return f"{lhs} = ANY(%s::bigint[])", [*params, array]


def among(ids: list[int], column: str = "item_id") -> Q | AnyOf:
    """A filter: column is one of ids (one array parameter on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return AnyOf(F(column), ids)
    return Q(**{f"{column}__in": ids})


def first(
    model: type[models.Model], where: str, params: Sequence[Any], *, order_by: str = "id"
) -> Any:
    """The model's first row (by id) matching a plain SQL condition, as an instance, or None.

    For the hot paths (every ingest, claim and decision), where building the ORM's query for a
    one-row lookup cost several times more than running it (measured: 1.2 ms against 0.3 ms).
    """
    found = select(model, where, params, order_by=order_by, limit=1)
    return found[0] if found else None


def select(
    model: type[models.Model],
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "id",
    limit: int | None = None,
) -> list[Any]:
    """The model's rows matching a plain SQL condition, as instances (see first)."""
    return instances_of(
        model, values(*select_statement(model, where, params, order_by=order_by, limit=limit))
    )


def select_statement(
    model: type[models.Model],
    where: str,
    params: Sequence[Any],
    *,
    order_by: str = "id",
    limit: int | None = None,
    lock: bool = False,
) -> Statement:
    """SELECT of the model's columns where a plain SQL condition holds, for values or batch;
    instances_of makes instances of its rows. lock: FOR UPDATE, where the database has it."""
    columns, table = _reading(model).columns, model._meta.db_table
    sql = f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order_by}"  # noqa: S608
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql, params


def columns(model: type[models.Model]) -> str:
    """The model's columns as select_statement reads them, in the order instances_of expects."""
    return _reading(model).columns


def instances_of(model: type[models.Model], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Model instances from rows of select_statement, their values converted as the ORM
    converts what it reads (JSON decoded, SQLite's datetimes made aware)."""
    reading = _reading(model)
    instances = []
    for row in rows:
        values = list(row)
        for position, converters, column in reading.converters:
            value = values[position]
            for convert in converters:
                value = convert(value, column, connection)
            values[position] = value
        instances.append(model.from_db(connection.alias, reading.names, values))
    return instances


class _Reading(NamedTuple):
    columns: str
    names: list[str]
    converters: list[tuple[int, list[Callable], Any]]


def _reading(model: type[models.Model]) -> _Reading:
    """How to read a model's rows on this thread's connection, worked out once per model and
    connection: the compiler's converters cost more to find than a row costs to read."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    readings = _READINGS.setdefault(wrapper, {})
    reading = readings.get(model)
    if reading is None:
        fields = model._meta.concrete_fields
        compiler = wrapper.ops.compiler("SQLCompiler")(Query(model), wrapper, None)
        found = compiler.get_converters([f.get_col(model._meta.db_table) for f in fields])
        reading = readings[model] = _Reading(
            columns=", ".join(wrapper.ops.quote_name(f.column) for f in fields),
            names=[f.attname for f in fields],
            converters=[(at, converters, column) for at, (converters, column) in found.items()],
        )
    return reading


_READINGS: WeakKeyDictionary = WeakKeyDictionary()


def values(sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of a plain query, as tuples (datetimes sent as in execute)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    kept = _kept_cursors(wrapper, 1) if wrapper.vendor == "postgresql" else None
    if kept is None:
        with wrapper.cursor() as cursor:
            cursor.execute(sql, _adapted(params))
            return cursor.fetchall()
    [cursor] = kept
    try:
        with wrapper.wrap_database_errors:
            cursor.execute(sql, params)  # PostgreSQL takes datetimes as they are
            return cursor.fetchall() if _has_rows(cursor) else []
    except BaseException:
        _forget_cursors(wrapper)
        raise


def marks(values: Sized) -> str:
    """One parameter placeholder per value, for an IN list."""
    return ", ".join(["%s"] * len(values))


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run one plain statement; the number of rows it changed. Datetimes are written as the
    ORM writes them (SQLite keeps them as text, naive UTC; a raw one would carry "+00:00")."""
    with connection.cursor() as cursor:
        cursor.execute(sql, _adapted(params))
        return cursor.rowcount


def batch(statements: Sequence[Statement]) -> list[list[tuple]]:
    """Run statements in order and return each one's rows ([] for one that returns none).

    On PostgreSQL they travel together (a pipeline): one round trip for all, and the BEGIN of
    a transaction they open rides along. For writes whose later statements find what earlier
    ones changed by themselves (a subquery, not a value read back into Python). A failing
    statement raises Django's error and the ones after it do not run, as one by one.
    """
    if not statements:
        return []
    if not _is_postgres():
        results = []
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, _adapted(params))
                results.append(cursor.fetchall() if cursor.description else [])
        return results
    return _pipelined_inserts([], statements)


def _adapted(params: Sequence[Any] | Mapping[str, Any]) -> Any:
    """Datetimes as the ORM sends them (see execute)."""
    adapt = connection.ops.adapt_datetimefield_value
    if isinstance(params, Mapping):
        return {k: adapt(v) if isinstance(v, dt.datetime) else v for k, v in params.items()}
    return [adapt(p) if isinstance(p, dt.datetime) else p for p in params]
