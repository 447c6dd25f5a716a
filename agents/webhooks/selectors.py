"""Reads about webhooks, shared by the API and the agent's page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from agents.models import Agent, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def agents_managed_by(user: User) -> QuerySet[Agent]:
    """Agents whose webhook user may see and change: their own; every agent for staff."""
    agents = Agent.objects.all()
    return agents if user.is_staff else agents.filter(owner=user)


def webhook_endpoint_for(agent: Agent) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(agent=agent).first()


def webhook_deliveries_for(agent: Agent) -> QuerySet[WebhookDelivery]:
    """The agent's webhook deliveries, newest first, with their item and attempts (oldest
    attempt first) loaded: iterate `delivery.attempts.all()` without further queries."""
    return (
        WebhookDelivery.objects.filter(endpoint__agent=agent)
        .select_related("item", "endpoint")
        .prefetch_related("attempts")
        .order_by("-created_at", "-id")
    )


def webhook_delivery_managed_by(user: User, delivery_id: int) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(pk=delivery_id, endpoint__agent__in=agents_managed_by(user))
        .select_related("item", "endpoint")
        .first()
    )
