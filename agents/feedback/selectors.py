"""Who may read which labeled feedback, and reading it in chunks that stay flat in memory.

A record is one decided item (approved, rejected or auto-accepted). Reads go in chunks: the
items in (decided_at, id) order, then one query per related table for the whole chunk (fields,
documents, reasons, deciding reviews, leases, correction reasons), never one per item and never
the whole set at once. JSON values are read as their JSON text and written out as such (orjson
fragments): exact (no integer past 64 bits turned into a float) and several times cheaper than
Django's JSONField decoding, on millions of values.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    CharField,
    Exists,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from accountability.db import among
from agents.authentication import AgentPrincipal
from agents.models import Agent
from review.assessment import HIDDEN_REASONS
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
    Verdict,
)

DECIDED = (Item.Status.APPROVED, Item.Status.REJECTED, Item.Status.AUTO_ACCEPTED)
# Items per chunk: big enough that the per-chunk queries are a small share of the time, small
# enough to stay a few megabytes. Formats with the documents' text take a quarter as many
# (measured with 4 KB documents: 20 MB of resident memory growth instead of 64 MB).
CHUNK_ITEMS = 2000
TEXT_CHUNK_DIVISOR = 4


@dataclass(frozen=True)
class Scope:
    """What one principal may read: decided items, and what its filters may name."""

    items: QuerySet[Item]
    queues: QuerySet[Queue]
    agents: QuerySet[Agent]


def feedback_scope(principal: Any) -> Scope | None:
    """An agent token reads its own items; staff read everything; a person reads the items of
    the queues they lead and of the agents they own. None: this person may read nothing."""
    decided = Item.objects.filter(status__in=DECIDED, decided_at__isnull=False)
    if isinstance(principal, AgentPrincipal):
        agent = principal.agent
        return Scope(
            decided.filter(agent=agent), agent.queues.all(), Agent.objects.filter(pk=agent.pk)
        )
    if not getattr(principal, "is_authenticated", False):
        return None
    if principal.is_staff or principal.is_superuser:
        return Scope(decided, Queue.objects.all(), Agent.objects.all())
    led = Queue.objects.filter(leads=principal)
    owned = Agent.objects.filter(owner=principal)
    if not led.exists() and not owned.exists():
        return None
    # Subqueries by id, not joins through leads/owner: a join would repeat items per lead.
    led_ids, owned_ids = led.values("pk"), owned.values("pk")
    return Scope(
        items=decided.filter(Q(queue_id__in=led_ids) | Q(agent_id__in=owned_ids)),
        queues=Queue.objects.filter(Q(pk__in=led_ids) | Q(agents__in=owned_ids)).distinct(),
        agents=Agent.objects.filter(Q(pk__in=owned_ids) | Q(queues__in=led_ids)).distinct(),
    )


@dataclass(frozen=True)
class Filters:
    queue: Queue | None = None
    agent: Agent | None = None
    agent_version: str = ""
    since: dt.datetime | None = None  # decided_at >= since
    until: dt.datetime | None = None  # decided_at < until
    verdict: str = ""  # items with at least one field of this verdict
    decision: str = ""  # an Item.Status among DECIDED

    def described(self) -> dict[str, Any]:
        """The filters that were set, as the audit trail records them."""
        values = {
            "queue": self.queue.slug if self.queue else None,
            "agent": self.agent.slug if self.agent else None,
            "agent_version": self.agent_version,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "verdict": self.verdict,
            "decision": self.decision,
        }
        return {name: value for name, value in values.items() if value}


def feedback_items(scope: Scope, filters: Filters) -> QuerySet[Item]:
    items = scope.items
    if filters.queue:
        items = items.filter(queue=filters.queue)
    if filters.agent:
        items = items.filter(agent=filters.agent)
    if filters.agent_version:
        items = items.filter(agent_version=filters.agent_version)
    if filters.since:
        items = items.filter(decided_at__gte=filters.since)
    if filters.until:
        items = items.filter(decided_at__lt=filters.until)
    if filters.decision:
        items = items.filter(status=filters.decision)
    if filters.verdict:
        items = items.filter(with_verdict(filters.verdict))
    return items


def with_verdict(verdict: str) -> Exists:
    return Exists(ItemField.objects.filter(item=OuterRef("pk"), verdict=verdict))


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last record's decision time and id (the read order)."""

    decided_at: dt.datetime
    id: int


def after(items: QuerySet[Item], position: Position | None) -> QuerySet[Item]:
    """Items after position in read order. Written as `decided_at >= d AND (decided_at > d OR
    id > i)` so that an index on (decided_at, id) serves it as one range scan."""
    if position is None:
        return items
    return items.filter(
        Q(decided_at__gte=position.decided_at)
        & (Q(decided_at__gt=position.decided_at) | Q(id__gt=position.id))
    )


