"""Decisions: a reviewer's verdict on an item and on each of its fields, or an escalation."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accountability import db
from accountability.api import WorkflowError
from accountability.audit import Actor, audit_append, audit_event, audit_head_lock
from agents.calibration.services import on_labels_stored
from agents.models import WebhookEndpoint
from agents.webhooks.outbox import item_endpoint_statement, webhook_enqueue_outcome
from review import events, schema
from review.assessment import HIDDEN_REASONS
from review.models import (
    CorrectionReason,
    FieldLabel,
    Item,
    ItemField,
    Lease,
    Reason,
    Review,
    Verdict,
)
from review.services.leases import lease_and_rows_for_write, record_activity

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MISSING = object()  # a corrected value that was not given (None is a value: JSON null)


@dataclass(frozen=True)
class FieldVerdictIn:
    name: str
    verdict: str
    value: Any = MISSING  # the corrected value; only with verdict "corrected"
    correction_reason: str = ""  # required with "corrected": a CorrectionReason
    note: str = ""  # required when the correction reason is "other"


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
    visible_to: User | None = None,
) -> Review:
    """Record a decision on an item the reviewer holds a lease on; all or nothing.

    Approve needs a verdict on every field; reject and escalate need a reason. An escalation
    sends the item to the queue's leads and records no field labels. active_seconds is the
    page's active time since its last heartbeat (None from API clients: the server estimates).
    Field labels, final values, the item's status and the audit event are one transaction.
    review.item comes with its fields (as decided) and reasons prefetched. visible_to: a
    person the item must be visible to, checked first (Item.DoesNotExist), in the first round
    trip.
    """
    if decision not in Review.Decision.values:
        raise ValidationError({"decision": [f"must be one of {', '.join(Review.Decision.values)}"]})
    now = timezone.now()
    with db.atomic_ended_by_last_write():
        # The lease, its item and queue, the fields, the reasons, the agent's webhook and the
        # review's key: one round trip.
        lease, (field_rows, reason_rows, endpoint_rows, *key) = lease_and_rows_for_write(
            item_id=item_id,
            reviewer=reviewer,
            lease_token=lease_token,
            now=now,
            visible_to=visible_to,
            also=[
                db.select_statement(ItemField, "item_id = %s", [item_id], order_by="position"),
                db.select_statement(Reason, "item_id = %s", [item_id]),
                item_endpoint_statement(item_id),
                *db.keys_statement(Review),
            ],
        )
        item = lease.item
        if decision == Review.Decision.ESCALATE and item.status == Item.Status.ESCALATED:
            # A lead holds it: escalating again would hand it back to the same leads.
            raise WorkflowError(
                "This item is already with its leads: approve or reject it.",
                code="already_escalated",
            )
        # Into the item's prefetch cache: the audit record and the webhook read them there.
        _prefetched(item, "fields", db.instances_of(ItemField, field_rows))
        _prefetched(item, "reasons", db.instances_of(Reason, reason_rows))
        item_fields = {f.name: f for f in item.fields.all()}
        if decision == Review.Decision.ESCALATE:
            labels = []
        else:
            labels = _check_verdicts(item, item_fields, fields, decision)
        if decision != Review.Decision.APPROVE and not reason.strip():
            raise ValidationError({"reason": [f"say why you {decision} this item"]})
        record_activity(lease, now=now, reported_seconds=active_seconds)
        review = Review(
            pk=db.key_drawn(key),
            item=item,
            lease=lease,
            reviewer=reviewer,
            decision=decision,
            reason=reason.strip(),
            comment=comment.strip(),
            started_at=lease.claimed_at,
            decided_at=now,
            active_seconds=round(lease.active_seconds, 1),
        )
        item.status, double_review = _next_status(item, review, labels)
        item.decided_at = now if item.status in DECIDED else None
        item.lease_holder, item.leased_until, item.updated_at = None, None, now
        lease.ended_at, lease.end = now, Lease.End.DECIDED
        _label_fields(labels)  # the webhook reports the fields as decided
        # Once decided or escalated, not while it waits.
        webhook_enqueue_outcome(
            item, review=review, endpoints=db.instances_of(WebhookEndpoint, endpoint_rows)
        )
        # The review, its labels and every update in one round trip, the audit head locked last.
        *_, head = _store_review(
            review,
            labels,
            then=[
                (
                    f"""UPDATE {Lease._meta.db_table} SET ended_at = %s, "end" = %s,
                        active_seconds = %s, last_seen_at = %s WHERE id = %s""",  # noqa: S608
                    [now, lease.end, lease.active_seconds, lease.last_seen_at, lease.pk],
                ),
                (
                    f"""UPDATE {Item._meta.db_table} SET status = %s, decided_at = %s,
                        lease_holder_id = NULL, leased_until = NULL, first_reviewer_id = %s,
                        updated_at = %s WHERE id = %s""",  # noqa: S608
                    [item.status, item.decided_at, item.first_reviewer_id, now, item.pk],
                ),
                audit_head_lock(),
            ],
        )
        recorded = audit_event(
            obj=item,
            action="review.item.escalated"
            if decision == Review.Decision.ESCALATE
            else "review.decision.recorded",
            actor=Actor.user(reviewer),
            data={
                **_decision_data(review, lease, labels),
                "shown": _what_was_shown(item, item_fields),
                "double_review": double_review,
            },
        )
        if review.second_of_id and not all(review.agreement.values()):
            _record_disagreement(item, review)
        audit_append([recorded], head=head, last=True)
        transaction.on_commit(
            partial(events.queue_changed, queue_id=item.queue_id, slug=item.queue.slug)
        )
        if labels:
            on_labels_stored(agent_id=item.agent_id)  # new labels: the calibrators may be due
    return review


def _prefetched(item: Item, relation: str, rows: list) -> None:
    """Put rows read otherwise where prefetch_related would (item.<relation>.all() answers
    from them), as Django's prefetching itself does: its machinery cost three times the
    queries (1.7 ms against 0.5 ms per decision)."""
    related = getattr(item, relation).all()
    related._result_cache, related._prefetch_done = rows, True
    item.__dict__.setdefault("_prefetched_objects_cache", {})[relation] = related


DECIDED = {Item.Status.APPROVED, Item.Status.REJECTED}


def _next_status(item: Item, review: Review, labels: list[_Label]) -> tuple[str, dict]:
    """Where the item goes after this review (not yet stored), and what to audit about double
    review.

    A share of reviewed items (the queue's double_review_rate) waits for a blind second review
    by someone else; when the two disagree on the decision or any field, a lead adjudicates.
    """
    if review.decision == Review.Decision.ESCALATE:
        return Item.Status.ESCALATED, {}
    decided = (
        Item.Status.APPROVED if review.decision == Review.Decision.APPROVE else Item.Status.REJECTED
    )
    if item.first_reviewer_id:
        return _second_review_done(item, review, labels, decided)
    if random.random() < item.queue.double_review_rate:
        item.first_reviewer = review.reviewer
        return Item.Status.PENDING, {"requested": True}
    return decided, {}


def _second_review_done(
    item: Item, review: Review, labels: list[_Label], decided: str
) -> tuple[str, dict]:
    first = (
        item.reviews.filter(reviewer_id=item.first_reviewer_id, second_of__isnull=True)
        .order_by("-decided_at")
        .first()
    )
    item.first_reviewer = None
    if first is None:
        return decided, {}
    review.second_of, review.agreement = first, _agreement(first, review, labels)
    outcome = {"second_of": first.pk, "agreement": review.agreement}
    if all(review.agreement.values()):
        return decided, outcome
    return Item.Status.ESCALATED, outcome  # _record_disagreement says why, once stored


def _record_disagreement(item: Item, review: Review) -> None:
    """The blocking reason that sends a disagreeing second review to the leads (after the
    review is stored: it names it)."""
    disagreed = [name for name, agreed in review.agreement.items() if not agreed]
    Reason.objects.create(
        item=item,
        code="double_review_disagreement",
        message=f"Two reviewers disagree on {', '.join(disagreed)}: a lead decides.",
        blocking=True,
        details={"first_review": review.second_of_id, "second_review": review.pk},
    )
    # item_decide prefetched the reasons; whoever shows the item next must see this one too.
    getattr(item, "_prefetched_objects_cache", {}).pop("reasons", None)


def _agreement(first: Review, second: Review, second_labels: list[_Label]) -> dict[str, bool]:
    """Per field: did both reviews end at the same value? And did they decide the same?"""
    first_finals = {
        label.field.name: label.final_value if label.verdict != Verdict.UNDETERMINABLE else None
        for label in first.labels.select_related("field")
    }
    second_finals = {
        label.field.name: label.final if label.verdict != Verdict.UNDETERMINABLE else None
        for label in second_labels
    }
    agreement = {name: second_finals.get(name) == value for name, value in first_finals.items()}
    agreement["decision"] = first.decision == second.decision
    return agreement


@dataclass(frozen=True)
class _Label:
    field: ItemField
    verdict: str
    final: Any
    correction_reason: str
    note: str


def _store_review(
    review: Review, labels: list[_Label], *, then: Sequence[db.Statement] = ()
) -> list[list[tuple]]:
    """Insert the review and its labels, and store the fields' verdicts and final values, then
    run the statements `then`: one round trip on PostgreSQL. Returns the rows of `then`."""
    _label_fields(labels)
    results = db.insert(
        db.instances([review], need_pks=review.pk is None),
        db.instances(
            [
                FieldLabel(
                    review=review,
                    field=label.field,
                    verdict=label.verdict,
                    original_value=label.field.value,
                    final_value=label.final,
                    correction_reason=label.correction_reason,
                    note=label.note,
                )
                for label in labels
            ]
        ),
        then=[*_final_values(labels), *then],
    )
    return results[-len(then) :] if then else []


def _label_fields(labels: list[_Label]) -> None:
    """The fields as decided, in memory (the webhook and the answer read them)."""
    for label in labels:
        label.field.verdict, label.field.final_value = label.verdict, label.final


def _final_values(labels: list[_Label]) -> list[db.Statement]:
    """The fields' verdicts and final values: one plain UPDATE for all the fields found correct
    (their final value is their own) and one for the undeterminable ones; corrected fields one
    by one. bulk_update's CASE per row cost more to build than the decision's other writes
    together, for what is mostly "every field correct"."""
    table = ItemField._meta.db_table
    final_value = ItemField._meta.get_field("final_value")
    statements: list[db.Statement] = []
    by_verdict: dict[str, list[int]] = {}
    for label in labels:
        if label.verdict == Verdict.CORRECTED:
            statements.append(
                (
                    f"UPDATE {table} SET verdict = %s, final_value = %s WHERE id = %s",  # noqa: S608
                    [
                        label.verdict,
                        final_value.get_db_prep_value(label.final, connection),
                        label.field.pk,
                    ],
                )
            )
        else:
            by_verdict.setdefault(label.verdict, []).append(label.field.pk)
    final_of = {Verdict.CORRECT: "value", Verdict.UNDETERMINABLE: "NULL"}
    for verdict, ids in by_verdict.items():
        statements.append(
            (
                f"UPDATE {table} SET verdict = %s, final_value = {final_of[verdict]}"  # noqa: S608
                f" WHERE id IN ({db.marks(ids)})",
                [verdict, *ids],
            )
        )
    return statements


def _what_was_shown(item: Item, item_fields: dict[str, ItemField]) -> dict:
    """What the reviewer saw when deciding: reasons, confidences (unless blind), evidence."""
    blind = item.queue.blind_review
    return {
        "blind": blind,
        "reasons": [
            {"code": r.code, "field": r.field_name, "message": r.message}
            for r in item.reasons.all()
            if r.code not in HIDDEN_REASONS
        ],
        "fields": {
            name: {
                "value": f.value,
                "confidence": None if blind else f.confidence,
                "evidence": f.evidence,
            }
            for name, f in item_fields.items()
        },
    }


def _decision_data(review: Review, lease: Lease, labels: list[_Label]) -> dict:
    return {
        "review": review.pk,
        "decision": review.decision,
        "reason": review.reason,
        "comment": review.comment,
        "lease": str(lease.token),
        "active_seconds": review.active_seconds,
        "labels": [
            {
                "field": label.field.name,
                "verdict": label.verdict,
                "before": label.field.value,
                "after": label.final,
                "correction_reason": label.correction_reason,
                "note": label.note,
            }
            for label in labels
        ],
    }


def _check_verdicts(
    item: Item, item_fields: dict[str, ItemField], given: list[FieldVerdictIn], decision: str
) -> list[_Label]:
    """Check the verdicts; return the labels or raise naming each bad one."""
    errors: dict[str, list[str]] = {}
    labels: list[_Label] = []
    seen: set[str] = set()
    for index, entry in enumerate(given):
        at = f"fields[{index}]"
        field = item_fields.get(entry.name)
        if field is None:
            errors[f"{at}.name"] = [f"this item has no field {entry.name!r}"]
        elif entry.name in seen:
            errors[f"{at}.name"] = [f"{entry.name!r} appears twice"]
        elif entry.verdict not in Verdict.values:
            errors[f"{at}.verdict"] = [f"must be one of {', '.join(Verdict.values)}"]
        else:
            seen.add(entry.name)
            problems = _verdict_problems(item, field, entry)
            if problems:
                errors.update({f"{at}.{key}": [message] for key, message in problems.items()})
            else:
                final = {Verdict.CORRECT: field.value, Verdict.UNDETERMINABLE: None}.get(
                    entry.verdict, entry.value
                )
                note = entry.note.strip()
                labels.append(_Label(field, entry.verdict, final, entry.correction_reason, note))
    if decision == Review.Decision.APPROVE:
        missing = [name for name in item_fields if name not in seen]
        if missing:
            errors.setdefault("fields", []).append(
                f"give a verdict on every field before approving: {', '.join(missing)}"
            )
    if errors:
        raise ValidationError(errors)
    return labels


def _verdict_problems(item: Item, field: ItemField, entry: FieldVerdictIn) -> dict[str, str]:
    if entry.verdict != Verdict.CORRECTED:
        return {}
    if entry.value is MISSING:
        return {"value": "give the corrected value"}
    if entry.value == field.value:
        return {"value": "is the agent's own value; use the verdict correct"}
    spec = item.queue.field_spec(entry.name)
    if spec and (problem := schema.value_error(spec, entry.value)):
        return {"value": problem}
    if entry.correction_reason not in CorrectionReason.values:
        return {"correction_reason": f"say why it was wrong: {', '.join(CorrectionReason.values)}"}
    if entry.correction_reason == CorrectionReason.OTHER and not entry.note.strip():
        return {"note": "say what was wrong"}
    return {}
