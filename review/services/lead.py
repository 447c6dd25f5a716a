"""What a queue's leads do to items beyond reviewing: reassign, send back, override.

Each action is one transaction, needs a reason, and is audited with the item's state before
and after. Views check lead rights first (404 for others); the services check again, because
the API and commands may call them too.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accountability.api import WorkflowError
from accountability.audit import Actor, audit_append, audit_event
from agents.webhooks.outbox import webhook_enqueue_outcome
from review import events
from review.models import Item, ItemField, Lease, Queue, Review
from review.services.decisions import FieldVerdictIn, _check_verdicts, _Label, _store_review
from review.services.leases import _end

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DECIDED = {Item.Status.APPROVED, Item.Status.REJECTED, Item.Status.AUTO_ACCEPTED}
# Passed to the verdict check instead of "approve": an override changes only the fields the lead
# names, so it must not demand a verdict on every field the way a first approval does.
PARTIAL_VERDICTS = "override"
REASON_REQUIRED = "say why; lead actions are audited with their reason"


def item_reassign(*, item: Item, to_reviewer: User | None, lead: User, reason: str) -> Lease:
    """Give a waiting or escalated item to one named reviewer of its queue.

    Ends any open lease (as "reassigned") and opens one for to_reviewer, so the item is theirs
    at their next claim (claim-next returns a lease the reviewer holds) for the queue's lease
    length, after which it is free again like any lapsed lease. An escalated item goes back to
    waiting for review. Returns the new lease.
    """
    if to_reviewer is None:  # say both at once when the form came without either
        errors = {"to_reviewer": ["choose a reviewer"]}
        if not (reason or "").strip():
            errors["reason"] = [REASON_REQUIRED]
        raise ValidationError(errors)
    reason = _required(reason)
    now = timezone.now()
    with transaction.atomic():
        item = _locked(item, lead)
        queue = item.queue
        members = Q(reviewers=to_reviewer) | Q(leads=to_reviewer)
        if not Queue.objects.filter(members, pk=queue.pk).exists():
            raise ValidationError({"to_reviewer": [f"{to_reviewer} does not work in {queue}"]})
        if item.status not in {Item.Status.PENDING, Item.Status.ESCALATED}:
            raise WorkflowError(
                "Only waiting or escalated items can be reassigned; send a decided one back.",
                code="decided",
            )
        before = _state(item)
        ended = [
            _end(open_, end=Lease.End.REASSIGNED, now=now, actor=Actor.user(lead), reason=reason)
            for open_ in Lease.objects.filter(item=item, ended_at__isnull=True)
        ]
        lease = Lease.objects.create(
            item=item,
            reviewer=to_reviewer,
            claimed_at=now,
            expires_at=now + dt.timedelta(minutes=queue.lease_minutes),
        )
        item.status = Item.Status.PENDING
        item.lease_holder, item.leased_until = to_reviewer, lease.expires_at
        item.save(update_fields=["status", "lease_holder", "leased_until", "updated_at"])
        data = {"reason": reason, "lease": str(lease.token), **_change(before, item)}
        _finish(item, lead, "review.item.reassigned", data, earlier=ended)
    return lease


def item_send_back(*, item: Item, lead: User, reason: str) -> Item:
    """Send a decided item back to waiting for review, for rework by whoever claims it next.

    The review it reworks stays as it was and is linked from item.rework_of; the rework's own
    decision is the item's next review. Field verdicts are cleared so the rework starts from
    the agent's values, and the SLA clock restarts from now. An auto-accepted item has no
    review to rework: override it instead.
    """
    reason = _required(reason)
    now = timezone.now()
    with transaction.atomic():
        item = _locked(item, lead)
        reworked = (
            item.reviews.filter(decision__in=[Review.Decision.APPROVE, Review.Decision.REJECT])
            .order_by("-decided_at", "-id")
            .first()
        )
        if item.status not in {Item.Status.APPROVED, Item.Status.REJECTED} or reworked is None:
            raise WorkflowError(
                "Only an item a person approved or rejected can be sent back for rework.",
                code="not_reviewed",
            )
        before = _state(item)
        fields = list(item.fields.all())
        for field in fields:
            field.verdict, field.final_value = "", None
        ItemField.objects.bulk_update(fields, ["verdict", "final_value"])
        item.status, item.decided_at, item.rework_of = Item.Status.PENDING, None, reworked
        item.due_at, item.sla_breached_at = now + dt.timedelta(minutes=item.queue.sla_minutes), None
        item.save(
            update_fields=[
                "status", "decided_at", "rework_of", "due_at", "sla_breached_at", "updated_at"
            ]
        )  # fmt: skip
        data = {"reason": reason, "reworks_review": reworked.pk, **_change(before, item)}
        _finish(item, lead, "review.item.sent_back", data)
    return item


def item_override(
    *, item: Item, lead: User, decision: str, fields: list[FieldVerdictIn], reason: str
) -> Review:
    """Replace the outcome of a decided item (reviewed or auto-accepted) with the lead's own.

    Records a Review by the lead marked is_override, with a label for each field the lead
    gives a verdict on (the others keep theirs), and the audit event
    "review.decision.overridden" with each field's final value before and after. The agent
    hears of it by webhook: item.decided with override true and the reason.
    """
    reason = _required(reason)
    if decision not in {Review.Decision.APPROVE, Review.Decision.REJECT}:
        raise ValidationError({"decision": ["must be approve or reject"]})
    now = timezone.now()
    with transaction.atomic():
        item = _locked(item, lead)
        if item.status not in DECIDED:
            raise WorkflowError(
                "Only a decided item can be overridden; claim an escalated one to decide it.",
                code="not_decided",
            )
        by_name = {field.name: field for field in item.fields.all()}
        labels = _check_verdicts(item, by_name, fields, PARTIAL_VERDICTS)
        finals_before = {label.field.name: _final(label.field) for label in labels}
        before = _state(item)
        review = Review(
            item=item,
            lease=None,
            reviewer=lead,
            decision=decision,
            comment=reason,
            started_at=now,
            decided_at=now,
            is_override=True,
        )
        _store_review(review, labels)
        item.status = {
            Review.Decision.APPROVE: Item.Status.APPROVED,
            Review.Decision.REJECT: Item.Status.REJECTED,
        }[decision]
        item.decided_at = now
        item.save(update_fields=["status", "decided_at", "updated_at"])
        data = {
            "reason": reason,
            "review": review.pk,
            "decision": decision,
            **_change(before, item),
            "labels": _label_changes(labels, finals_before),
        }
        webhook_enqueue_outcome(item, override_reason=reason)
        _finish(item, lead, "review.decision.overridden", data)
    return review


def _required(reason: str) -> str:
    if not reason or not reason.strip():
        raise ValidationError({"reason": [REASON_REQUIRED]})
    return reason.strip()


def _locked(item: Item, lead: User) -> Item:
    """The item, row-locked for this transaction, if lead may act on it."""
    locked = Item.objects.select_for_update(of=("self",)).select_related("queue").get(pk=item.pk)
    if not Queue.objects.led_by(lead).filter(pk=locked.queue_id).exists():
        raise PermissionDenied("Only the queue's leads may do this.")
    return locked


def _state(item: Item) -> dict[str, Any]:
    return {
        "status": item.status,
        "lease_holder": item.lease_holder_id,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "due_at": item.due_at.isoformat(),
    }


def _change(before: dict[str, Any], item: Item) -> dict[str, Any]:
    return {"before": before, "after": _state(item)}


def _final(field: ItemField) -> Any:
    """The value that stands for a field now: the final one once it has a verdict."""
    return field.final_value if field.verdict else field.value


def _label_changes(labels: list[_Label], finals_before: dict[str, Any]) -> list[dict]:
    return [
        {
            "field": label.field.name,
            "verdict": label.verdict,
            "before": finals_before[label.field.name],
            "after": label.final,
            "correction_reason": label.correction_reason,
            "note": label.note,
        }
        for label in labels
    ]


def _finish(item: Item, lead: User, action: str, data: dict, earlier: list | None = None) -> None:
    """Audit last, after every row write (the chain's head lock comes last), and tell pages."""
    event = audit_event(obj=item, action=action, actor=Actor.user(lead), data=data)
    audit_append([*(earlier or []), event])
    transaction.on_commit(
        partial(events.queue_changed, queue_id=item.queue_id, slug=item.queue.slug)
    )
