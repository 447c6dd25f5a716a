"""The decision trace of an item: its timeline from ingest to decision, with the chain check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accountability.audit import Actor, audit_log
from accountability.chain import CheckedEvent, events_check
from review import selectors
from review.models import Item


@dataclass
class Trace:
    item: Item
    events: list[CheckedEvent]

    @property
    def intact(self) -> bool:
        return all(checked.intact for checked in self.events)


def item_trace(item: Item) -> Trace:
    """item must come from selectors.item_with_details."""
    return Trace(item, events_check(selectors.item_trail(item)))


def item_trace_export(*, item: Item, actor: Actor) -> dict[str, Any]:
    """The trace as data for a download; the export itself is audited."""
    trace = item_trace(item)
    with transaction.atomic():
        audit_log(obj=item, action="review.trace.exported", actor=actor, data={"format": "json"})
    return {
        "item": {
            "id": item.pk,
            "queue": item.queue.slug,
            "agent": item.agent.slug,
            "agent_version": item.agent_version,
            "external_id": item.external_id,
            "status": item.status,
            "policy_version": item.policy_version,
            "created_at": item.created_at.isoformat(),
            "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        },
        "fields": [
            {
                "name": f.name,
                "agent_value": f.value,
                "confidence": f.confidence,
                "evidence": f.evidence,
                "verdict": f.verdict,
                "final_value": f.final_value,
            }
            for f in item.fields.all()
        ],
        "reasons": [
            {"code": r.code, "field": r.field_name, "message": r.message, "blocking": r.blocking}
            for r in item.reasons.all()
        ],
        "events": [
            {
                "seq": c.event.seq,
                "at": c.event.created_at.isoformat(),
                "action": c.event.action,
                "actor": {
                    "type": c.event.actor_type,
                    "id": c.event.actor_id,
                    "name": c.event.actor_label,
                },
                "data": c.event.data,
                "request_id": c.event.request_id,
                "hash": c.event.hash,
                "prev_hash": c.event.prev_hash,
                "intact": c.intact,
                "problem": c.problem,
            }
            for c in trace.events
        ],
        "chain_intact": trace.intact,
    }