class UtcIso(Func):
    """A timestamp as ISO 8601 text in UTC ("...Z"), written by the database: turning it into a
    datetime and back into text took a fifth of an export's Python time."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, conn: Any, **extra: Any) -> tuple[str, list]:
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        )
        return self.as_sql(compiler, conn, template=template, **extra)

    def as_sqlite(self, compiler: Any, conn: Any, **extra: Any) -> tuple[str, list]:
        # Django keeps UTC there as "YYYY-MM-DD HH:MM:SS[.ffffff]".
        template = "REPLACE(%(expressions)s, ' ', 'T') || 'Z'"
        return self.as_sql(compiler, conn, template=template, **extra)


# The item's own columns a record shows, in this order; decided_at as ISO text (UtcIso).
ITEM_COLUMNS = (
    "id",
    "external_id",
    "queue__slug",
    "agent__slug",
    "agent_version",
    "status",
    UtcIso("decided_at"),
    "is_qa_sample",
)


def item_rows(items: QuerySet[Item]) -> QuerySet:
    return items.order_by("decided_at", "id").values_list(*ITEM_COLUMNS)


def position_of(row: tuple) -> Position:
    """Where a page that ends with this item row ends."""
    return Position(dt.datetime.fromisoformat(row[6]), row[0])


@dataclass
class Chunk:
    """Some items (rows of ITEM_COLUMNS) and, by item id, the rows their records show. Related
    rows keep the item id as their first column."""

    items: list[tuple]
    # (item id, id, name, value, confidence, final_value, verdict): values as JSON text
    fields: dict[int, list[tuple]] = field(default_factory=dict)
    # (item id, document id, key, sha256, content_type)
    documents: dict[int, list[tuple]] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)  # by document id, if asked for
    reasons: dict[int, list[tuple]] = field(default_factory=dict)  # (item id, code, field, message)
    deciders: dict[int, tuple[int, bool]] = field(default_factory=dict)  # (user id, override)
    active_seconds: dict[int, float] = field(default_factory=dict)
    correction_reasons: dict[int, str] = field(default_factory=dict)  # by field id


def chunks(
    items: QuerySet[Item], *, size: int | None = None, with_text: bool = False
) -> Iterator[Chunk]:
    """All of items, in read order, a chunk at a time.

    Each chunk is a keyset query after the previous one's last item (the item_decided index
    serves it as a range scan), not one server-side cursor: a cursor held across requests'
    commits (WITH HOLD) makes PostgreSQL compute and store the whole ordered set before the
    first row, seconds for a million items, and the stream would hold it until the end.
    """
    # Records with the documents' text are bigger: fewer per chunk keeps memory flat.
    size = size or max(1, CHUNK_ITEMS // TEXT_CHUNK_DIVISOR if with_text else CHUNK_ITEMS)
    position = None
    while batch := list(item_rows(after(items, position))[:size]):
        yield load_chunk(batch, with_text=with_text)
        if len(batch) < size:
            return
        position = position_of(batch[-1])


def load_chunk(rows: list[tuple], *, with_text: bool = False) -> Chunk:
    """Everything the records of these item rows show, in one query per related table."""
    chunk = Chunk(rows)
    if not rows:
        return chunk
    ids = [row[0] for row in rows]
    reviewed = [row[0] for row in rows if row[5] != Item.Status.AUTO_ACCEPTED]
    chunk.fields = _fields(ids)
    chunk.documents = _documents(ids)
    if with_text:
        # Each distinct document once, however many of the chunk's items cite it.
        cited = {doc[1] for docs in chunk.documents.values() for doc in docs}
        texts = Document.objects.filter(among(list(cited), "id")).values_list("id", "text")
        chunk.texts = dict(texts)
    chunk.reasons = _grouped(
        Reason.objects.filter(among(ids))
        .exclude(code__in=HIDDEN_REASONS)
        .order_by("id")
        .values_list("item_id", "code", "field_name", "message")
    )
    if reviewed:
        chunk.deciders = _deciders(reviewed)
        chunk.active_seconds = _active_seconds(reviewed)
        corrected = [
            f[1] for pk in reviewed for f in chunk.fields.get(pk, ()) if f[6] == Verdict.CORRECTED
        ]
        chunk.correction_reasons = _correction_reasons(corrected)
    return chunk


def _grouped(rows: Iterable[tuple]) -> dict[int, list[tuple]]:
    """{first column: [rows, ...]}, keeping the rows' order."""
    grouped: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


def json_text(column: str) -> Coalesce:
    """A JSON column as its JSON text; SQL NULL (how Django stores None) as "null"."""
    return Coalesce(Cast(column, TextField()), Value("null"), output_field=TextField())


def _fields(ids: list[int]) -> dict[int, list[tuple]]:
    return _grouped(
        ItemField.objects.filter(among(ids))
        .order_by("item_id", "position")
        .values_list(
            "item_id",
            "id",
            "name",
            json_text("value"),
            "confidence",
            json_text("final_value"),
            "verdict",
        )
    )


def _documents(ids: list[int]) -> dict[int, list[tuple]]:
    return _grouped(
        ItemDocument.objects.filter(among(ids))
        .order_by("item_id", "position")
        .values_list("item_id", "document_id", "key", "document__sha256", "document__content_type")
    )


def _deciders(ids: list[int]) -> dict[int, tuple[int, bool]]:
    """Who made each item's standing decision: its latest approve or reject (an override by a
    lead included); escalations decide nothing."""
    rows = (
        Review.objects.filter(
            among(ids), decision__in=[Review.Decision.APPROVE, Review.Decision.REJECT]
        )
        .order_by("decided_at", "id")
        .values_list("item_id", "reviewer_id", "is_override")
    )
    return {item_id: (reviewer_id, override) for item_id, reviewer_id, override in rows}


def _active_seconds(ids: list[int]) -> dict[int, float]:
    """Active review time over every lease on the item: the deciding one and any that were
    released, expired or reassigned before it (people worked on it then too)."""
    rows = (
        Lease.objects.filter(among(ids))
        .values("item_id")
        .annotate(seconds=Sum("active_seconds"))
        .values_list("item_id", "seconds")
        .order_by()
    )
    return dict(rows)


def _correction_reasons(field_ids: list[int]) -> dict[int, str]:
    """Each corrected field's reason, from the latest label that corrected it (an override can
    correct a field a second time)."""
    if not field_ids:
        return {}
    rows = (
        FieldLabel.objects.filter(among(field_ids, "field_id"), verdict=Verdict.CORRECTED)
        .order_by("review__decided_at", "review_id")
        .values_list("field_id", "correction_reason")
    )
    return dict(rows)
