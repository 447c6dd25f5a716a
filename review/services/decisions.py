"""Decisions: a reviewer's verdict on an item and on each of its fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accountability.audit import Actor, audit_log
from review import schema
from review.models import FieldLabel, Item, ItemField, Lease, Review, Verdict
from review.services.leases import lease_for_write

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_MISSING = object()


@dataclass(frozen=True)
class FieldVerdictIn:
    name: str
    verdict: str
    value: Any = _MISSING  # the corrected value; only with verdict "corrected"


def item_decide(
    *,
    item_id: int,
    reviewer: User,
    lease_token: uuid.UUID | str,
    decision: str,
    fields: list[FieldVerdictIn],
    reason: str = "",
    comment: str = "",
    active_seconds: float | None = None,
) -> Review:
    """Record a decision on an item the reviewer holds a lease on; all or nothing.

    Approve needs a verdict on every field; reject needs a reason. Field labels, final values,
    the item's status and the audit event are written in one transaction.
    """
    if decision not in Review.Decision.values:
        raise ValidationError({"decision": [f"must be one of {', '.join(Review.Decision.values)}"]})
    now = timezone.now()
    with transaction.atomic():
        lease = lease_for_write(
            item_id=item_id, reviewer=reviewer, lease_token=lease_token, now=now
        )
        item = lease.item
        item_fields = {f.name: f for f in item.fields.all()}
        labels = _check_verdicts(item, item_fields, fields, decision)
        if decision == Review.Decision.REJECT and not reason.strip():
            raise ValidationError({"reason": ["say why you reject this item"]})
        review = Review.objects.create(
            item=item,
            lease=lease,
            reviewer=reviewer,
            decision=decision,
            reason=reason.strip(),
            comment=comment.strip(),
            started_at=lease.claimed_at,
            decided_at=now,
            active_seconds=active_seconds,
        )
        FieldLabel.objects.bulk_create(
            FieldLabel(
                review=review, field=f, verdict=verdict, original_value=f.value, final_value=final
            )
            for f, verdict, final in labels
        )
        for f, verdict, final in labels:
            f.verdict, f.final_value = verdict, final
        ItemField.objects.bulk_update([f for f, _, _ in labels], ["verdict", "final_value"])
        lease.ended_at, lease.end = now, Lease.End.DECIDED
        lease.save(update_fields=["ended_at", "end"])
        item.status = (
            Item.Status.APPROVED if decision == Review.Decision.APPROVE else Item.Status.REJECTED
        )
        item.decided_at, item.lease_holder, item.leased_until = now, None, None
        item.save(
            update_fields=["status", "decided_at", "lease_holder", "leased_until", "updated_at"]
        )
        audit_log(
            obj=item,
            action="review.decision.recorded",
            actor=Actor.user(reviewer),
            data={
                "review": review.pk,
                "decision": decision,
                "reason": review.reason,
                "comment": review.comment,
                "lease": str(lease.token),
                "labels": [
                    {"field": f.name, "verdict": verdict, "before": f.value, "after": final}
                    for f, verdict, final in labels
                ],
            },
        )
    return review


def _check_verdicts(
    item: Item, item_fields: dict[str, ItemField], given: list[FieldVerdictIn], decision: str
) -> list[tuple[ItemField, str, Any]]:
    """Check the verdicts; return (field, verdict, final value) or raise naming each bad one."""
    errors: dict[str, list[str]] = {}
    labels: list[tuple[ItemField, str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(given):
        at = f"fields[{index}]"
        field = item_fields.get(entry.name)
        if field is None:
            errors[f"{at}.name"] = [f"this item has no field {entry.name!r}"]
            continue
        if entry.name in seen:
            errors[f"{at}.name"] = [f"{entry.name!r} appears twice"]
            continue
        seen.add(entry.name)
        if entry.verdict not in Verdict.values:
            errors[f"{at}.verdict"] = [f"must be one of {', '.join(Verdict.values)}"]
            continue
        final: Any = field.value
        if entry.verdict == Verdict.CORRECTED:
            if entry.value is _MISSING:
                errors[f"{at}.value"] = ["give the corrected value"]
                continue
            if entry.value == field.value:
                errors[f"{at}.value"] = ["is the agent's own value; use the verdict correct"]
                continue
            spec = item.queue.field_spec(entry.name)
            if spec and (problem := schema.value_error(spec, entry.value)):
                errors[f"{at}.value"] = [problem]
                continue
            final = entry.value
        elif entry.verdict == Verdict.UNDETERMINABLE:
            final = None
        labels.append((field, entry.verdict, final))
    if decision == "approve":
        missing = [name for name in item_fields if name not in seen]
        if missing:
            errors.setdefault("fields", []).append(
                f"give a verdict on every field before approving: {', '.join(missing)}"
            )
    if errors:
        raise ValidationError(errors)
    return labels
