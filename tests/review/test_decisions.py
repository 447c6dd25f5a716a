"""Deciding an item: labels per field, all-or-nothing, refusals that say why."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accountability.api import WorkflowError
from accountability.models import AuditEvent
from review import services
from review.models import FieldLabel, Item, Review
from review.services import FieldVerdictIn
from tests.factories import ingest

pytestmark = pytest.mark.django_db

ALL_CORRECT = [
    FieldVerdictIn(n, "correct") for n in ("policy_number", "loss_date", "amount", "claim_type")
]


@pytest.fixture
def held(agent, queue, reviewer):
    item = ingest(agent)
    return item, services.lease_claim_next(queue=queue, reviewer=reviewer)


def test_approve_with_a_correction_stores_labels_final_values_and_audit(held, reviewer):
    item, lease = held
    verdicts = [
        *ALL_CORRECT[:2],
        FieldVerdictIn("amount", "corrected", 1205.0, "misread"),
        FieldVerdictIn("claim_type", "undeterminable"),
    ]
    review = services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=verdicts,
        active_seconds=41.5,
    )
    item.refresh_from_db()
    assert item.status == Item.Status.APPROVED and item.decided_at is not None
    assert item.lease_holder is None
    amount = item.fields.get(name="amount")
    assert (amount.verdict, amount.value, amount.final_value) == ("corrected", 1250.0, 1205.0)
    assert item.fields.get(name="claim_type").final_value is None
    label = FieldLabel.objects.get(review=review, field=amount)
    assert (label.original_value, label.final_value) == (1250.0, 1205.0)
    assert review.active_seconds <= 41.5 and review.started_at == lease.claimed_at
    event = AuditEvent.objects.get(action="review.decision.recorded")
    assert {
        "field": "amount",
        "verdict": "corrected",
        "before": 1250.0,
        "after": 1205.0,
        "correction_reason": "misread",
        "note": "",
    } in event.data["labels"]


def test_approve_needs_a_verdict_on_every_field(held, reviewer):
    item, lease = held
    with pytest.raises(ValidationError) as refused:
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="approve",
            fields=ALL_CORRECT[:3],
        )
    assert "claim_type" in refused.value.message_dict["fields"][0]
    assert Review.objects.count() == 0


def test_correction_is_checked_against_the_schema_and_nothing_is_half_saved(held, reviewer):
    item, lease = held
    verdicts = [*ALL_CORRECT[:3], FieldVerdictIn("claim_type", "corrected", "boat", "wrong_value")]
    with pytest.raises(ValidationError) as refused:
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="approve",
            fields=verdicts,
        )
    assert "must be one of auto, home, health" in refused.value.message_dict["fields[3].value"][0]
    assert not FieldLabel.objects.exists()
    assert Item.objects.get(pk=item.pk).status == Item.Status.PENDING


@pytest.mark.parametrize(
    ("verdict", "path", "message"),
    [
        (FieldVerdictIn("amount", "corrected"), "fields[0].value", "give the corrected value"),
        (FieldVerdictIn("amount", "corrected", 1250.0), "fields[0].value", "agent's own value"),
        (FieldVerdictIn("colour", "correct"), "fields[0].name", "no field 'colour'"),
        (FieldVerdictIn("amount", "maybe"), "fields[0].verdict", "must be one of"),
    ],
)
def test_bad_verdicts_are_named(held, reviewer, verdict, path, message):
    item, lease = held
    with pytest.raises(ValidationError) as refused:
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="reject",
            fields=[verdict],
            reason="illegible",
        )
    assert message in refused.value.message_dict[path][0]


def test_reject_needs_a_reason(held, reviewer):
    item, lease = held
    with pytest.raises(ValidationError) as refused:
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="reject",
            fields=[],
        )
    assert "reason" in refused.value.message_dict
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="reject",
        fields=[],
        reason="wrong_document",
        comment="This is a dental claim.",
    )
    assert Item.objects.get(pk=item.pk).status == Item.Status.REJECTED


def test_double_submit_records_one_decision(held, reviewer):
    item, lease = held
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=ALL_CORRECT,
    )
    with pytest.raises(WorkflowError, match="already decided"):
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="approve",
            fields=ALL_CORRECT,
        )
    assert Review.objects.count() == 1


def test_lease_that_ran_out_cannot_decide_even_if_nobody_took_it(held, reviewer):
    item, lease = held
    lease.expires_at = lease.claimed_at  # ran out
    lease.save()
    with pytest.raises(WorkflowError, match="expired"):
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="approve",
            fields=ALL_CORRECT,
        )
    assert Review.objects.count() == 0


@pytest.mark.parametrize(
    ("verdict", "path", "message"),
    [
        (FieldVerdictIn("amount", "corrected", 1205.0), "fields[3].correction_reason", "say why"),
        (
            FieldVerdictIn("amount", "corrected", 1205.0, "guess"),
            "fields[3].correction_reason",
            "say why",
        ),
        (FieldVerdictIn("amount", "corrected", 1205.0, "other"), "fields[3].note", "say what"),
    ],
)
def test_a_correction_needs_a_countable_reason(held, reviewer, verdict, path, message):
    item, lease = held
    with pytest.raises(ValidationError) as refused:
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="approve",
            fields=[*ALL_CORRECT[:2], ALL_CORRECT[3], verdict],
        )
    assert message in refused.value.message_dict[path][0]


def test_other_correction_reason_with_a_note_is_stored(held, reviewer):
    item, lease = held
    fix = FieldVerdictIn("amount", "corrected", 1205.0, "other", note="currency was GBP")
    review = services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=[*ALL_CORRECT[:2], ALL_CORRECT[3], fix],
    )
    label = review.labels.get(field__name="amount")
    assert (label.correction_reason, label.note) == ("other", "currency was GBP")


def test_escalation_needs_a_reason_and_leaves_the_queue_without_labels(
    held, reviewer, queue, other_reviewer
):
    item, lease = held
    with pytest.raises(ValidationError):
        services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="escalate",
            fields=[],
        )
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="escalate",
        fields=[],
        reason="suspected_fraud",
        comment="Same VIN as claim 1182.",
    )
    item.refresh_from_db()
    assert item.status == Item.Status.ESCALATED and item.decided_at is None
    assert not FieldLabel.objects.exists()
    assert (
        AuditEvent.objects.get(action="review.item.escalated").data["reason"] == "suspected_fraud"
    )
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer) is None


def test_the_decision_records_what_the_reviewer_was_shown(held, reviewer, queue):
    item, lease = held
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=ALL_CORRECT,
    )
    shown = AuditEvent.objects.get(action="review.decision.recorded").data["shown"]
    assert shown["blind"] is False
    assert [r["code"] for r in shown["reasons"]] == ["low_confidence"]
    assert shown["fields"]["amount"]["confidence"] == 0.5
    assert shown["fields"]["amount"]["evidence"] == [{"document": "form", "quote": "EUR 1,250.00"}]
