"""Labeled feedback as bytes: one record per decided item, in four formats, streamed by chunk.

- `jsonl`: one JSON record per line (the API's page records, see `ItemRecords.record`).
- `csv`: one row per field, the item's columns repeated on each (an item without fields gets
  one row with the field columns empty). Text cells that a spreadsheet would run as a formula
  (starting with = + - @, tab or CR) get a leading apostrophe; JSONL carries the exact values.
- `supervised`: `{"input", "output", "meta"}` for approved and auto-accepted items: the
  documents' text under `## key` headers, and the standing output `{field: final value}`.
- `preference`: `{"prompt", "chosen", "rejected", "meta"}` for approved items with at least one
  corrected field: the corrected output against the agent's own.

Every export is audited twice (the count is not known until the stream ends):
`feedback.exported` with the format and filters before the first byte, and
`feedback.export.finished` with the number of records and whether the client read to the end.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from orjson import Fragment

from accountability.audit import Actor, audit_log
from accountability.collector import collector_paused
from accountability.models import AuditEvent
from agents.authentication import AgentPrincipal
from agents.feedback import selectors
from agents.feedback.selectors import Chunk, Filters, Position
from review.models import Item, Verdict

logger = logging.getLogger(__name__)

AUTO_ACCEPTED = Item.Status.AUTO_ACCEPTED
REJECTED = Item.Status.REJECTED
JSON_OPTIONS = orjson.OPT_APPEND_NEWLINE
# The purpose string of the reviewer pseudonym's key: a different purpose, a different key.
PSEUDONYM_PURPOSE = "accountability.feedback.reviewer"


def reviewer_pseudonym(user_id: int) -> str:
    """The same id for the same reviewer in every export, which reveals neither the username nor
    the user id: HMAC-SHA256 of the id under a key derived from SECRET_KEY and the purpose,
    truncated to 64 bits. Rotating SECRET_KEY changes every pseudonym."""
    return salted_hmac(PSEUDONYM_PURPOSE, str(user_id), algorithm="sha256").hexdigest()[:16]


@dataclass
class ItemRecords:
    """Turns a chunk's rows into records. One per export: it caches pseudonyms."""

    document_url: Callable[[int], str]
    _pseudonyms: dict[int, str] = field(default_factory=dict)

    def reviewer(self, chunk: Chunk, item_id: int) -> str | None:
        decider = chunk.deciders.get(item_id)
        if decider is None:
            return None
        if decider[0] not in self._pseudonyms:
            self._pseudonyms[decider[0]] = reviewer_pseudonym(decider[0])
        return self._pseudonyms[decider[0]]

    def record(self, chunk: Chunk, row: tuple) -> dict[str, Any]:
        item_id, external_id, queue, agent, version, status, decided_at, qa_sample = row
        reasons = chunk.correction_reasons
        return {
            "id": item_id,
            "external_id": external_id,
            "queue": queue,
            "agent": agent,
            "agent_version": version,
            "decision": status,
            "reviewed": status != AUTO_ACCEPTED,
            "decided_at": decided_at,
            "active_review_seconds": round(chunk.active_seconds.get(item_id) or 0.0, 1),
            "qa_sample": qa_sample,
            "override": chunk.deciders.get(item_id, (None, False))[1],
            "reviewer": self.reviewer(chunk, item_id),
            "documents": [
                {
                    "id": doc_id,
                    "key": key,
                    "sha256": sha256,
                    "content_type": content_type,
                    "url": self.document_url(doc_id),
                }
                for _, doc_id, key, sha256, content_type, *_ in chunk.documents.get(item_id, ())
            ],
            "fields": [
                {
                    "name": name,
                    "predicted_value": Fragment(value),
                    "confidence": confidence,
                    "final_value": Fragment(standing(status, value, final, verdict)),
                    "verdict": verdict or None,
                    "correction_reason": reasons.get(pk),
                }
                for _, pk, name, value, confidence, final, verdict in chunk.fields.get(item_id, ())
            ],
            "reasons": [
                {"code": code, "field": field_name or None, "message": message}
                for _, code, field_name, message in chunk.reasons.get(item_id, ())
            ],
        }


def standing(status: str, value: str, final: str, verdict: str) -> str:
    """The value that stands for a field (JSON text): the reviewer's once labelled (null when
    not determinable); unlabelled, the agent's in an accepted item, nothing in a rejected one."""
    if verdict:
        return final
    return "null" if status == REJECTED else value


def dumps_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=JSON_OPTIONS)


