"""manage.py bench_export: stream the labeled-feedback export of many decided items.

On the current database (PostgreSQL, meant to be a throwaway one) it first loads --items
synthetic decided items of one agent with COPY, unless that many are there already: 60 %
auto-accepted, 37.5 % approved (a lease, a review and a label per field; a third of them with a
corrected field), 2.5 % rejected; 8 fields each and one of 500 shared 4 KB documents. Then it
streams each format through the real view (Django's test client, all middleware, the agent's
bearer token) to /dev/null, reporting records/s and how far the process's resident memory grew
above where it started, and times API pages of 1,000.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import resource
import statistics
import time
import tracemalloc
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.test import Client

from accountability.audit import Actor
from accountability.db import json_text
from accountability.models import AuditEvent
from accountability.timing import figures_write
from agents import services as agent_services
from agents.feedback import export
from agents.feedback.forms import cursor_encode
from agents.feedback.selectors import Position
from agents.management.commands.bench_ingest import FIELDS, _document
from agents.models import Agent
from review.bench_data import settle
from review.models import (
    Document,
    FieldLabel,
    Item,
    ItemDocument,
    ItemField,
    Lease,
    Queue,
    Reason,
    Review,
)

SLUG = "bench-export"
DOCUMENTS = 500  # distinct documents the items share (stored once each, like real duplicates)
REVIEWERS = 10
BATCH = 20_000
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Load N decided items (PostgreSQL COPY) and time the feedback export in each format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=1_000_000)
        parser.add_argument("--quick", action="store_true", help="100,000 items.")
        parser.add_argument("--formats", nargs="*", default=list(export.FORMATS))
        parser.add_argument("--pages", type=int, default=20, help="API pages of 1,000 to time.")
        parser.add_argument(
            "--tracemalloc", action="store_true", help="Also trace Python allocations (slower)."
        )
        parser.add_argument("--json", default=".bench/export.json", help="Where figures go.")

    def handle(self, *args: object, **opts: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_export loads with COPY: run it on a PostgreSQL database.")
        wanted = 100_000 if opts["quick"] else opts["items"]
        agent, reviewers = _fixtures()
        loaded = self._load(agent, reviewers, wanted)
        _, token = agent_services.agent_token_create(
            agent=agent, created_by=None, actor=Actor.system("bench_export")
        )
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        # Load URLconf, templates and plans once, so the first format does not pay for it.
        client.get("/api/v1/feedback", {"limit": 1})
        figures: dict[str, Any] = {
            "database": connection.settings_dict["NAME"],
            "items": Item.objects.filter(agent=agent).count(),
            "load_seconds": loaded,
            "exports": [
                self._export(client, name, opts["tracemalloc"]) for name in opts["formats"]
            ],
            "pages": self._pages(client, agent, opts["pages"]),
        }
        self._report(figures, opts["json"])

    # --- loading ---------------------------------------------------------------------------

    def _load(self, agent: Agent, reviewers: list[int], wanted: int) -> float | None:
        present = Item.objects.filter(agent=agent).count()
        if present >= wanted:
            self.stdout.write(f"{present} items already loaded")
            return None
        documents = _documents()
        started = time.perf_counter()
        for first in range(present, wanted, BATCH):
            with transaction.atomic():
                _load_batch(agent, reviewers, documents, range(first, min(first + BATCH, wanted)))
            self.stdout.write(f"  loaded {min(first + BATCH, wanted):>9,} items", ending="\r")
            self.stdout.flush()
        settle()
        seconds = time.perf_counter() - started
        self.stdout.write(f"\nloaded {wanted - present:,} items in {seconds:.1f} s")
        return round(seconds, 1)

    # --- measuring -------------------------------------------------------------------------

    def _export(self, client: Client, name: str, trace: bool) -> dict[str, Any]:
        baseline = _rss()
        peak, size = baseline, 0
        if trace:
            tracemalloc.start()
        started, cpu_started = time.perf_counter(), _cpu()
        response = client.get("/api/v1/feedback/export", {"format": name})
        assert response.status_code == 200, response.content[:300]
        first_byte, chunks = None, 0
        header = 1 if export.FORMATS[name].header else 0  # the first records, not a header
        with open("/dev/null", "wb") as sink:
            for chunk in response.streaming_content:
                if chunks == header:
                    first_byte = time.perf_counter() - started
                sink.write(chunk)
                size += len(chunk)
                chunks += 1
                peak = max(peak, _rss())  # the test client closes the response at the end
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
        traced = tracemalloc.get_traced_memory()[1] if trace else None
        if trace:
            tracemalloc.stop()
        finished = AuditEvent.objects.filter(action="feedback.export.finished").latest("seq")
        records = finished.data["records"]
        self.stdout.write(f"  {name:<11} {records:>9,} records in {seconds:6.1f} s")
        return {
            "format": name,
            "records": records,
            "seconds": round(seconds, 2),
            "records_per_s": round(records / seconds),
            # This process's CPU (PostgreSQL's is not in it): steadier on a busy machine.
            "cpu_seconds": round(cpu, 2),
            "first_byte_s": round(first_byte or 0.0, 3),
            "megabytes": round(size / 1e6, 1),
            "chunks": chunks,
            "rss_growth_mb": round((peak - baseline) / 1e6, 1),
            "peak_rss_mb": round(peak / 1e6, 1),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1),
            "tracemalloc_peak_mb": round(traced / 1e6, 1) if traced is not None else None,
        }

    def _pages(self, client: Client, agent: Agent, count: int) -> dict[str, Any]:
        """Pages of 1,000 from the start, and from the middle of the set."""
        timings: dict[str, list[float]] = {"start": [], "middle": []}
        ordered = Item.objects.filter(agent=agent).order_by("decided_at", "id")
        middle = ordered.values_list("decided_at", "id")[ordered.count() // 2]
        for where, cursor in (("start", ""), ("middle", cursor_encode(Position(*middle)))):
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            url, query = "/api/v1/feedback", params
            for _ in range(count):
                started = time.perf_counter()
                body = client.get(url, query).json()
                timings[where].append(time.perf_counter() - started)
                if not body["next"]:
                    break
                url, query = body["next"], None
        return {
            where: {
                "pages": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
                "records_per_s": round(1000 / statistics.median(values)),
            }
            for where, values in timings.items()
            if values
        }

    def _report(self, figures: dict[str, Any], path: str) -> None:
        self.stdout.write(
            f"\nFeedback export on {figures['database']}: {figures['items']:,} decided items"
        )
        self.stdout.write(
            f"  {'format':<11} {'records':>9} {'seconds':>8} {'records/s':>10} "
            f"{'CPU s':>6} {'first byte':>10} {'MB':>7} {'RSS growth':>11}"
        )
        for e in figures["exports"]:
            self.stdout.write(
                f"  {e['format']:<11} {e['records']:>9,} {e['seconds']:>8.1f} "
                f"{e['records_per_s']:>10,} {e['cpu_seconds']:>6.1f} {e['first_byte_s']:>9.2f}s "
                f"{e['megabytes']:>7.1f} "
                f"{e['rss_growth_mb']:>8.1f} MB"
            )
        for where, p in figures["pages"].items():
            self.stdout.write(
                f"  API pages of 1,000 from the {where}: p50 {p['p50_ms']} ms, "
                f"max {p['max_ms']} ms ({p['pages']} pages, {p['records_per_s']:,} records/s)"
            )
        out = Path(path)
        figures_write(out, figures)
        self.stdout.write(f"  written to {out}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> int:
    """Resident memory now, in bytes (Linux); ru_maxrss only ever grows, so it cannot show
    growth during one export after an earlier, larger peak (the loading)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


