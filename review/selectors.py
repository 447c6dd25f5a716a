"""Reads shared by the API and the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accountability.models import AuditEvent
from review.models import (
    Document,
    DocumentPage,
    FieldLabel,
    Item,
    ItemDocument,
    Lease,
    Queue,
    Review,
)

if TYPE_CHECKING:
    from agents.models import Agent


def items_visible_to_person(user: object) -> QuerySet[Item]:
    return Item.objects.filter(queue__in=Queue.objects.visible_to(user))


def items_of_agent(agent: Agent) -> QuerySet[Item]:
    return Item.objects.filter(agent=agent)


def item_with_details(items: QuerySet[Item]) -> QuerySet[Item]:
    """Everything an item's page or API answer shows, in a fixed number of queries.

    Pages come without their char_boxes (tens of kilobytes each): page_char_boxes loads them
    for the few pages evidence is on.
    """
    pages = DocumentPage.objects.defer("char_boxes")
    documents = ItemDocument.objects.select_related("document").prefetch_related(
        Prefetch("document__pages", queryset=pages)
    )
    return items.select_related("queue", "agent").prefetch_related(
        "fields",
        "reasons",
        Prefetch("item_documents", queryset=documents),
        Prefetch(
            "reviews", queryset=Review.objects.select_related("reviewer").order_by("decided_at")
        ),
    )


def item_for_api(items: QuerySet[Item]) -> QuerySet[Item]:
    """What the API says of an item (review.api.ItemSerializer), in four queries: the item with
    its queue and agent, its fields, reasons and documents. No pages, which the API does not
    show, and no reviews: a waiting item shows none, a decided one reads its latest."""
    return items.select_related("queue", "agent").prefetch_related(
        "fields", "reasons", _API_DOCUMENTS
    )


_API_DOCUMENTS = Prefetch("item_documents", ItemDocument.objects.select_related("document"))


def page_char_boxes(page_ids: Iterable[int]) -> dict[int, list[int]]:
    """The char_boxes of these pages, by page id, in one query."""
    return dict(DocumentPage.objects.filter(pk__in=list(page_ids)).values_list("pk", "char_boxes"))


def documents_visible_to_person(user: object) -> QuerySet[Document]:
    """Documents used by an item the person may see: what they may open page by page."""
    items = items_visible_to_person(user)
    return Document.objects.filter(
        pk__in=ItemDocument.objects.filter(item__in=items).values("document_id")
    )


def queues_for_agent(agent: Agent) -> QuerySet[Queue]:
    return agent.queues.order_by("slug")


@dataclass
class QueueSummary:
    queue: Queue
    waiting: int
    oldest: dt.datetime | None
    due_soon: int  # waiting items due within DUE_SOON, or already overdue
    reviewing: list[str] = field(default_factory=list)  # who holds a lease right now
    is_lead: bool = False
    escalated: int = 0  # waiting for a lead; shown to leads only
    breached: int = 0  # of those, escalated because they were still waiting at their due time


DUE_SOON = dt.timedelta(hours=1)


def _items_counted(**conditions: object) -> Coalesce:
    """How many of the queue's items meet the conditions (for an annotation on queues)."""
    items = Item.objects.filter(queue=OuterRef("pk"), **conditions).order_by()
    counted = items.values("queue").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def queue_overview(user: object) -> list[QueueSummary]:
    """The queues a person works in, with what waits in each and who is reviewing now."""
    now = timezone.now()
    waiting = {"status": Item.Status.PENDING}
    escalated = {"status": Item.Status.ESCALATED}
    # Filter by id rather than through visible_to's joins, which would multiply the counted
    # items by the number of leads and reviewers. Each figure is its own subquery on the
    # queue's waiting or escalated items, read from their indexes: a join to every item the
    # queue ever had read the decided ones too (the page at 1,000,000 items: 520 -> 17 ms).
    queues = (
        Queue.objects.filter(pk__in=Queue.objects.visible_to(user).values("pk"))
        .annotate(
            waiting=_items_counted(**waiting),
            oldest=Subquery(
                Item.objects.filter(queue=OuterRef("pk"), **waiting)
                .order_by("created_at")
                .values("created_at")[:1]
            ),
            due_soon=_items_counted(**waiting, due_at__lte=now + DUE_SOON),
            escalated=_items_counted(**escalated),
            breached=_items_counted(**escalated, sla_breached_at__isnull=False),
        )
        .order_by("name")
    )
    led = set(
        Queue.objects.led_by(user).filter(pk__in=queues.values("pk")).values_list("pk", flat=True)
    )
    reviewing: dict[int, set[str]] = {}
    # From the open leases (their own index) rather than the items' lease columns, which no
    # index covers: that read every waiting item (25 ms for 194,000).
    holders = Lease.objects.filter(
        ended_at__isnull=True,
        expires_at__gt=now,
        item__status=Item.Status.PENDING,
        item__queue__in=queues,
    ).values_list("item__queue_id", "reviewer__username")
    for queue_id, username in holders:
        reviewing.setdefault(queue_id, set()).add(username)
    return [
        QueueSummary(
            q,
            q.waiting,
            q.oldest,
            q.due_soon,
            sorted(reviewing.get(q.pk, ())),
            is_lead=q.pk in led,
            escalated=q.escalated if q.pk in led else 0,
            breached=q.breached if q.pk in led else 0,
        )
        for q in queues
    ]


