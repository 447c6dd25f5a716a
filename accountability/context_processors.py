"""The top bar's links, decided once per page with as few queries as the person needs.

Every page renders the bar, the review workspace included, so each question is asked of the
database at most once and only when the template shows its link: a reviewer costs two small
queries (do they lead a queue, do they own an agent), not one per link.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from agents.models import Agent
from agents.selectors import sees_any_agent


class NavLinks:
    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def leads(self) -> bool:
        return self.user.is_authenticated and self.user.led_queues.exists()

    @cached_property
    def owns(self) -> bool:
        return self.user.is_authenticated and Agent.objects.filter(owner=self.user).exists()

    @property
    def dashboard(self) -> bool:
        return self.user.is_superuser or self.leads

    @property
    def agents(self) -> bool:
        """Their own agents, all for staff, and those working in queues they lead."""
        if self.owns:
            return True
        if self.user.is_staff or self.leads:
            return sees_any_agent(self.user)
        return False

    @property
    def feedback(self) -> bool:
        """Leads, agent owners and staff may export labeled feedback."""
        return self.user.is_staff or self.user.is_superuser or self.leads or self.owns


def nav(request: HttpRequest) -> dict[str, NavLinks]:
    return {"nav": NavLinks(request.user)}
