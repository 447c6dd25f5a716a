"""Ingest: agent outputs in, assessed, routed and written with their audit events.

One code path serves the single and the batch endpoint. A batch is parsed and assessed in
Python, then written with bulk inserts in one transaction; if a concurrent request inserted
one of the same external ids first, the batch falls back to one transaction per item, so
every item still gets its own correct answer and nothing is written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accountability import db
from accountability.audit import Actor, audit_append, audit_event, audit_head_lock
from accountability.db import json_bytes_sorted
from agents.calibration.selectors import Calibrated, calibration_for
from agents.models import Agent, WebhookEndpoint
from agents.webhooks.outbox import agent_endpoint_statement, webhook_deliveries_auto_accepted
from review import events
from review.assessment import (
    ReasonDraft,
    Routing,
    Submission,
    assess,
    automation_stopped,
    route,
)
from review.models import Document, Item, ItemDocument, ItemField, Queue, Reason
from review.services.files import (
    WAITING_DOCUMENT,
    resolve_files,
    unreadable_documents,
)

if TYPE_CHECKING:
    from agents.payload import ItemIn


class IngestOutcome(StrEnum):
    CREATED = "created"  # new item written
    REPLAYED = "replayed"  # same external_id, same payload: the first result again
    CONFLICT = "conflict"  # same external_id, different payload
    INVALID = "invalid"  # refers to something that does not exist (an unknown queue)
    FORBIDDEN = "forbidden"  # a queue this agent may not post to
    TOO_LARGE = "too_large"  # an inline file over the document limits
    UNSUPPORTED = "unsupported"  # an inline file of a type we do not take


@dataclass
class IngestResult:
    outcome: IngestOutcome
    item: Item | None = None
    reasons: list[Reason] | list[ReasonDraft] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""


def payload_sha256(raw: dict) -> str:
    """The payload's fingerprint, the same whatever the order of its keys."""
    return hashlib.sha256(json_bytes_sorted(raw)).hexdigest()


@dataclass
class _Pending:
    """An item that passed every check and waits to be written."""

    index: int
    payload: ItemIn
    queue: Queue
    sha256: str
    item: Item | None = None
    reasons: list[ReasonDraft] = field(default_factory=list)
    document_shas: list[str | None] = field(default_factory=list)
    files: dict[str, Document] = field(default_factory=dict)  # key -> a stored file document
    calibrated: dict[str, Calibrated] = field(default_factory=dict)  # field name -> calibrated


def items_ingest(
    *,
    agent: Agent,
    payloads: list[ItemIn],
    rng: random.Random | None = None,
    postable: dict[str, Queue] | None = None,
) -> list[IngestResult]:
    """Assess, route and store each payload; return one result per payload, in order.

    Safe to call twice with the same payloads: the second call replays the first results.
    postable: the queues the agent may post to, by slug, if the caller read them already (the
    token authentication does, in its round trip); a queue named outside them is looked up.
    """
    results: list[IngestResult | None] = [None] * len(payloads)
    queues = _queues_for(agent, {p.queue for p in payloads}, postable or {})
    pending: list[_Pending] = []
    for index, payload in enumerate(payloads):
        queue = queues.get(payload.queue)
        if queue is None:
            results[index] = IngestResult(
                IngestOutcome.INVALID, errors={"queue": [f"no queue with slug {payload.queue!r}"]}
            )
        elif not queue.allowed:
            results[index] = IngestResult(
                IngestOutcome.FORBIDDEN,
                message=f"Agent {agent.slug} may not post to queue {queue.slug}.",
            )
        else:
            pending.append(_Pending(index, payload, queue, payload_sha256(payload.raw)))
    # A single new item is written straight away; a repeat shows up as a unique violation.
    # Not when it carries an inline file: storing that again would be wasted work.
    inline_files = any(doc.data is not None for p in pending for doc in p.payload.documents)
    look_first = len(pending) > 1 or inline_files
    for index, result in _resolve(agent, pending, rng, look_first=look_first).items():
        results[index] = result
    return results  # type: ignore[return-value]


