"""The top bar's "Agents" and "Feedback" links: shown to people who may open those pages."""

from __future__ import annotations

from typing import Any

from django import template

from agents.feedback.selectors import feedback_scope
from agents.selectors import sees_any_agent

register = template.Library()


@register.filter
def sees_agents(user: Any) -> bool:
    return sees_any_agent(user)


@register.filter
def exports_feedback(user: Any) -> bool:
    """Leads, agent owners and staff: the labeled-data export is theirs."""
    return feedback_scope(user) is not None
