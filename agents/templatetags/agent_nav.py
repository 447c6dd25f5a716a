"""The top bar's "Agents" link: shown to people who may open at least one agent's page."""

from __future__ import annotations

from typing import Any

from django import template

from agents.selectors import sees_any_agent

register = template.Library()


@register.filter
def sees_agents(user: Any) -> bool:
    return sees_any_agent(user)
