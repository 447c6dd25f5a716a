"""Reads shared by the API and the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Min, Prefetch, Q, QuerySet

from review.models import Item, ItemDocument, Queue, Review

if TYPE_CHECKING:
    from agents.models import Agent


def items_visible_to_person(user: object) -> QuerySet[Item]:
    return Item.objects.filter(queue__in=Queue.objects.visible_to(user))


def items_of_agent(agent: Agent) -> QuerySet[Item]:
    return Item.objects.filter(agent=agent)


def item_with_details(items: QuerySet[Item]) -> QuerySet[Item]:
    """Everything an item's page or API answer shows, in a fixed number of queries."""
    return items.select_related("queue", "agent").prefetch_related(
        "fields",
        "reasons",
        Prefetch("item_documents", queryset=ItemDocument.objects.select_related("document")),
        Prefetch(
            "reviews", queryset=Review.objects.select_related("reviewer").order_by("decided_at")
        ),
    )


def queues_for_agent(agent: Agent) -> QuerySet[Queue]:
    return agent.queues.order_by("slug")


def queue_overview(user: object) -> QuerySet[Queue]:
    """The queues a person works in, each with its waiting count and oldest waiting item."""
    waiting = Q(items__status=Item.Status.PENDING)
    # Filter by id rather than through visible_to's joins, which would multiply the counted
    # items by the number of leads and reviewers.
    return (
        Queue.objects.filter(pk__in=Queue.objects.visible_to(user).values("pk"))
        .annotate(
            waiting=Count("items", filter=waiting), oldest=Min("items__created_at", filter=waiting)
        )
        .order_by("name")
    )
