"""Double review: a share of reviewed items is reviewed again, blind, by someone else."""

from __future__ import annotations

import pytest

from accountability.models import AuditEvent
from review import services
from review.models import Item, Review
from review.services import FieldVerdictIn
from tests.factories import ingest

pytestmark = pytest.mark.django_db

NAMES = ("policy_number", "loss_date", "amount", "claim_type")


def _review(queue, reviewer, **corrections):  # noqa: ANN001, ANN003, ANN202
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    assert lease is not None
    verdicts = [
        FieldVerdictIn(n, "corrected", corrections[n], "misread")
        if n in corrections
        else FieldVerdictIn(n, "correct")
        for n in NAMES
    ]
    services.item_decide(
        item_id=lease.item_id,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=verdicts,
    )
    return lease.item_id


@pytest.fixture
def double(queue):
    queue.double_review_rate = 1.0
    queue.save()
    return queue


def test_a_second_reviewer_who_agrees_settles_the_item(agent, double, reviewer, other_reviewer):
    item = ingest(agent)
    _review(double, reviewer, amount=1205.0)
    assert Item.objects.get(pk=item.pk).status == Item.Status.PENDING
    assert services.lease_claim_next(queue=double, reviewer=reviewer) is None  # never to the first
    _review(double, other_reviewer, amount=1205.0)
    item.refresh_from_db()
    assert item.status == Item.Status.APPROVED and item.first_reviewer is None
    second = Review.objects.get(reviewer=other_reviewer)
    assert second.second_of.reviewer == reviewer
    assert second.agreement == {
        "policy_number": True,
        "loss_date": True,
        "amount": True,
        "claim_type": True,
        "decision": True,
    }
    audited = AuditEvent.objects.filter(action="review.decision.recorded").order_by("seq")
    assert [e.data["double_review"] for e in audited][0] == {"requested": True}


def test_disagreement_goes_to_a_lead_with_the_fields_named(agent, double, reviewer, other_reviewer):
    item = ingest(agent)
    _review(double, reviewer, amount=1205.0)
    _review(double, other_reviewer, amount=1250.5)
    item.refresh_from_db()
    assert item.status == Item.Status.ESCALATED
    reason = item.reasons.get(code="double_review_disagreement")
    assert reason.message == "Two reviewers disagree on amount: a lead decides."
    first, second = (
        Review.objects.get(reviewer=reviewer),
        Review.objects.get(reviewer=other_reviewer),
    )
    assert second.agreement["amount"] is False and second.second_of == first
    # The lead is pointed at both reviews.
    assert reason.details == {"first_review": first.pk, "second_review": second.pk}
    # What the second reviewer was shown did not include the disagreement it caused.
    [recorded] = AuditEvent.objects.filter(
        action="review.decision.recorded", actor_id=other_reviewer.pk
    )
    assert "double_review_disagreement" not in {
        r["code"] for r in recorded.data["shown"]["reasons"]
    }


def test_without_double_review_one_decision_settles_it(agent, queue, reviewer):
    item = ingest(agent)
    _review(queue, reviewer)
    assert Item.objects.get(pk=item.pk).status == Item.Status.APPROVED
