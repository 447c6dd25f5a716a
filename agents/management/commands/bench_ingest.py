"""manage.py bench_ingest: ingest latency and throughput through the full HTTP stack.

Requests go through Django's test client in this process: every middleware, token auth, DRF,
parsing, assessment and the database writes, but no socket. Run it against a throwaway
database (make bench does): it leaves its items behind.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, connections, transaction
from django.test import Client

from accountability.audit import Actor
from accountability.timing import figures_write, percentile
from agents import services as agent_services
from review.models import Queue

FIELDS = [
    ("policy_number", "PN-{n:06d}", "string"),
    ("claimant_name", "Jane Q. Example {n}", "string"),
    ("loss_date", "2024-03-02", "date"),
    ("amount", 1250.5, "number"),
    ("claim_type", "auto", "string"),
    ("vehicle_plate", "AB-{n:05d}-CD", "string"),
    ("postcode", "75001", "string"),
    ("adjuster_code", "ADJ-{n:04d}", "string"),
]


def _document(n: int) -> str:
    header = (
        f"FIRST NOTICE OF LOSS {n}\nPolicy number: PN-{n:06d}\n"
        f"Claimant: Jane Q. Example {n}\nDate of loss: 2024-03-02\nAmount claimed: 1250.5\n"
        f"Type: auto\nVehicle: AB-{n:05d}-CD\nPostcode: 75001\nAdjuster: ADJ-{n:04d}\n"
    )
    filler = "The insured reports a rear-end collision at low speed; no injuries were declared. "
    return (header + filler * 60)[:4096]


def payload(n: int, queue: str) -> dict:
    fields = []
    for i, (name, template, _) in enumerate(FIELDS):
        value = template.format(n=n) if isinstance(template, str) else template
        fields.append(
            {
                "name": name,
                "value": value,
                # Every fourth item has a doubtful field, so both routes are exercised.
                "confidence": 0.6 if (n % 4 == 0 and i == 3) else 0.97,
                "evidence": [{"document": "form", "quote": str(value)}],
                "alternatives": [{"value": "home", "confidence": 0.02}] if i == 4 else [],
            }
        )
    return {
        "queue": queue,
        "external_id": f"bench-{n}",
        "agent_version": "bench-1",
        "documents": [{"key": "form", "content_type": "text/plain", "text": _document(n)}],
        "fields": fields,
        "metadata": {"trace_id": uuid.uuid4().hex},
    }


def _post_batches(authorization: str, bodies: list[str]) -> None:
    client = Client(HTTP_AUTHORIZATION=authorization)  # in the child process
    for body in bodies:
        response = client.post("/api/v1/items/batch", body, content_type="application/json")
        assert response.status_code == 200, response.content[:300]


def _post_singles(authorization: str, bodies: list[str]) -> list[float]:
    """One agent client posting items one by one; returns each request's milliseconds."""
    client = Client(HTTP_AUTHORIZATION=authorization)  # in the child process
    latencies = []
    for body in bodies:
        start = time.perf_counter()
        response = client.post("/api/v1/items", body, content_type="application/json")
        latencies.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 201, response.content[:300]
    return latencies