# --- synthetic data ------------------------------------------------------------------------------


def _fixtures() -> tuple[Agent, list[int]]:
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username=f"{SLUG}-owner")
    reviewers = [
        User.objects.get_or_create(username=f"{SLUG}-reviewer-{n}")[0].pk for n in range(REVIEWERS)
    ]
    queue, _ = Queue.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "Export benchmark",
            "field_schema": [{"name": n, "type": kind, "required": True} for n, _, kind in FIELDS],
        },
    )
    agent, _ = Agent.objects.get_or_create(
        slug=f"{SLUG}-bot", defaults={"name": "Export benchmark bot", "owner": owner}
    )
    agent.queues.add(queue)
    return agent, reviewers


def _documents() -> list[int]:
    texts = [_document(n) for n in range(DOCUMENTS)]
    shas = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
    Document.objects.bulk_create(
        [
            Document(sha256=sha, content_type="text/plain", text=text, size_bytes=len(text))
            for sha, text in zip(shas, texts, strict=True)
        ],
        ignore_conflicts=True,
    )
    ids = dict(Document.objects.filter(sha256__in=shas).values_list("sha256", "id"))
    return [ids[sha] for sha in shas]


class Copy:
    """COPY rows into a model's table: the columns given per row, then every other column at
    its model default (so a field added later needs no change here)."""

    def __init__(self, model: type[models.Model], given: Sequence[str]) -> None:
        now = dt.datetime.now(dt.UTC)
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in given and not f.primary_key]
        # A unique column's default (a lease token) must be drawn per row; the rest once.
        self.fixed = [f for f in rest if not f.unique]
        self.drawn = [f for f in rest if f.unique]
        names = [*given, *(f.attname for f in self.fixed), *(f.attname for f in self.drawn)]
        self.table = connection.ops.quote_name(model._meta.db_table)
        self.columns = ", ".join(connection.ops.quote_name(fields[n].column) for n in names)
        self.defaults = tuple(_column_value(f, _default(f, now)) for f in self.fixed)

    def write(self, rows: Iterable[tuple]) -> None:
        defaults, drawn = self.defaults, self.drawn
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row((*row, *defaults, *(f.get_default() for f in drawn)))