class Lines:
    """JSON lines gathered into one chunk of bytes.

    Each line is copied in and dropped at once: orjson's result keeps the capacity it reserved
    while writing (measured: 65 KB for a line with 4 KB of text), so a list of 2,000 lines held
    100 MB where their bytes needed 9.
    """

    def __init__(self) -> None:
        self.buffer, self.count = bytearray(), 0

    def add(self, record: dict[str, Any]) -> None:
        self.buffer += dumps_line(record)
        self.count += 1

    def result(self) -> tuple[bytes, int]:
        return bytes(self.buffer), self.count


# --- the formats -------------------------------------------------------------------------------


def jsonl_chunk(chunk: Chunk, records: ItemRecords) -> tuple[bytes, int]:
    lines = Lines()
    for row in chunk.items:
        lines.add(records.record(chunk, row))
    return lines.result()


ITEM_CSV_COLUMNS = [
    "item_id",
    "external_id",
    "queue",
    "agent",
    "agent_version",
    "decision",
    "reviewed",
    "decided_at",
    "active_review_seconds",
    "qa_sample",
    "override",
    "reviewer",
    "document_ids",
    "item_reasons",
]
FIELD_CSV_COLUMNS = [
    "field",
    "predicted_value",
    "confidence",
    "final_value",
    "verdict",
    "correction_reason",
    "field_reasons",
]
CSV_COLUMNS = ITEM_CSV_COLUMNS + FIELD_CSV_COLUMNS
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str | None) -> str:
    """A spreadsheet must not run a cell as a formula: such text gets a leading apostrophe."""
    if not text:
        return ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def json_cell(text: str) -> str:
    """A JSON value as a cell: a string as itself, null as empty, anything else as its JSON
    text (numbers exactly as stored)."""
    if text[:1] == '"':
        return text_cell(orjson.loads(text))
    return "" if text == "null" else text


def flag(value: bool) -> str:
    return "true" if value else "false"


def csv_chunk(chunk: Chunk, records: ItemRecords) -> tuple[bytes, int]:
    # The item's columns are quoted once and start each of its field lines: with every line
    # ending in CRLF, prefix + prefix.join(lines) is the prefix before each line.
    pieces: list[str] = []
    for row in chunk.items:
        [item_line] = csv_lines([_csv_item_columns(chunk, records, row)], len(ITEM_CSV_COLUMNS))
        prefix = item_line[:-2] + ","
        lines = csv_lines(_csv_field_cells(chunk, row), len(FIELD_CSV_COLUMNS))
        pieces += (prefix, prefix.join(lines))
    return "".join(pieces).encode(), len(chunk.items)


def csv_lines(rows: list[tuple[str, ...]], width: int) -> list[str]:
    """Rows of width text cells as CSV lines, the bytes csv.writer writes (minimal quoting, CRLF).

    The csv module looks up every character of every cell in its line terminator: a third of a
    CSV export's instructions (measured with callgrind). Most rows need no quoting, and then the
    cells joined with commas are those bytes: no cell holds a comma, a quote or a line break when
    the lines hold only their own separators.
    """
    lines = [",".join(cells) + "\r\n" for cells in rows]
    text, count = "".join(lines), len(lines)
    plain = (
        width > 1  # csv quotes a row's only cell when it is empty
        and '"' not in text
        and text.count(",") == (width - 1) * count
        and text.count("\n") == count == text.count("\r")
    )
    if plain:
        return lines
    quoted: list[str] = []
    csv.writer(_LineSink(quoted.append), lineterminator="\r\n").writerows(rows)
    return quoted


@dataclass(frozen=True)
class _LineSink:
    """The file a csv writer writes its lines to: write=list.append keeps them."""

    write: Callable[[str], Any]


def _csv_field_cells(chunk: Chunk, row: tuple) -> list[tuple[str, ...]]:
    """The field columns of the item's rows, one row per field (one empty row if none)."""
    item_id, status = row[0], row[5]
    fields = chunk.fields.get(item_id)
    if not fields:
        return [("",) * len(FIELD_CSV_COLUMNS)]
    field_reasons = _codes_by_field(chunk.reasons.get(item_id, ()))
    correction_reasons = chunk.correction_reasons
    cells = []
    for _, pk, name, value, confidence, final, verdict in fields:
        predicted = json_cell(value)
        # The standing value is most often the agent's own, whose cell is made already: a JSON
        # decode saved on most fields.
        stands = standing(status, value, final, verdict)
        final_cell = predicted if stands == value else json_cell(stands)
        cells.append(
            (
                name,
                predicted,
                "" if confidence is None else str(confidence),  # as csv.writer would
                final_cell,
                verdict,
                correction_reasons.get(pk, ""),
                field_reasons.get(name, ""),
            )
        )
    return cells


def _codes_by_field(reasons: Iterable[tuple]) -> dict[str, str]:
    codes: dict[str, list[str]] = {}
    for _, code, name, _ in reasons:
        if name:
            codes.setdefault(name, []).append(code)
    return {name: " ".join(found) for name, found in codes.items()}


