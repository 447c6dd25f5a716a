"""The ingest API as an agent uses it."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accountability.audit import Actor
from accountability.models import AuditEvent
from agents import services as agent_services
from review.models import Document, Item, ItemField, Reason
from tests.factories import AgentFactory, QueueFactory, item_payload

pytestmark = pytest.mark.django_db

SUBMIT = "/api/v1/items"
BATCH = "/api/v1/items/batch"


def test_confident_evidenced_output_is_auto_accepted(agent_client):
    response = agent_client.post(SUBMIT, item_payload(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "auto_accepted"
    assert body["reasons"] == []
    assert body["url"].endswith(f"/api/v1/items/{body['id']}")
    item = Item.objects.get(pk=body["id"])
    assert item.agent_version == "v1.0"
    assert item.metadata["trace_id"] == "trace-123"
    assert list(item.fields.values_list("name", flat=True)) == [
        "policy_number",
        "loss_date",
        "amount",
        "claim_type",
    ]
    assert (
        AuditEvent.objects.filter(action="review.item.ingested", target_id=str(item.pk)).count()
        == 1
    )


def test_low_confidence_field_waits_for_review_with_a_readable_reason(agent_client):
    payload = item_payload()
    payload["fields"][1]["confidence"] = 0.62
    body = agent_client.post(SUBMIT, payload, format="json").json()
    assert body["status"] == "pending_review"
    [reason] = body["reasons"]
    assert reason["code"] == "low_confidence"
    assert reason["field"] == "loss_date"
    assert reason["blocking"] is True
    assert "62%" in reason["message"] and "85%" in reason["message"]


def test_repeat_with_same_payload_returns_first_result_and_writes_nothing(agent_client):
    first = agent_client.post(SUBMIT, item_payload(), format="json")
    # Key order does not make a payload different.
    reordered = json.loads(
        json.dumps(item_payload()), object_pairs_hook=lambda pairs: dict(reversed(pairs))
    )
    second = agent_client.post(SUBMIT, reordered, format="json")
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Item.objects.count() == 1
    assert ItemField.objects.count() == 4


def test_same_external_id_with_different_payload_is_a_conflict(agent_client):
    first = agent_client.post(SUBMIT, item_payload(), format="json").json()
    changed = item_payload()
    changed["fields"][2]["value"] = 9999
    response = agent_client.post(SUBMIT, changed, format="json")
    assert response.status_code == 409
    assert response.json()["id"] == first["id"]
    assert "different payload" in response.json()["detail"]
    assert Item.objects.get().fields.get(name="amount").value == 1250.0


def test_malformed_body_names_each_bad_part(agent_client):
    payload = item_payload()
    payload["fields"][2]["confidence"] = 1.5
    payload["fields"][0]["evidence"] = [{"document": "nope", "quote": "x"}]
    response = agent_client.post(SUBMIT, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["fields[2].confidence"] == ["must be between 0 and 1"]
    assert "fields[0].evidence[0].document" in body["errors"]
    assert "fields[2].confidence: must be between 0 and 1" in body["detail"]
    assert Item.objects.count() == 0


def test_invalid_json_is_a_400_not_a_500(agent_client):
    response = agent_client.post(SUBMIT, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_no_token_is_401_and_a_bad_token_is_401(client):
    assert client.post(SUBMIT, item_payload(), content_type="application/json").status_code == 401
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer acc_not-a-real-token")
    response = api.post(SUBMIT, item_payload(), format="json")
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


def test_revoked_token_is_refused(agent, agent_client):
    token = agent.tokens.get()
    agent_services.token_revoke(token=token, actor=Actor.system("tests"))
    assert agent_client.post(SUBMIT, item_payload(), format="json").status_code == 401


def test_queue_the_agent_may_not_use_is_403_and_unknown_queue_is_400(agent_client):
    QueueFactory(slug="invoices")
    forbidden = agent_client.post(SUBMIT, item_payload(queue="invoices"), format="json")
    assert forbidden.status_code == 403
    assert "may not post to queue invoices" in forbidden.json()["detail"]
    unknown = agent_client.post(SUBMIT, item_payload(queue="nowhere"), format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"queue": ["no queue with slug 'nowhere'"]}


def test_a_queue_change_applies_to_the_next_item_and_a_revoked_queue_is_refused(
    agent, queue, agent_client
):
    """The queues come with the token's round trip, read afresh on every request."""
    payload = item_payload()
    payload["fields"][1]["confidence"] = 0.8
    assert agent_client.post(SUBMIT, payload, format="json").json()["status"] == "pending_review"
    queue.default_threshold = 0.75
    queue.save()
    payload["external_id"] = "claim-2"
    assert agent_client.post(SUBMIT, payload, format="json").json()["status"] == "auto_accepted"
    agent.queues.remove(queue)
    payload["external_id"] = "claim-3"
    refused = agent_client.post(SUBMIT, payload, format="json")
    assert refused.status_code == 403
    batch = agent_client.post(BATCH, {"items": [payload]}, format="json").json()
    assert batch["results"][0]["status_code"] == 403