def _default(field: models.Field, now: dt.datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


def _column_value(field: models.Field, value: Any) -> Any:
    if isinstance(field, models.JSONField):
        return None if value is None else json_text(value)
    return value


def _reserve(model: type[models.Model], count: int) -> int:
    """The first of count consecutive ids, drawn from the table's sequence in one step."""
    if count == 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [model._meta.db_table, model._meta.db_table, count],
        )
        return cursor.fetchone()[0] - count + 1


def _plan(n: int) -> tuple[str, bool, bool]:
    """Item n's outcome: its status, whether a field was corrected, whether it is a QA sample."""
    if n % 10 < 6:
        return Item.Status.AUTO_ACCEPTED, False, False
    rejected = n % 10 == 9 and (n // 10) % 4 == 0
    status = Item.Status.REJECTED if rejected else Item.Status.APPROVED
    return status, status == Item.Status.APPROVED and n % 3 == 0, n % 50 == 7


def _load_batch(agent: Agent, reviewers: list[int], documents: list[int], numbers: range) -> None:
    queue = agent.queues.get(slug=SLUG)
    plans = [(n, *_plan(n)) for n in numbers]
    reviewed = [p for p in plans if p[1] != Item.Status.AUTO_ACCEPTED]
    item0 = _reserve(Item, len(plans))
    field0 = _reserve(ItemField, len(plans) * FIELD_COUNT)
    lease0, review0 = _reserve(Lease, len(reviewed)), _reserve(Review, len(reviewed))
    item_id = {n: item0 + i for i, (n, *_) in enumerate(plans)}
    # Four items share each decision time, so paging must break ties by id.
    decided = {n: START + dt.timedelta(seconds=n // 4) for n, *_ in plans}

    Copy(Item, ITEM_COLUMNS).write(
        (
            item_id[n], queue.pk, agent.pk, f"v{1 + n // 250_000}.0", f"bench-{n}", "0" * 64,
            status, qa, decided[n], decided[n] - dt.timedelta(minutes=5),
            decided[n] + dt.timedelta(hours=4), 1,
        )
        for n, status, _, qa in plans
    )  # fmt: skip
    Copy(ItemDocument, ["item_id", "document_id", "key", "position"]).write(
        (item_id[n], documents[n % DOCUMENTS], "form", 0) for n, *_ in plans
    )
    Copy(ItemField, FIELD_COLUMNS).write(
        row
        for i, plan in enumerate(plans)
        for row in _field_rows(plan, item_id, field0 + i * FIELD_COUNT)
    )
    Copy(Reason, ["item_id", "code", "field_name", "message", "blocking"]).write(
        (item_id[n], "low_confidence", "amount", "Confidence 60 % is under 85 %.", True)
        for n, *_ in reviewed
    )
    _load_reviews(reviewed, reviewers, item_id, decided, lease0, review0)
    _load_labels(plans, item_id, field0, review0)


ITEM_COLUMNS = [
    "id", "queue_id", "agent_id", "agent_version", "external_id", "payload_sha256", "status",
    "is_qa_sample", "decided_at", "created_at", "due_at", "policy_version",
]  # fmt: skip
FIELD_COLUMNS = ["id", "item_id", "position", "name", "value", "confidence", "final_value"]
FIELD_COLUMNS += ["verdict"]
CORRECTED_FIELD = 3  # "amount"
FIELD_COUNT = len(FIELDS)


def _field_value(n: int, i: int) -> Any:
    template = FIELDS[i][1]
    return template.format(n=n) if isinstance(template, str) else template


def _field_rows(plan: tuple, item_id: dict[int, int], first: int) -> Iterable[tuple]:
    n, status, corrected, _ = plan
    for i, (name, _, _) in enumerate(FIELDS):
        value = json_text(_field_value(n, i))
        if status == Item.Status.AUTO_ACCEPTED or status == Item.Status.REJECTED:
            final, verdict = None, ""
        elif corrected and i == CORRECTED_FIELD:
            final, verdict = json_text(1205.5), "corrected"
        else:
            final, verdict = value, "correct"
        confidence = 0.6 if status != Item.Status.AUTO_ACCEPTED and i == CORRECTED_FIELD else 0.97
        yield first + i, item_id[n], i, name, value, confidence, final, verdict


def _load_reviews(
    reviewed: list[tuple],
    reviewers: list[int],
    item_id: dict[int, int],
    decided: dict[int, dt.datetime],
    lease0: int,
    review0: int,
) -> None:
    Copy(
        Lease,
        ["id", "item_id", "reviewer_id", "claimed_at", "expires_at", "ended_at", "end"]
        + ["active_seconds", "last_seen_at"],
    ).write(
        (
            lease0 + k, item_id[n], reviewers[n % REVIEWERS], decided[n] - dt.timedelta(seconds=45),
            decided[n] + dt.timedelta(minutes=10), decided[n], Lease.End.DECIDED,
            30.0 + n % 20, decided[n],
        )
        for k, (n, *_) in enumerate(reviewed)
    )  # fmt: skip
    Copy(
        Review,
        ["id", "item_id", "lease_id", "reviewer_id", "decision", "reason", "started_at"]
        + ["decided_at", "active_seconds", "is_override"],
    ).write(
        (
            review0 + k, item_id[n], lease0 + k, reviewers[n % REVIEWERS],
            Review.Decision.REJECT if status == Item.Status.REJECTED else Review.Decision.APPROVE,
            "illegible" if status == Item.Status.REJECTED else "",
            decided[n] - dt.timedelta(seconds=45), decided[n], 30.0 + n % 20, n % 200 == 6,
        )
        for k, (n, status, *_) in enumerate(reviewed)
    )  # fmt: skip


def _load_labels(plans: list[tuple], item_id: dict[int, int], field0: int, review0: int) -> None:
    rows = []
    k = -1
    for i, (n, status, corrected, _) in enumerate(plans):
        if status == Item.Status.AUTO_ACCEPTED:
            continue
        k += 1
        if status == Item.Status.REJECTED:
            continue  # rejected without field verdicts
        for f in range(FIELD_COUNT):
            value = json_text(_field_value(n, f))
            if corrected and f == CORRECTED_FIELD:
                label = ("corrected", value, "1205.5", "misread")
            else:
                label = ("correct", value, value, "")
            rows.append((review0 + k, field0 + i * FIELD_COUNT + f, *label))
    Copy(
        FieldLabel,
        ["review_id", "field_id", "verdict", "original_value", "final_value", "correction_reason"],
    ).write(rows)
