"""Numbers for people: shares as percentages, durations in words, '—' where there is none."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()
NONE = "—"


@register.filter
def pct(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value * 100:.{digits}f} %"


@register.filter
def num(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value:,.{digits}f}"


@register.filter
def seconds(value: float | None) -> str:
    if value is None:
        return NONE
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"


@register.filter
def age(since: dt.datetime | None) -> str:
    """How long ago, in the largest sensible unit: '3.5 h', '2.1 days'."""
    if since is None:
        return NONE
    hours = (timezone.now() - since).total_seconds() / 3600
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