def test_oversized_body_is_413(agent_client, settings):
    settings.API_MAX_BODY_BYTES = 2000
    payload = item_payload()
    payload["documents"][0]["text"] = "x" * 5000
    response = agent_client.post(SUBMIT, payload, format="json")
    assert response.status_code == 413
    assert "limit is 2000 bytes" in response.json()["detail"]


def test_a_person_cannot_submit_as_an_agent(reviewer_client):
    assert reviewer_client.post(SUBMIT, item_payload(), format="json").status_code == 403


def test_identical_documents_are_stored_once(agent_client):
    agent_client.post(SUBMIT, item_payload(external_id="a"), format="json")
    agent_client.post(SUBMIT, item_payload(external_id="b"), format="json")
    assert Document.objects.count() == 1
    assert Item.objects.count() == 2


def test_batch_answers_each_item_in_order_with_the_single_endpoints_codes(agent_client):
    QueueFactory(slug="invoices")
    agent_client.post(SUBMIT, item_payload(external_id="old"), format="json")
    low = item_payload(external_id="low")
    low["fields"][0]["confidence"] = 0.3
    bad = item_payload(external_id="bad")
    bad["fields"][1]["confidence"] = -1
    changed_old = item_payload(external_id="old", rationale="something else")
    items = [
        item_payload(external_id="new"),
        low,
        bad,
        item_payload(external_id="old"),
        changed_old,
        item_payload(external_id="x", queue="invoices"),
        item_payload(external_id="new"),
    ]
    response = agent_client.post(BATCH, {"items": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status_code"] for r in results] == [201, 201, 400, 200, 409, 403, 200]
    assert results[0]["status"] == "auto_accepted"
    assert results[1]["status"] == "pending_review"
    assert results[2]["errors"] == {"fields[1].confidence": ["must be between 0 and 1"]}
    assert results[6]["id"] == results[0]["id"]  # the same id twice in one batch is one item
    assert Item.objects.count() == 3
    assert AuditEvent.objects.filter(action="review.item.ingested").count() == 3


def test_batch_over_the_limit_is_refused_whole(agent_client, settings):
    settings.INGEST_BATCH_MAX_ITEMS = 3
    items = [item_payload(external_id=str(n)) for n in range(4)]
    response = agent_client.post(BATCH, {"items": items}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()["errors"]
    assert Item.objects.count() == 0


def test_batch_writes_fields_and_reasons_without_a_query_per_field(
    agent_client, django_assert_max_num_queries
):
    items = []
    for n in range(50):
        payload = item_payload(external_id=f"b{n}")
        payload["fields"][0]["confidence"] = 0.5  # a reason for every item
        items.append(payload)
    with django_assert_max_num_queries(20):
        response = agent_client.post(BATCH, {"items": items}, format="json")
    assert all(r["status_code"] == 201 for r in response.json()["results"])
    assert ItemField.objects.count() == 200
    assert Reason.objects.count() == 50


def test_agent_reads_its_own_item_with_verdicts_but_not_another_agents(agent_client, agent, queue):
    created = agent_client.post(SUBMIT, item_payload(), format="json").json()
    response = agent_client.get(f"/api/v1/items/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "auto_accepted"
    assert [f["name"] for f in body["fields"]] == [
        "policy_number",
        "loss_date",
        "amount",
        "claim_type",
    ]

    other = AgentFactory(queues=[queue])
    _, raw = agent_services.agent_token_create(
        agent=other, created_by=None, actor=Actor.system("tests")
    )
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert stranger.get(f"/api/v1/items/{created['id']}").status_code == 404


def test_queue_list_shows_the_agents_queues_with_their_schema(agent_client):
    QueueFactory(slug="invoices")
    body = agent_client.get("/api/v1/queues").json()
    assert [q["slug"] for q in body] == ["claims"]
    assert body[0]["fields"][0]["name"] == "policy_number"
