"""Building dated history for dashboard tests: the services stamp "now", these move it."""

from __future__ import annotations

import datetime as dt

from review.models import Item, Review
from review.services import FieldVerdictIn, item_decide, lease_claim_next

FIELDS = ["policy_number", "loss_date", "amount", "claim_type"]


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def decide_at(
    queue,  # noqa: ANN001
    reviewer,  # noqa: ANN001
    item: Item,
    decision: str = "approve",
    *,
    when: dt.datetime,
    seconds: float,
    corrected: str | None = None,
) -> Review:
    """Claim `item` (it must be next in line) and decide it, then date the decision `when`."""
    lease = lease_claim_next(queue=queue, reviewer=reviewer)
    assert lease.item_id == item.pk
    verdicts = [
        FieldVerdictIn(n, "corrected", "home", "wrong_value")
        if n == corrected
        else FieldVerdictIn(n, "correct")
        for n in FIELDS
    ]
    review = item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision=decision,
        fields=verdicts if decision == "approve" else [],
        reason={"reject": "wrong_document", "escalate": "policy_question"}.get(decision, ""),
        active_seconds=seconds,
    )
    Review.objects.filter(pk=review.pk).update(
        decided_at=when, started_at=when, active_seconds=seconds
    )
    Item.objects.filter(pk=item.pk).update(decided_at=when)
    return review
