"""SLA breaches: items still waiting at their due time go to the queue's leads."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from accountability.audit import Actor, audit_append, audit_event
from accountability.models import AuditEvent
from agents.webhooks.outbox import webhook_enqueue_outcome
from review import events
from review.models import Item


def items_flag_breached(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Mark waiting items past their due time as breached and escalate them; return how many.

    Safe to run twice, and concurrently: only PENDING, unflagged rows are picked, under SKIP
    LOCKED where the database has it, and the UPDATE repeats the condition. An item someone
    holds a live lease on is left to them; if the lease lapses, the next run takes it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            Item.objects.claimable(now)
            .filter(due_at__lte=now, sla_breached_at__isnull=True)
            .select_related("queue")
            .order_by("due_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        breached = list(due[:limit])
        Item.objects.filter(pk__in=[item.pk for item in breached]).update(
            status=Item.Status.ESCALATED,
            sla_breached_at=now,
            lease_holder=None,
            leased_until=None,
            updated_at=now,
        )
        for item in breached:  # the agent hears of it as of any escalation
            webhook_enqueue_outcome(item, status=Item.Status.ESCALATED, decided_at=now)
        audit_append([_event(item, now) for item in breached])
        for slug_and_id in {(item.queue.slug, item.queue_id) for item in breached}:
            transaction.on_commit(
                partial(events.queue_changed, queue_id=slug_and_id[1], slug=slug_and_id[0])
            )
    return len(breached)


def _event(item: Item, now: dt.datetime) -> AuditEvent:
    return audit_event(
        obj=item,
        action="review.item.sla_breached",
        actor=Actor.system("sla"),
        data={
            "due_at": item.due_at.isoformat(),
            "breached_at": now.isoformat(),
            "sla_minutes": item.queue.sla_minutes,
            "status_before": item.status,
            "status_after": Item.Status.ESCALATED,
        },
    )