def _ids_now(tables: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        return {
            table: cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
        }


COPY_TRIES = 3
# How the limit's tables are made: "logged" is the limit the ratio is taken against.
COPY_KINDS = ("logged", "temporary", "foreign_keys")


def _copy_rates(before: dict[str, int], after: dict[str, int], items: int) -> dict[str, float]:
    """Items/s PostgreSQL's COPY reaches writing exactly the rows those items' ingest wrote
    (every table, with the same indexes, no triggers): the physical limit.

    "logged": into ordinary tables, as ingest writes: WAL-logged, through shared buffers, the
    COMMIT waiting for the disk, but without foreign keys. "temporary": into temporary tables
    (no WAL, local buffers), for comparison with the runs before 2026-12-06 20:10 UTC, which
    measured only that. "foreign_keys": as "logged", with the originals' foreign keys as well,
    checked at the COMMIT as ingest's are (some 6,500 checks for a 500-item batch). The best of
    COPY_TRIES each: the limit, not a typical run.
    """
    data: dict[str, bytes] = {}
    with connection.cursor() as cursor:
        raw = cursor.connection
        for table, top in after.items():
            if top == before[table]:
                continue
            select = f'SELECT * FROM "{table}" WHERE id > {before[table]} AND id <= {top}'  # noqa: S608
            with raw.cursor().copy(f"COPY ({select}) TO STDOUT") as copy:
                data[table] = b"".join(bytes(block) for block in copy)
        rates = dict.fromkeys(COPY_KINDS, 0.0)
        for _ in range(COPY_TRIES):
            for kind in rates:
                seconds = _copy_seconds(cursor, data, kind=kind)
                rates[kind] = max(rates[kind], items / seconds)
    return rates


def _copy_seconds(cursor: Any, data: dict[str, bytes], *, kind: str) -> float:
    """Seconds to COPY data into new tables like the originals, in one committed transaction."""
    raw = cursor.connection
    _limit_tables_create(cursor, list(data), kind=kind)
    start = time.perf_counter()
    with transaction.atomic():
        for table, rows in data.items():
            with raw.cursor().copy(f'COPY "limit_{table}" FROM STDIN') as copy:
                copy.write(rows)
    seconds = time.perf_counter() - start
    for table in data:
        cursor.execute(f'DROP TABLE "limit_{table}" CASCADE')
    return seconds


def _limit_tables_create(cursor: Any, tables: list[str], *, kind: str) -> None:
    """limit_<table> for each table, like it (columns, defaults, indexes, checks); with kind
    "foreign_keys" also with its foreign keys, each pointing at the limit table of what it
    refers to where that is copied too (an item's fields at the copied items), else at the
    original (the queue, the agent)."""
    create = "CREATE TEMP TABLE" if kind == "temporary" else "CREATE TABLE"
    for table in tables:
        cursor.execute(f'{create} "limit_{table}" (LIKE "{table}" INCLUDING ALL)')
    if kind != "foreign_keys":
        return
    for table in tables:
        cursor.execute(
            """SELECT conname, confrelid::regclass::text, pg_get_constraintdef(oid)
               FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass""",
            [f'"{table}"'],
        )
        for name, referenced, definition in cursor.fetchall():
            referenced = referenced.strip('"')
            if referenced in tables:
                definition = re.sub(
                    rf'REFERENCES "?{re.escape(referenced)}"?\(',
                    f'REFERENCES "limit_{referenced}"(',
                    definition,
                )
            cursor.execute(
                f'ALTER TABLE "limit_{table}" ADD CONSTRAINT "limit_{name}" {definition}'
            )


def dumps(body: dict) -> str:
    return json.dumps(body)


def _id_tables() -> list[str]:
    """The tables with an integer id that ingest may write to."""
    return [
        model._meta.db_table
        for app in ("review", "agents", "accountability")
        for model in apps.get_app_config(app).get_models()
        if model._meta.pk.get_internal_type() in {"AutoField", "BigAutoField"}
    ]


class Command(BaseCommand):
    help = "Measure single-item ingest latency (p50/p95) and batch ingest throughput."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--single", type=int, default=500, help="Single requests to time.")
        parser.add_argument("--batches", type=int, default=10, help="Batches to time.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--json", default=".bench/ingest.json", help="Where figures go.")
        parser.add_argument(
            "--clients", type=int, default=4, help="Agents posting single items at once."
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=2,
            help="Also time batches from this many server processes at once (as deployed).",
        )

    def handle(
        self,
        *args: object,
        single: int,
        batches: int,
        batch_size: int,
        json: str,
        processes: int,
        clients: int,
        **opts: object,
    ) -> None:
        client, queue = self._setup()
        run = uuid.uuid4().hex[:6]
        counter = iter(range(10**9))

        def next_payload() -> dict:
            body = payload(next(counter), queue)
            body["external_id"] = f"{run}-{body['external_id']}"
            return body

        # Bodies are encoded before the clock starts: an agent does that on its own machine.
        for _ in range(20):  # warm up connections and caches
            client.post("/api/v1/items", dumps(next_payload()), content_type="application/json")
        latencies = []
        for _ in range(single):
            body = dumps(next_payload())
            start = time.perf_counter()
            response = client.post("/api/v1/items", body, content_type="application/json")
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 201, response.content
        batch_seconds = []
        tables = _id_tables()
        before = _ids_now(tables) if connection.vendor == "postgresql" else {}
        for _ in range(batches):
            body = dumps({"items": [next_payload() for _ in range(batch_size)]})
            start = time.perf_counter()
            response = client.post("/api/v1/items/batch", body, content_type="application/json")
            batch_seconds.append(time.perf_counter() - start)
            codes = {r["status_code"] for r in response.json()["results"]}
            assert codes == {201}, response.content[:500]
        copy = _copy_rates(before, _ids_now(tables), batch_size * batches) if before else {}
        copy_items_per_s = round(copy["logged"], 1) if copy else None
        figures = {
            "database": connection.vendor,
            "single_requests": single,
            "single_p50_ms": round(statistics.median(latencies), 2),
            "single_p95_ms": round(percentile(latencies, 0.95), 2),
            "single_items_per_s": round(1000 / statistics.mean(latencies), 1),
            "batch_size": batch_size,
            "batches": batches,
            "batch_items_per_s": round(batch_size * batches / sum(batch_seconds), 1),
            "batch_p50_s": round(statistics.median(batch_seconds), 3),
            "copy_items_per_s": copy_items_per_s,
            "copy_temporary_items_per_s": round(copy["temporary"], 1) if copy else None,
            "copy_foreign_keys_items_per_s": round(copy["foreign_keys"], 1) if copy else None,
            "batch_share_of_copy": round(
                batch_size * batches / sum(batch_seconds) / copy_items_per_s, 3
            )
            if copy_items_per_s
            else None,
            "batch_share_of_copy_foreign_keys": round(
                batch_size * batches / sum(batch_seconds) / copy["foreign_keys"], 3
            )
            if copy
            else None,
            "clients": clients,
            **self._concurrent_singles(client, next_payload, clients, single // clients),
            "processes": processes,
            "batch_items_per_s_processes": self._parallel_batches(
                client, next_payload, processes, batches, batch_size
            ),
            "document_bytes": 4096,
            "fields_per_item": len(FIELDS),
        }
        self._report(figures, json)

    def _concurrent_singles(
        self, client: Client, next_payload: Callable[[], dict], clients: int, each: int
    ) -> dict[str, float]:
        """Items/s and latency with `clients` agents posting single items at once, each
        against its own server process (as deployed: several web processes)."""
        bodies = [[dumps(next_payload()) for _ in range(each)] for _ in range(clients)]
        connections.close_all()
        start = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(clients) as pool:
            results = pool.map(
                partial(_post_singles, client.defaults["HTTP_AUTHORIZATION"]), bodies
            )
        elapsed = time.perf_counter() - start
        latencies = [ms for result in results for ms in result]
        return {
            "concurrent_items_per_s": round(clients * each / elapsed, 1),
            "concurrent_p50_ms": round(statistics.median(latencies), 2),
            "concurrent_p95_ms": round(percentile(latencies, 0.95), 2),
        }

    def _parallel_batches(
        self,
        client: Client,
        next_payload: Callable[[], dict],
        processes: int,
        batches: int,
        batch_size: int,
    ) -> float:
        """Items/s with `processes` server processes each posting batches at the same moment:
        the deployment runs several web processes, and a batch is one process's work."""
        bodies = [
            [dumps({"items": [next_payload() for _ in range(batch_size)]}) for _ in range(batches)]
            for _ in range(processes)
        ]
        connections.close_all()  # each forked process opens its own
        start = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            pool.map(partial(_post_batches, client.defaults["HTTP_AUTHORIZATION"]), bodies)
        return round(processes * batches * batch_size / (time.perf_counter() - start), 1)

    def _setup(self) -> tuple[Client, str]:
        User = get_user_model()
        owner, _ = User.objects.get_or_create(username="bench-owner")
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        queue = Queue.objects.create(
            slug=slug,
            name="Benchmark queue",
            field_schema=[
                {"name": name, "type": kind, "required": True} for name, _, kind in FIELDS
            ],
            qa_sample_rate=0.02,
        )
        actor = Actor.system("bench_ingest")
        agent = agent_services.agent_create(
            slug=slug, name=slug, owner=owner, queues=[queue], actor=actor
        )
        _, raw = agent_services.agent_token_create(agent=agent, created_by=None, actor=actor)
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}"), slug

    def _report(self, figures: dict, path: str) -> None:
        f = figures
        self.stdout.write(
            f"Ingest benchmark on {f['database']} ({settings.DATABASES['default']['NAME']})"
        )
        self.stdout.write(
            f"  items: {f['fields_per_item']} fields, {f['document_bytes']} B document"
        )
        self.stdout.write(
            f"  single-item POST  p50 {f['single_p50_ms']:>7.2f} ms"
            f"   p95 {f['single_p95_ms']:>7.2f} ms   ({f['single_items_per_s']} items/s, 1 client)"
        )
        self.stdout.write(
            f"  batch of {f['batch_size']:<4}    {f['batch_items_per_s']:>9.1f} items/s"
            f"   (p50 {f['batch_p50_s']} s per batch, 1 process)"
        )
        self.stdout.write(
            f"  single items from {f['clients']} clients at once "
            f"{f['concurrent_items_per_s']:>9.1f} items/s   (p50 {f['concurrent_p50_ms']} ms, "
            f"p95 {f['concurrent_p95_ms']} ms)"
        )
        if f["copy_items_per_s"]:
            self.stdout.write(
                f"  raw COPY of the same rows {f['copy_items_per_s']:>9.1f} items/s   "
                f"(batch ingest = {f['batch_share_of_copy']:.0%} of it; into temporary tables, "
                f"without WAL: {f['copy_temporary_items_per_s']} items/s)"
            )
            self.stdout.write(
                f"  raw COPY with the same foreign keys "
                f"{f['copy_foreign_keys_items_per_s']:>9.1f} items/s   "
                f"(batch ingest = {f['batch_share_of_copy_foreign_keys']:.0%} of it)"
            )
        self.stdout.write(
            f"  batches of {f['batch_size']} from {f['processes']} processes at once "
            f"{f['batch_items_per_s_processes']:>9.1f} items/s"
        )
        out = Path(path)
        figures_write(out, figures)
        self.stdout.write(f"  written to {out}")
