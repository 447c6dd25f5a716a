"""Who may see an agent's page, and who may change what on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, F, Q, QuerySet

from agents.models import Agent, ApiToken
from agents.webhooks.selectors import agents_managed_by
from review.models import Queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def agents_led_by(user: User) -> QuerySet[Agent]:
    """Agents working in a queue the person leads (every agent for superusers)."""
    return Agent.objects.filter(queues__in=Queue.objects.led_by(user)).distinct()


def agents_visible_to(user: User) -> QuerySet[Agent]:
    """Agents whose page a person may open: their own (all for staff) and those in the queues
    they lead. Ids as subqueries, so no join repeats an agent."""
    if not user.is_authenticated:
        return Agent.objects.none()
    managed, led = agents_managed_by(user).values("pk"), agents_led_by(user).values("pk")
    return Agent.objects.filter(Q(pk__in=managed) | Q(pk__in=led))


def sees_any_agent(user: User) -> bool:
    return user.is_authenticated and agents_visible_to(user).exists()


def agents_listed_for(user: User) -> QuerySet[Agent]:
    """The agents list: each with its owner, queues and number of usable tokens."""
    return (
        agents_visible_to(user)
        .select_related("owner")
        .prefetch_related("queues")
        .annotate(usable_tokens=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        .order_by("name", "slug")
    )


@dataclass(frozen=True)
class AgentAccess:
    """What one person may do on one agent's page."""

    manage: bool  # tokens and webhook: the owner and staff
    switch: bool  # the stop switch: those, and the leads of the agent's queues

    @property
    def role(self) -> str:
        return "manage" if self.manage else "lead"


def agent_access(user: User, agent: Agent) -> AgentAccess:
    manage = agents_managed_by(user).filter(pk=agent.pk).exists()
    switch = manage or agents_led_by(user).filter(pk=agent.pk).exists()
    return AgentAccess(manage=manage, switch=switch)


def agent_tokens(agent: Agent) -> QuerySet[ApiToken]:
    """Usable tokens first, newest first within each group."""
    return agent.tokens.select_related("created_by").order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at", "-id"
    )