@dataclass
class Escalation:
    item: Item
    escalation: Review | None  # the reviewer's escalation; None when the SLA job escalated it
    held_by: str  # the lead handling it now, or ""


def queue_escalations(queue: Queue, now: dt.datetime | None = None) -> list[Escalation]:
    """A queue's escalated items, SLA breaches first, then by due time, with why each is here."""
    now = now or timezone.now()
    escalations = Review.objects.filter(decision=Review.Decision.ESCALATE).order_by("-decided_at")
    items = (
        queue.items.filter(status=Item.Status.ESCALATED)
        .select_related("agent", "lease_holder")
        .prefetch_related(Prefetch("reviews", queryset=escalations.select_related("reviewer")))
        .order_by(F("sla_breached_at").desc(nulls_last=True), "due_at", "id")
    )
    return [
        Escalation(
            item,
            next(iter(item.reviews.all()), None),
            item.lease_holder.get_username()
            if item.lease_holder and item.leased_until and item.leased_until > now
            else "",
        )
        for item in items
    ]


def rework_outcome(item: Item) -> Review | None:
    """The decision on a sent-back item's rework: its first review after the reworked one."""
    if item.rework_of_id is None:
        return None
    return (
        item.reviews.filter(decided_at__gt=item.rework_of.decided_at)
        .exclude(decision=Review.Decision.ESCALATE)
        .order_by("decided_at", "id")
        .first()
    )


def items_led_by(user: object) -> QuerySet[Item]:
    """Items a person may take lead actions on: in queues they lead; superusers: all."""
    return Item.objects.filter(queue__in=Queue.objects.led_by(user))


def labels_by_review(reviews: list[Review]) -> dict[int, list[FieldLabel]]:
    grouped: dict[int, list[FieldLabel]] = {}
    labels = (
        FieldLabel.objects.filter(review__in=reviews)
        .select_related("field")
        .order_by("field__position")
    )
    for label in labels:
        grouped.setdefault(label.review_id, []).append(label)
    return grouped


def items_traceable_by(user: object) -> QuerySet[Item]:
    """Items whose full decision trace a person may read: leads of the queue, auditors, admins."""
    if not getattr(user, "is_authenticated", False):
        return Item.objects.none()
    if user.is_superuser or user.has_perm("accountability.view_auditevent"):
        return Item.objects.all()
    return Item.objects.filter(queue__leads=user)


def item_trail(item: Item) -> list[AuditEvent]:
    """Every audit event about the item and its documents, oldest first."""
    documents = [str(pk) for pk in item.item_documents.values_list("document_id", flat=True)]
    about_item = Q(target_type="review.item", target_id=str(item.pk))
    about_documents = Q(target_type="review.document", target_id__in=documents)
    return list(AuditEvent.objects.filter(about_item | about_documents).order_by("seq"))