def _csv_item_columns(chunk: Chunk, records: ItemRecords, row: tuple) -> tuple[str, ...]:
    item_id, external_id, queue, agent, version, status, decided_at, qa_sample = row
    return (
        str(item_id),
        text_cell(external_id),
        queue,
        agent,
        text_cell(version),
        status,
        flag(status != AUTO_ACCEPTED),
        decided_at,
        str(round(chunk.active_seconds.get(item_id) or 0.0, 1)),
        flag(qa_sample),
        flag(chunk.deciders.get(item_id, (None, False))[1]),
        records.reviewer(chunk, item_id) or "",
        " ".join([str(doc[1]) for doc in chunk.documents.get(item_id, ())]),
        " ".join([r[1] for r in chunk.reasons.get(item_id, ()) if not r[2]]),
    )


def prompt(chunk: Chunk, item_id: int) -> str:
    """The item's documents' text, each under its key as a header, in the item's order."""
    documents = chunk.documents.get(item_id, ())
    return "\n\n".join(f"## {doc[2]}\n{chunk.texts.get(doc[1], '')}" for doc in documents)


def _outputs(chunk: Chunk, row: tuple) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The item's standing output, the agent's own, and the names of corrected fields."""
    status = row[5]
    standing_output, agents, corrected = {}, {}, []
    for _, _, name, value, _, final, verdict in chunk.fields.get(row[0], ()):
        agents[name] = Fragment(value)
        standing_output[name] = Fragment(standing(status, value, final, verdict))
        if verdict == Verdict.CORRECTED:
            corrected.append(name)
    return standing_output, agents, corrected


def _meta(row: tuple, corrected: list[str]) -> dict[str, Any]:
    item_id, external_id, queue, agent, version, status, decided_at, _ = row
    return {
        "id": item_id,
        "external_id": external_id,
        "queue": queue,
        "agent": agent,
        "agent_version": version,
        "decision": status,
        "reviewed": status != AUTO_ACCEPTED,
        "decided_at": decided_at,
        "corrected_fields": corrected,
    }


def supervised_chunk(chunk: Chunk, records: ItemRecords) -> tuple[bytes, int]:
    lines = Lines()
    for row in chunk.items:
        output, _, corrected = _outputs(chunk, row)
        text = prompt(chunk, row[0])
        lines.add({"input": text, "output": output, "meta": _meta(row, corrected)})
    return lines.result()


def preference_chunk(chunk: Chunk, records: ItemRecords) -> tuple[bytes, int]:
    lines = Lines()
    for row in chunk.items:
        output, agents, corrected = _outputs(chunk, row)
        if not corrected:  # the query selects corrected items; a concurrent override may not
            continue
        record = {
            "prompt": prompt(chunk, row[0]),
            "chosen": output,
            "rejected": agents,
            "meta": _meta(row, corrected),
        }
        lines.add(record)
    return lines.result()


@dataclass(frozen=True)
class Format:
    name: str
    filename_suffix: str
    content_type: str
    write: Callable[[Chunk, ItemRecords], tuple[bytes, int]]
    with_text: bool = False  # reads the documents' text
    header: bytes = b""
    # Narrows the items to those the format can use.
    narrow: Callable[[QuerySet[Item]], QuerySet[Item]] = lambda items: items


def _csv_header() -> bytes:
    return csv_lines([tuple(CSV_COLUMNS)], len(CSV_COLUMNS))[0].encode()


NDJSON = "application/x-ndjson"
FORMATS = {
    f.name: f
    for f in [
        Format("jsonl", ".jsonl", NDJSON, jsonl_chunk),
        Format("csv", ".csv", "text/csv; charset=utf-8", csv_chunk, header=_csv_header()),
        Format(
            "supervised",
            "-supervised.jsonl",
            NDJSON,
            supervised_chunk,
            with_text=True,
            narrow=lambda items: items.filter(
                status__in=[Item.Status.APPROVED, Item.Status.AUTO_ACCEPTED]
            ),
        ),
        Format(
            "preference",
            "-preference.jsonl",
            NDJSON,
            preference_chunk,
            with_text=True,
            narrow=lambda items: items.filter(
                selectors.with_verdict(Verdict.CORRECTED), status=Item.Status.APPROVED
            ),
        ),
    ]
}


# --- the stream and its audit trail --------------------------------------------------------------


def document_url_maker(request: HttpRequest) -> Callable[[int], str]:
    """Absolute document URLs without a reverse() per record."""
    marker = 987654321987654321
    template = request.build_absolute_uri(reverse("api:feedback-document", args=[marker]))
    prefix, suffix = template.split(str(marker))
    return lambda pk: f"{prefix}{pk}{suffix}"


def _actor_and_target(principal: Any) -> tuple[Actor, models.Model]:
    """Exports are filed under who made them: the agent, or the person's user record."""
    if isinstance(principal, AgentPrincipal):
        return Actor.agent(principal.agent), principal.agent
    return Actor.user(principal), principal