def _queues_for(agent: Agent, slugs: set[str], postable: dict[str, Queue]) -> dict[str, Queue]:
    """The queues named, by slug, each with `allowed`: whether the agent may post to it. From
    postable when every one is there; else plain SQL in one round trip (the ORM's version took
    longer to build than the ingest's inserts)."""
    if slugs <= postable.keys():
        for slug in slugs:
            postable[slug].allowed = True
        return {slug: postable[slug] for slug in slugs}
    marks = db.marks(slugs)
    may_post = Agent.queues.through._meta.db_table
    queue_rows, allowed_rows = db.batch(
        [
            db.select_statement(Queue, f"slug IN ({marks})", [*slugs]),
            (
                f"""SELECT queue_id FROM {may_post} WHERE agent_id = %s AND queue_id IN
                    (SELECT id FROM {Queue._meta.db_table} WHERE slug IN ({marks}))""",  # noqa: S608
                [agent.pk, *slugs],
            ),
        ]
    )
    allowed = {queue_id for (queue_id,) in allowed_rows}
    queues = db.instances_of(Queue, queue_rows)
    for queue in queues:
        queue.allowed = queue.pk in allowed
    return {queue.slug: queue for queue in queues}


def _resolve(
    agent: Agent,
    pending: list[_Pending],
    rng: random.Random | None,
    *,
    look_first: bool = True,
    retry: bool = True,
) -> dict[int, IngestResult]:
    """Answer repeats from what exists, write the rest.

    Without look_first the write is tried straight away and a repeat shows up as a unique
    violation, answered by looking then: one round trip less for the common single new item.
    A write that fails that way is retried once, item by item, after looking; a retry that
    fails again is no race and is raised (rather than retried for ever).
    """
    results: dict[int, IngestResult] = {}
    external_ids = [p.payload.external_id for p in pending]
    existing = _existing_items(agent, external_ids) if look_first else {}
    fresh: list[_Pending] = []
    first_in_batch: dict[str, _Pending] = {}
    for p in pending:
        external_id = p.payload.external_id
        if external_id in existing:
            results[p.index] = _repeat(existing[external_id], p.sha256)
        elif external_id in first_in_batch:
            # The same id twice in one batch: the later one repeats the earlier.
            results[p.index] = IngestResult(IngestOutcome.REPLAYED)  # filled in after writing
        else:
            first_in_batch[external_id] = p
            fresh.append(p)
    fresh, refusals = resolve_files(agent, fresh)
    for refusal in refusals:
        results[refusal.index] = IngestResult(
            IngestOutcome(refusal.kind), errors=refusal.errors, message=refusal.message
        )
    if fresh:
        try:
            results.update(_write(agent, fresh, rng))
        except IntegrityError:
            # Another request inserted one of these external ids (or documents) after our
            # lookup: look again, item by item.
            if not retry:
                raise
            for p in fresh:
                results.update(_resolve(agent, [p], rng, retry=False))
    for p in pending:
        result = results[p.index]
        if result.outcome == IngestOutcome.REPLAYED and result.item is None:
            first = results[first_in_batch[p.payload.external_id].index]
            results[p.index] = _repeat(first.item, p.sha256) if first.item else first
    return results


def _existing_items(agent: Agent, external_ids: list[str]) -> dict[str, Item]:
    if not external_ids:
        return {}
    items = Item.objects.filter(agent=agent, external_id__in=external_ids)
    if connection.vendor == "postgresql":
        # Nearly always none: asked as one array parameter (0.5 ms for a 500-item batch, where
        # the ORM's IN list of 500 took 1.9 ms), and as instances only for what it finds.
        table = Item._meta.db_table
        found = db.values(
            f"SELECT id FROM {table} WHERE agent_id = %s AND external_id = ANY(%s)",  # noqa: S608
            [agent.pk, external_ids],
        )
        if not found:
            return {}
        items = Item.objects.filter(pk__in=[pk for (pk,) in found])
    return {item.external_id: item for item in items.prefetch_related("reasons")}


def _repeat(item: Item, sha256: str) -> IngestResult:
    if item.payload_sha256 != sha256:
        return IngestResult(
            IngestOutcome.CONFLICT,
            item=item,
            message=(
                f"external_id {item.external_id!r} was already used for item {item.pk} with a "
                "different payload. Send a new external_id for a new output."
            ),
        )
    return IngestResult(IngestOutcome.REPLAYED, item=item, reasons=list(item.reasons.all()))


