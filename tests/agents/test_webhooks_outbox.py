"""The outbox: a delivery row is written in the transaction of the change it reports."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import WebhookDelivery
from agents.payload import parse_item
from review import services
from review.models import Document, Item, Review
from review.services import FieldVerdictIn
from tests.agents.webhooks_support import endpoint_for, verify
from tests.factories import CLAIM_TEXT, AgentFactory, ingest, item_payload, reject_held

pytestmark = pytest.mark.django_db

FIELDS = ("policy_number", "loss_date", "amount", "claim_type")
ALL_CORRECT = [FieldVerdictIn(name, "correct") for name in FIELDS]


@pytest.fixture
def hooked(local_webhooks, agent):
    """The agent has an endpoint for every event; nothing listens (no test here sends)."""
    endpoint, _ = endpoint_for(agent, "http://127.0.0.1:9/hook")
    return endpoint


def decide(item: Item, reviewer, decision: str, fields=None, reason: str = "") -> Review:  # noqa: ANN001
    lease = services.lease_claim_next(queue=item.queue, reviewer=reviewer)
    assert lease is not None and lease.item_id == item.pk
    return services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision=decision,
        fields=ALL_CORRECT if fields is None else fields,
        reason=reason,
    )


def payloads(item: Item) -> list[dict]:
    deliveries = WebhookDelivery.objects.filter(item=item).order_by("id")
    return [json.loads(d.body) for d in deliveries]


def test_a_decision_writes_its_delivery_with_verdicts(hooked, agent, reviewer):
    item = ingest(agent)
    corrected = FieldVerdictIn("amount", "corrected", 1520.0, "wrong_value")
    decide(item, reviewer, "approve", [*ALL_CORRECT[:2], corrected, ALL_CORRECT[3]])

    [payload] = payloads(item)
    data = payload["data"]
    assert payload["type"] == "item.decided"
    assert (data["decision"], data["override"], data["override_reason"]) == (
        "approved",
        False,
        None,
    )
    assert data["decided_at"] is not None and data["item_id"] == item.pk
    assert {
        "name": "amount",
        "predicted_value": 1250.0,
        "final_value": 1520.0,
        "verdict": "corrected",
    } in data["fields"]
    assert data["fields"][0]["verdict"] == "correct"


def test_a_decision_that_rolls_back_leaves_no_delivery(hooked, agent, reviewer, monkeypatch):
    item = ingest(agent)

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr("review.services.decisions.audit_append", broken_audit)
    with pytest.raises(RuntimeError):
        decide(item, reviewer, "reject", [], reason="wrong_document")

    assert not WebhookDelivery.objects.exists()
    item.refresh_from_db()
    assert item.status == Item.Status.PENDING


def test_a_first_review_sent_to_double_review_tells_the_agent_nothing_yet(
    hooked, agent, queue, reviewer, other_reviewer
):
    queue.double_review_rate = 1.0
    queue.save()
    item = ingest(agent)
    decide(item, reviewer, "approve")
    assert payloads(item) == []
    decide(item, other_reviewer, "approve")
    assert [p["type"] for p in payloads(item)] == ["item.decided"]


def test_escalation_and_the_leads_decision_are_both_reported(hooked, agent, reviewer, lead):
    item = ingest(agent)
    decide(item, reviewer, "escalate", reason="needs_specialist")
    lease = services.lease_claim_escalated(item=item, lead=lead)
    reject_held(lease, lead, "out_of_scope")

    escalated, decided = payloads(item)
    assert escalated["type"] == "item.escalated"
    assert escalated["data"]["decision"] == "escalated"
    assert escalated["data"]["reason"] == "needs_specialist"
    assert escalated["data"]["decided_at"] is None and escalated["data"]["escalated_at"]
    assert decided["type"] == "item.decided"
    assert (decided["data"]["decision"], decided["data"]["reason"]) == ("rejected", "out_of_scope")


def test_an_sla_breach_escalation_is_reported(hooked, agent):
    import datetime as dt

    from django.utils import timezone

    from review.services import items_flag_breached

    item = ingest(agent)
    assert items_flag_breached(now=timezone.now() + dt.timedelta(days=1)) == 1
    [escalated] = payloads(item)
    assert escalated["type"] == "item.escalated"
    assert escalated["data"]["decision"] == "escalated"


def test_a_leads_override_is_reported_as_an_override(hooked, agent, lead):
    item = ingest(agent, confidence=0.99)
    assert item.status == Item.Status.AUTO_ACCEPTED
    services.item_override(
        item=item,
        lead=lead,
        decision="approve",
        fields=[FieldVerdictIn("amount", "corrected", 1350.0, "misread")],
        reason="The scan says 1,350",
    )

    accepted, overridden = payloads(item)
    assert accepted["type"] == "item.auto_accepted"
    data = overridden["data"]
    assert overridden["type"] == "item.decided"
    assert (data["decision"], data["override"], data["override_reason"]) == (
        "approved",
        True,
        "The scan says 1,350",
    )
    amount = next(f for f in data["fields"] if f["name"] == "amount")
    assert (amount["final_value"], amount["verdict"]) == (1350.0, "corrected")


def test_only_subscribed_events_are_queued(local_webhooks, agent, reviewer):
    endpoint_for(agent, "http://127.0.0.1:9/hook", events=["item.decided"])
    escalated, accepted = ingest(agent, external_id="e"), ingest(agent, confidence=0.99)
    decide(escalated, reviewer, "escalate", reason="needs_specialist")
    assert payloads(escalated) == [] and payloads(accepted) == []


def test_a_disabled_endpoint_gets_nothing(hooked, agent):
    hooked.enabled = False
    hooked.save()
    ingest(agent, confidence=0.99)
    assert not WebhookDelivery.objects.exists()


def _batch(agent, n: int, confidence: float) -> list:
    parsed = []
    for i in range(n):
        payload = item_payload(external_id=f"b{i}")
        payload["fields"][2]["confidence"] = confidence
        parsed.append(parse_item(payload)[0])
    return services.items_ingest(agent=agent, payloads=parsed)


def _endpoint_queries(run) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        run()
    return sum("agents_webhookendpoint" in q["sql"] for q in queries.captured_queries)


def test_batch_ingest_queues_auto_accepted_items_with_one_endpoint_query(hooked, agent):
    # On PostgreSQL it rides the ingest's first round trip (a pipeline Django does not log).
    assert _endpoint_queries(lambda: _batch(agent, 20, confidence=0.99)) <= 1
    assert WebhookDelivery.objects.filter(event_type="item.auto_accepted").count() == 20
    body = json.loads(WebhookDelivery.objects.get(item__external_id="b7").body)
    assert body["data"]["external_id"] == "b7" and len(body["data"]["fields"]) == 4


def test_batch_ingest_without_auto_acceptance_or_endpoint_asks_nothing(local_webhooks, agent):
    assert _endpoint_queries(lambda: _batch(agent, 5, confidence=0.5)) == 0
    other = AgentFactory(queues=list(agent.queues.all()))
    assert _endpoint_queries(lambda: _batch(other, 5, confidence=0.99)) <= 1
    assert not WebhookDelivery.objects.exists()


def test_items_auto_accepted_after_their_file_is_read_are_reported(hooked, agent):
    document = Document.objects.create(
        sha256=uuid.uuid4().hex * 2,
        content_type="application/pdf",
        size_bytes=1000,
        status=Document.Status.PENDING,
    )
    document.agents.add(agent)
    payload = item_payload()
    payload["documents"] = [{"key": "form", "document_id": document.pk}]
    [result] = services.items_ingest(agent=agent, payloads=[parse_item(payload)[0]])
    assert result.item.status == Item.Status.ASSESSING and payloads(result.item) == []

    document.status, document.text = Document.Status.READY, CLAIM_TEXT
    document.save()
    services.items_assess_waiting(document=document)

    [payload] = payloads(result.item)
    assert payload["type"] == "item.auto_accepted"
    assert payload["data"]["decided_at"] is not None


def test_the_delivery_is_sent_once_the_decision_commits(
    local_webhooks, receiver, agent, reviewer, django_capture_on_commit_callbacks
):
    _, secret = endpoint_for(agent, receiver.url())
    item = ingest(agent)
    with django_capture_on_commit_callbacks(execute=True):
        decide(item, reviewer, "approve")

    [request] = receiver.requests
    assert verify(secret, request.headers, request.body)
    assert request.json["data"]["item_id"] == item.pk
    assert WebhookDelivery.objects.get(item=item).status == WebhookDelivery.Status.DELIVERED
