"""The outbox: a delivery row written in the transaction of the change it reports.

The row commits or rolls back with the decision, so an agent is never told about a change that
did not happen, and never misses one that did. It is sent after commit by its own task
(`agents.tasks.webhook_deliver`); if that task is lost, the beat job finds the row overdue.
Review services call these with one line each.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

from accountability import db
from agents.models import Agent, WebhookDelivery, WebhookEndpoint, WebhookEvent
from agents.webhooks.payloads import EVENT_FOR_STATUS, FieldLike, event_body, item_url_maker
from agents.webhooks.signing import message_id_generate
from review.models import Item, Review

logger = logging.getLogger(__name__)


def subscribed_endpoint(agent_id: int, event: str) -> WebhookEndpoint | None:
    """The agent's endpoint if it is enabled and subscribed to event (one indexed query)."""
    endpoint = db.first(WebhookEndpoint, "agent_id = %s AND enabled = %s", [agent_id, True])
    return endpoint if endpoint is not None and event in endpoint.events else None


def item_endpoint_statement(item_id: int) -> db.Statement:
    """The enabled endpoint of an item's agent, for a caller's db.batch: what it finds is
    webhook_enqueue_outcome's `endpoints` (a round trip fewer than looking it up there)."""
    return db.select_statement(
        WebhookEndpoint,
        f"agent_id = (SELECT agent_id FROM {Item._meta.db_table} WHERE id = %s) AND enabled = %s",  # noqa: S608
        [item_id, True],
        limit=1,
    )


def webhook_enqueue_outcome(
    item: Item,
    *,
    status: str | None = None,
    override_reason: str | None = None,
    decided_at: dt.datetime | None = None,
    review: Review | None = None,
    endpoints: Sequence[WebhookEndpoint] | None = None,
) -> WebhookDelivery | None:
    """Report the item's outcome (status, default item.status) to its agent's webhook, if that
    status is one agents hear about: decided, escalated or auto-accepted; nothing while the
    item still waits (a first review that sends it to double review). override_reason marks a
    lead's override; review is the review that decided it, if the caller has it (else the
    latest stored); endpoints what item_endpoint_statement found, if the caller read it. Must
    run inside the transaction that changed the item."""
    status = status or item.status
    event = EVENT_FOR_STATUS.get(status)
    if event is None:
        return None
    if endpoints is None:
        endpoint = subscribed_endpoint(item.agent_id, event)
    else:
        endpoint = next((e for e in endpoints if event in e.events), None)
    if endpoint is None:
        return None
    now = timezone.now()
    body = event_body(
        event=event,
        item=item,
        status=status,
        fields=item.fields.all(),
        occurred_at=decided_at or item.decided_at or now,
        item_url=item_url_maker(),
        reason=_decision_reason(item, status, review),
        override_reason=override_reason,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        webhook_id=message_id_generate(),
        event_type=event,
        item=item,
        body=body,
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(partial(dispatch, [delivery.pk]))
    return delivery


def agent_endpoint_statement(agent_id: int) -> db.Statement:
    """The agent's enabled endpoint, for a caller's db.batch (webhook_deliveries_auto_accepted
    takes what it finds)."""
    return db.select_statement(
        WebhookEndpoint, "agent_id = %s AND enabled = %s", [agent_id, True], limit=1
    )


def webhook_deliveries_auto_accepted(
    agent: Agent,
    created: Iterable[tuple[Item, Sequence[FieldLike]]],
    *,
    endpoints: Sequence[WebhookEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """Outbox rows for the auto-accepted items among a just-assessed ingest batch, for the
    caller to insert with its own rows, in its transaction; they are sent once it commits.
    The items must have their primary keys. endpoints: what agent_endpoint_statement found, if
    the caller read it in its own batch; else at most one query, when any item was
    auto-accepted."""
    accepted = [
        (item, fields) for item, fields in created if item.status == Item.Status.AUTO_ACCEPTED
    ]
    if not accepted:
        return []
    event = WebhookEvent.ITEM_AUTO_ACCEPTED
    if endpoints is None:
        endpoint = subscribed_endpoint(agent.pk, event)
    else:
        endpoint = next((e for e in endpoints if event in e.events), None)
    if endpoint is None:
        return []
    now = timezone.now()
    item_url = item_url_maker()
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            webhook_id=message_id_generate(),
            event_type=event,
            item_id=item.pk,
            body=event_body(
                event=event,
                item=item,
                status=Item.Status.AUTO_ACCEPTED,
                fields=fields,
                occurred_at=item.decided_at or now,
                item_url=item_url,
            ),
            next_attempt_at=now,
            created_at=now,
        )
        for item, fields in accepted
    ]
    # Inserted without primary keys (drawing them costs a round trip): the task finds them by
    # webhook-id.
    webhook_ids = [delivery.webhook_id for delivery in deliveries]
    transaction.on_commit(partial(_dispatch_batch, webhook_ids))
    return deliveries


def _decision_reason(item: Item, status: str, review: Review | None) -> str:
    """The reason code of the review that decided or escalated the item (blank for approvals
    and auto-acceptance)."""
    if status not in {Item.Status.REJECTED, Item.Status.ESCALATED}:
        return ""
    if review is None:
        review = Review.objects.filter(item=item).order_by("-decided_at", "-id").first()
    return review.reason if review else ""


def dispatch(delivery_ids: list[int]) -> None:
    """Enqueue one sending task per delivery. A broker error must not fail the request whose
    change already committed: the deliveries stay due, and the beat job sends them."""
    from agents import tasks

    try:
        for delivery_id in delivery_ids:
            tasks.webhook_deliver.delay(delivery_id)
    except Exception:  # noqa: BLE001 - whatever the broker raised, the outbox keeps the rows
        logger.exception("Could not enqueue webhook deliveries %s; the beat job will", delivery_ids)


def _dispatch_batch(webhook_ids: list[str]) -> None:
    """One task for an ingest batch's deliveries, which fans out in the worker."""
    from agents import tasks

    try:
        tasks.webhooks_dispatch.delay(webhook_ids)
    except Exception:  # noqa: BLE001 - as in dispatch
        logger.exception("Could not enqueue webhook deliveries %s; the beat job will", webhook_ids)


def deliveries_dispatch(webhook_ids: list[str]) -> None:
    """In the worker: one sending task per delivery of a batch."""
    ids = WebhookDelivery.objects.filter(webhook_id__in=webhook_ids).values_list("pk", flat=True)
    dispatch(list(ids))