def _submission(p: _Pending) -> Submission | None:
    """What the assessment reads; None while a file is still being processed."""
    texts: dict[str, str] = {}
    for doc in p.payload.documents:
        if doc.text is not None:
            texts[doc.key] = doc.text
        elif p.files[doc.key].status in WAITING_DOCUMENT:
            return None
        else:
            texts[doc.key] = p.files[doc.key].text
    return Submission(
        fields=p.payload.fields,
        documents=texts,
        confidence=p.payload.confidence,
        unreadable=unreadable_documents(p.files),
        calibrated={name: c.value for name, c in p.calibrated.items()},
    )


def _write(
    agent: Agent, fresh: list[_Pending], rng: random.Random | None
) -> dict[int, IngestResult]:
    now = timezone.now()
    actor = Actor.agent(agent)
    calibration = calibration_for(agent.pk)  # one small query; calibrators cached per process
    for p in fresh:
        p.calibrated = calibration.calibrate_fields(p.payload.agent_version, p.payload.fields)
        submission = _submission(p)
        routing = (
            route(
                p.queue,
                submission,
                assess(p.queue, submission),
                rng,
                stopped=automation_stopped(p.queue, agent),
            )
            if submission
            else Routing(Item.Status.ASSESSING, False, 0, [])  # assessed when its files are read
        )
        p.reasons = routing.reasons
        p.item = db.new(
            Item,
            queue=p.queue,
            agent=agent,
            agent_version=p.payload.agent_version,
            external_id=p.payload.external_id,
            payload_sha256=p.sha256,
            policy_version=p.queue.policy_version,
            status=routing.status,
            is_qa_sample=routing.is_qa_sample,
            priority=routing.priority,
            due_at=now + dt.timedelta(minutes=p.queue.sla_minutes),
            confidence=p.payload.confidence,
            rationale=p.payload.rationale,
            metadata=p.payload.metadata,
            decided_at=now if routing.status == Item.Status.AUTO_ACCEPTED else None,
            created_at=now,
        )
    items = [p.item for p in fresh]
    candidates = _document_candidates(fresh)
    auto_accepted = any(item.status == Item.Status.AUTO_ACCEPTED for item in items)
    with db.atomic_ended_by_last_write():
        # One round trip: which documents are stored already, keys for the new rows (on
        # PostgreSQL; SQLite draws them as it inserts) and the agent's webhook if it is to hear
        # of auto-accepted items.
        stored, item_keys, document_keys, endpoints = _stored_and_keys(
            items, candidates, agent if auto_accepted else None
        )
        documents = [doc for sha, doc in candidates.items() if sha not in stored]
        drawn = db.keys_given(items, item_keys)  # then the documents' were drawn as well
        db.keys_given(documents, document_keys)
        parents = (
            db.instances(documents, need_pks=not drawn),
            db.instances(items, need_pks=not drawn),
        )
        if not drawn:  # the rows below need the items' and documents' keys first
            db.insert(*parents)
            parents = ()
        document_ids = stored | {doc.sha256: doc.pk for doc in documents}
        deliveries = webhook_deliveries_auto_accepted(
            agent, [(p.item, p.payload.fields) for p in fresh], endpoints=endpoints
        )
        # Everything in one round trip where the rows are few, the audit head locked last.
        *_, head = db.insert(
            *parents,
            db.rows(ItemDocument, _document_rows(fresh, document_ids)),
            db.rows(ItemField, _field_rows(fresh)),
            db.rows(Reason, _reason_rows(fresh)),
            db.instances(deliveries),
            then=[audit_head_lock()],
        )
        audit_append([_ingest_event(p, actor) for p in fresh], head=head, last=True)
        for queue in {p.queue.pk: p.queue for p in fresh}.values():
            transaction.on_commit(partial(events.queue_changed, queue_id=queue.pk, slug=queue.slug))
    # The drafts carry what the answer shows (code, field_name, message, blocking).
    return {
        p.index: IngestResult(IngestOutcome.CREATED, item=p.item, reasons=p.reasons) for p in fresh
    }


