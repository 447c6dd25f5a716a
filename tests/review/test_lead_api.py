"""The lead's API: the same rules as the item page, as JSON; outsiders get 404."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accountability.models import AuditEvent
from review.models import Item, Review
from tests.factories import AgentFactory, ingest

pytestmark = pytest.mark.django_db
FIELDS = ("policy_number", "loss_date", "amount", "claim_type")


@pytest.fixture
def lead_client(lead) -> APIClient:
    client = APIClient()
    client.force_authenticate(lead)
    return client


def test_override_an_auto_accepted_item_names_missing_reason(lead_client, agent):
    item = ingest(agent, confidence=0.99)
    assert item.status == Item.Status.AUTO_ACCEPTED
    url = f"/api/v1/items/{item.pk}/override"
    refused = lead_client.post(url, {"decision": "reject"}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    item.refresh_from_db()
    assert item.status == Item.Status.AUTO_ACCEPTED  # nothing half-written

    body = {
        "decision": "approve",
        "reason": "Policy number belongs to another customer",
        "fields": [{"name": "claim_type", "verdict": "corrected", "value": "home",
                    "correction_reason": "wrong_value"}],
    }  # fmt: skip
    done = lead_client.post(url, body, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "approved"
    assert Review.objects.get(item=item).is_override
    assert AuditEvent.objects.filter(action="review.decision.overridden").count() == 1


def test_override_of_a_waiting_item_is_a_conflict(lead_client, agent):
    item = ingest(agent)  # waits for review
    response = lead_client.post(
        f"/api/v1/items/{item.pk}/override",
        {"decision": "approve", "reason": "x"},
        format="json",
    )
    assert response.status_code == 409


def test_reassign_and_send_back(lead_client, agent, reviewer, other_reviewer):
    item = ingest(agent)
    moved = lead_client.post(
        f"/api/v1/items/{item.pk}/reassign",
        {"to_reviewer": other_reviewer.username, "reason": "Omar knows this client"},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    item.refresh_from_db()
    assert item.lease_holder == other_reviewer
    unknown = lead_client.post(
        f"/api/v1/items/{item.pk}/reassign", {"to_reviewer": "nobody", "reason": "x"}, format="json"
    )
    assert unknown.status_code == 400 and "to_reviewer" in unknown.json()["errors"]
    # Sending back needs a decided item.
    refused = lead_client.post(f"/api/v1/items/{item.pk}/send-back", {"reason": "r"}, format="json")
    assert refused.status_code == 409


def test_a_reviewer_and_an_agent_cannot_use_lead_actions(agent, reviewer, agent_client):
    item = ingest(agent, confidence=0.99)
    client = APIClient()
    client.force_authenticate(reviewer)
    body = {"decision": "reject", "reason": "because"}
    assert client.post(f"/api/v1/items/{item.pk}/override", body, format="json").status_code == 404
    assert (
        agent_client.post(f"/api/v1/items/{item.pk}/override", body, format="json").status_code
        == 403
    )
    item.refresh_from_db()
    assert item.status == Item.Status.AUTO_ACCEPTED


def test_stop_switch_for_a_queue_needs_a_reason_and_sends_everything_to_people(
    lead_client, agent, queue
):
    url = f"/api/v1/queues/{queue.slug}/automation"
    assert lead_client.post(url, {"stopped": True}, format="json").status_code == 400
    stopped = lead_client.post(url, {"stopped": True, "reason": "bad release"}, format="json")
    assert stopped.status_code == 200 and stopped.json()["automation_stopped"] is True
    assert ingest(agent, external_id="after", confidence=0.99).status == Item.Status.PENDING
    resumed = lead_client.post(url, {"stopped": False, "reason": "fixed"}, format="json")
    assert resumed.json()["automation_stopped"] is False
    actions = AuditEvent.objects.filter(action__startswith="review.automation").values_list(
        "action", flat=True
    )
    assert list(actions) == ["review.automation.stopped", "review.automation.resumed"]


def test_stop_switch_for_an_agent_by_its_owner_only(agent, reviewer):
    owner = APIClient()
    owner.force_authenticate(agent.owner)
    url = f"/api/v1/agents/{agent.pk}/automation"
    response = owner.post(url, {"stopped": True, "reason": "drift"}, format="json")
    assert response.status_code == 200
    other = APIClient()
    other.force_authenticate(reviewer)
    assert other.post(url, {"stopped": False, "reason": "x"}, format="json").status_code == 404
    stranger_agent = AgentFactory(slug="elsewhere")
    assert owner.post(
        f"/api/v1/agents/{stranger_agent.pk}/automation", {"stopped": True, "reason": "x"},
        format="json",
    ).status_code == 404  # fmt: skip
