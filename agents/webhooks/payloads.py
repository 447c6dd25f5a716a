"""What a webhook says about an item. Built when the event happens and stored as sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from django.conf import settings
from django.urls import reverse

from accountability.db import json_text
from agents.models import WebhookEvent
from review.models import Item

# The item's status -> the event that reports it (statuses not listed report nothing yet).
EVENT_FOR_STATUS = {
    Item.Status.APPROVED: WebhookEvent.ITEM_DECIDED,
    Item.Status.REJECTED: WebhookEvent.ITEM_DECIDED,
    Item.Status.ESCALATED: WebhookEvent.ITEM_ESCALATED,
    Item.Status.AUTO_ACCEPTED: WebhookEvent.ITEM_AUTO_ACCEPTED,
}


class FieldLike(Protocol):
    """An ItemField, or a field of an ingest payload (which has no verdict yet)."""

    name: str
    value: Any


def item_url_maker() -> Callable[[int], str]:
    """Absolute API links to items, with one reverse() for a whole batch."""
    marker = 987654321987654321
    template = settings.SITE_URL + reverse("api:item-detail", args=[marker])
    prefix, suffix = template.split(str(marker))
    return lambda pk: f"{prefix}{pk}{suffix}"


def field_entries(fields: Iterable[FieldLike]) -> list[dict[str, Any]]:
    entries = []
    for field in fields:
        verdict = getattr(field, "verdict", "") or None  # None: no person gave one
        entries.append(
            {
                "name": field.name,
                "predicted_value": field.value,
                "final_value": field.final_value if verdict else field.value,
                "verdict": verdict,
            }
        )
    return entries


def event_body(
    *,
    event: str,
    item: Item,
    status: str,
    fields: Iterable[FieldLike],
    occurred_at: dt.datetime,
    item_url: Callable[[int], str],
    reason: str = "",
    override_reason: str | None = None,
) -> str:
    """The JSON text sent, in the Standard Webhooks shape {type, timestamp, data}."""
    decided_at = item.decided_at or (occurred_at if status != Item.Status.ESCALATED else None)
    payload = {
        "type": event,
        "timestamp": _iso(occurred_at),
        "data": {
            "item_id": item.pk,
            "external_id": item.external_id,
            "agent_version": item.agent_version,
            "decision": status,
            "reason": reason or None,
            "override": override_reason is not None,
            "override_reason": override_reason,
            "decided_at": _iso(decided_at) if decided_at else None,
            "escalated_at": _iso(occurred_at) if status == Item.Status.ESCALATED else None,
            "url": item_url(item.pk),
            "fields": field_entries(fields),
        },
    }
    return json_text(payload)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