def export_started(*, principal: Any, fmt: Format, filters: Filters) -> AuditEvent:
    actor, target = _actor_and_target(principal)
    with transaction.atomic():
        return audit_log(
            obj=target,
            action="feedback.exported",
            actor=actor,
            data={"format": fmt.name, "filters": filters.described()},
        )


def export_finished(
    *, principal: Any, started: AuditEvent, records: int, complete: bool
) -> AuditEvent:
    actor, target = _actor_and_target(principal)
    with transaction.atomic():
        return audit_log(
            obj=target,
            action="feedback.export.finished",
            actor=actor,
            data={"export_seq": started.seq, "records": records, "complete": complete},
        )


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    last: Position | None  # where the next page starts
    more: bool


def read_page(
    *,
    principal: Any,
    items: QuerySet[Item],
    filters: Filters,
    after: Position | None,
    limit: int,
    records: ItemRecords,
) -> Page:
    """Up to limit records after a position, audited as one read with its exact count."""
    rows = list(selectors.item_rows(selectors.after(items, after))[: limit + 1])
    more, rows = len(rows) > limit, rows[:limit]
    chunk = selectors.load_chunk(rows)
    actor, target = _actor_and_target(principal)
    with transaction.atomic():
        audit_log(
            obj=target,
            action="feedback.read",
            actor=actor,
            data={
                "filters": filters.described(),
                "limit": limit,
                "after": [after.decided_at.isoformat(), after.id] if after else None,
                "records": len(rows),
            },
        )
    last = selectors.position_of(rows[-1]) if rows else after
    return Page([records.record(chunk, row) for row in rows], last, more)


def export_stream(
    *, items: QuerySet[Item], fmt: Format, records: ItemRecords, on_end: Callable[[int, bool], None]
) -> Generator[bytes, None, None]:
    """The export's bytes, a chunk at a time; on_end(records, complete) runs however it ends,
    also when the client goes away (the server closes this generator)."""
    count, complete = 0, False
    source = selectors.chunks(fmt.narrow(items), with_text=fmt.with_text)
    try:
        if fmt.header:
            yield fmt.header
        while True:
            with collector_paused():  # a chunk's rows hold no cycles; not across the yield
                chunk = next(source, None)
                if chunk is None:
                    break
                body, written = fmt.write(chunk, records)
                del chunk
            count += written
            if body:
                yield body
        complete = True
    finally:
        source.close()  # the server-side cursor first: on_end writes to the same connection
        try:
            on_end(count, complete)
        except DatabaseError:  # the stream itself may have failed on a lost connection
            logger.exception("could not audit the end of a feedback export")


def filename(fmt: Format, principal: Any, filters: Filters) -> str:
    if isinstance(principal, AgentPrincipal):
        subject = principal.agent.slug
    elif filters.agent or filters.queue:
        subject = (filters.agent or filters.queue).slug
    else:
        subject = "all"
    return f"feedback-{subject}-{timezone.now():%Y%m%d-%H%M%S}{fmt.filename_suffix}"


def download(
    request: HttpRequest, *, principal: Any, items: QuerySet[Item], fmt: Format, filters: Filters
) -> StreamingHttpResponse:
    """The whole export as a streamed download, audited before the first byte and at the end."""
    started = export_started(principal=principal, fmt=fmt, filters=filters)

    def on_end(count: int, complete: bool) -> None:
        export_finished(principal=principal, started=started, records=count, complete=complete)

    body = export_stream(
        items=items,
        fmt=fmt,
        records=ItemRecords(document_url_maker(request)),
        on_end=on_end,
    )
    response = StreamingHttpResponse(
        in_thread(body) if _is_asgi(request) else body, content_type=fmt.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{filename(fmt, principal, filters)}"'
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy must pass chunks on, not collect them
    return response


def _is_asgi(request: HttpRequest) -> bool:
    return isinstance(getattr(request, "_request", request), ASGIRequest)


async def in_thread(chunks: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    """A sync stream served under ASGI one chunk at a time.

    Django's ASGI handler would read a sync iterator to the end into a list before sending
    anything. Each chunk is produced in the request's own sync thread (thread_sensitive), so
    the database connection and its server-side cursor stay the same throughout.
    """
    step = sync_to_async(_next_or_none, thread_sensitive=True)
    try:
        while (chunk := await step(chunks)) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=True)()


def _next_or_none(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)
