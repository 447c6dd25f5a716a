"""Labeled history built straight in the database: hundreds of reviewed fields in a few inserts.

Each entry of `items` is one item: {field name: (confidence, right?)}; right is True for the
verdict "correct", False for "corrected", None for "undeterminable".
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from review.models import Item, ItemField, Review, Verdict

_ids = itertools.count(1)


def labeled_items(
    agent,  # noqa: ANN001
    queue,  # noqa: ANN001
    items: list[dict[str, tuple[float | None, bool | None]]],
    *,
    version: str = "v1.0",
    created_at: dt.datetime | None = None,
    status: str = Item.Status.APPROVED,
) -> list[Item]:
    when = created_at or timezone.now() - dt.timedelta(days=1)
    rows = [
        Item(
            queue=queue,
            agent=agent,
            agent_version=version,
            external_id=f"history-{next(_ids)}",
            payload_sha256="0" * 64,
            status=status,
            due_at=when,
            created_at=when,
            decided_at=when,
        )
        for _ in items
    ]
    made = Item.objects.bulk_create(rows)
    verdicts = {True: Verdict.CORRECT, False: Verdict.CORRECTED, None: Verdict.UNDETERMINABLE}
    ItemField.objects.bulk_create(
        ItemField(
            item=item,
            position=position,
            name=name,
            value="x",
            confidence=confidence,
            verdict=verdicts[right],
            final_value="x" if right else "y",
        )
        for item, fields in zip(made, items, strict=True)
        for position, (name, (confidence, right)) in enumerate(fields.items())
    )
    return made


def one_field(
    name: str, pairs: list[tuple[float, bool | None]]
) -> list[dict[str, tuple[float, bool | None]]]:
    """One item per (confidence, right?) pair, each with the single field `name`."""
    return [{name: pair} for pair in pairs]


def overconfident(n: int, *, confidence: float = 0.96, accuracy: float = 0.7) -> list[tuple]:
    """n labels all at `confidence`, of which the first `accuracy` share were right."""
    right = round(n * accuracy)
    return [(confidence, i < right) for i in range(n)]


def reviewed(items: list[Item], reviewer, seconds: float) -> None:  # noqa: ANN001
    """A review of `seconds` active time on each item (for the FTE figure)."""
    now = timezone.now()
    Review.objects.bulk_create(
        Review(
            item=item,
            reviewer=reviewer,
            decision=Review.Decision.APPROVE,
            started_at=now - dt.timedelta(seconds=seconds),
            decided_at=now - dt.timedelta(hours=1),
            active_seconds=seconds,
        )
        for item in items
    )