def _ingest_event(p: _Pending, actor: Actor):  # noqa: ANN202 - AuditEvent
    item = p.item
    return audit_event(
        obj=item,
        action="review.item.ingested",
        actor=actor,
        data={
            "external_id": item.external_id,
            "agent_version": item.agent_version,
            "queue": p.queue.slug,
            "status": item.status,
            "qa_sample": item.is_qa_sample,
            "priority": item.priority,
            "policy_version": item.policy_version,
            "payload_sha256": item.payload_sha256,
            "confidences": {f.name: f.confidence for f in p.payload.fields},
            "calibrated": {
                name: {"confidence": c.value, "calibrator": c.calibrator_id, "borrowed": c.borrowed}
                for name, c in p.calibrated.items()
            },
            "reasons": [
                {"code": r.code, "field": r.field_name, "blocking": r.blocking} for r in p.reasons
            ],
        },
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _document_candidates(fresh: list[_Pending]) -> dict[str, Document]:
    """Each distinct document given as text, by sha256 (some may be stored already)."""
    wanted: dict[str, Document] = {}
    for p in fresh:
        # Files are stored already (resolve_files); their sha is None here.
        p.document_shas = [
            None if doc.text is None else _sha(doc.text) for doc in p.payload.documents
        ]
        for doc, sha in zip(p.payload.documents, p.document_shas, strict=True):
            if sha is not None and sha not in wanted:
                wanted[sha] = db.new(
                    Document,
                    sha256=sha,
                    content_type=doc.content_type,
                    text=doc.text,
                    size_bytes=len(doc.text.encode()),
                )
    return wanted


def _stored_and_keys(
    items: list[Item], candidates: dict[str, Document], endpoint_of: Agent | None = None
) -> tuple[dict[str, int], list[list[tuple]], list[list[tuple]], list[WebhookEndpoint] | None]:
    """The ids of the candidate documents stored already (by sha256), keys drawn for the
    items and for the candidates (db.keys_statement's rows; none on SQLite), and the enabled
    webhook endpoints of endpoint_of (None when not asked), in one round trip.

    If a concurrent ingest stores the same content between this lookup and the insert, the
    insert fails on the unique sha256 and the caller retries item by item, finding it stored.
    """
    lookup = []
    if candidates:
        table = Document._meta.db_table
        lookup = [
            (
                f"SELECT sha256, id FROM {table} WHERE sha256 IN ({db.marks(candidates)})",  # noqa: S608
                list(candidates),
            )
        ]
    endpoint = [agent_endpoint_statement(endpoint_of.pk)] if endpoint_of else []
    item_keys, document_keys = (
        db.keys_statement(Item, len(items)),
        db.keys_statement(Document, len(candidates)),
    )
    results = db.batch([*lookup, *endpoint, *item_keys, *document_keys])
    stored = dict(results.pop(0)) if lookup else {}
    endpoints = db.instances_of(WebhookEndpoint, results.pop(0)) if endpoint else None
    return (
        stored,
        [results.pop(0)] if item_keys else [],
        [results.pop(0)] if document_keys else [],
        endpoints,
    )


def _document_rows(fresh: list[_Pending], document_ids: dict[str, int]) -> list[dict]:
    return [
        {
            "item_id": p.item.pk,
            "document_id": p.files[doc.key].pk if sha is None else document_ids[sha],
            "key": doc.key,
            "position": i,
        }
        for p in fresh
        for i, (doc, sha) in enumerate(zip(p.payload.documents, p.document_shas, strict=True))
    ]


def _field_rows(fresh: list[_Pending]) -> list[dict]:
    return [
        {
            "item_id": p.item.pk,
            "position": i,
            "name": f.name,
            "value": f.value,
            "confidence": f.confidence,
            "calibrated_confidence": c.value if (c := p.calibrated.get(f.name)) else None,
            "evidence": f.evidence,
            "alternatives": f.alternatives,
            "rationale": f.rationale,
        }
        for p in fresh
        for i, f in enumerate(p.payload.fields)
    ]


def _reason_rows(fresh: list[_Pending]) -> list[dict]:
    return [r.row(p.item.pk) for p in fresh for r in p.reasons]
