"""The API's item answer read in one statement says exactly what ItemSerializer says."""

from __future__ import annotations

import pytest
from rest_framework.renderers import JSONRenderer

from review import selectors, services
from review.api import ItemSerializer, item_data
from review.models import Item
from review.services import FieldVerdictIn
from tests.conftest import postgres_only
from tests.factories import ingest

pytestmark = [pytest.mark.django_db, postgres_only]

FIELDS = ("policy_number", "loss_date", "amount", "claim_type")


def _as_serializer_says(item_id: int) -> bytes:
    item = selectors.item_for_api(Item.objects.filter(pk=item_id)).get()
    return JSONRenderer().render(ItemSerializer(item).data)


def _decide(item: Item, reviewer, decision: str = "approve", **changes) -> None:  # noqa: ANN001
    lease = services.lease_claim_next(queue=item.queue, reviewer=reviewer)
    assert lease.item_id == item.pk
    verdicts = [
        changes.get(name) or FieldVerdictIn(name=name, verdict="correct") for name in FIELDS
    ]
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision=decision,
        fields=verdicts if decision != "escalate" else [],
        reason="" if decision == "approve" else "needs_info",
        comment="Checked against the form — ok",
    )


def _same(item: Item) -> dict:
    fast = item_data(item.pk)
    assert JSONRenderer().render(fast) == _as_serializer_says(item.pk)
    return fast


def test_a_waiting_item_with_reasons_documents_and_nested_values(agent):
    item = ingest(
        agent,
        external_id="nested",
        metadata={"trace": {"spans": [1, 2.5, None, "é"]}, "flag": True},
        rationale="Read from the scanned form; the amount was smudged.",
    )
    data = _same(item)
    assert data["status"] == "pending_review" and data["decision"] is None
    assert data["reasons"] and data["documents"][0]["text"].startswith("FIRST NOTICE")


def test_a_decided_item_with_a_correction(agent, reviewer):
    item = ingest(agent, external_id="corrected")
    amount = FieldVerdictIn(
        name="amount", verdict="corrected", value=1520.0, correction_reason="misread"
    )
    _decide(item, reviewer, amount=amount)
    data = _same(item)
    assert data["decision"]["decision"] == "approve"
    assert [f["final_value"] for f in data["fields"]][2] == 1520.0


def test_an_item_waiting_for_its_blind_second_review_shows_no_first_verdicts(
    agent, queue, reviewer
):
    queue.double_review_rate = 1.0
    queue.save()
    item = ingest(agent, external_id="second")
    _decide(item, reviewer)
    data = _same(item)
    assert data["status"] == "pending_review"
    assert data["decision"] is None
    assert {f["verdict"] for f in data["fields"]} == {""}


def test_an_escalated_item_and_one_without_confidence(agent, reviewer):
    item = ingest(agent, external_id="escalated")
    _decide(item, reviewer, decision="escalate")
    assert _same(item)["status"] == "escalated"
    no_confidence = ingest(agent, external_id="blank", confidence=None)
    Item.objects.filter(pk=no_confidence.pk).update(confidence=None)
    assert _same(no_confidence)["confidence"] is None


def test_an_unknown_item_is_does_not_exist(db):
    with pytest.raises(Item.DoesNotExist):
        item_data(987654)
