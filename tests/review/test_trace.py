"""The decision trace: for leads and auditors, with the chain check, downloadable and audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accountability.models import AuditEvent
from review import services
from review.services import FieldVerdictIn
from tests.conftest import tamper
from tests.factories import UserFactory, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(agent, queue, reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=[
            FieldVerdictIn("policy_number", "correct"),
            FieldVerdictIn("loss_date", "correct"),
            FieldVerdictIn("amount", "corrected", 1205.0, "misread"),
            FieldVerdictIn("claim_type", "correct"),
        ],
    )
    return item


def test_a_lead_reads_the_timeline_with_every_actor_and_the_chain_intact(client, decided, lead):
    client.force_login(lead)
    page = client.get(reverse("review:item-trace", args=[decided.pk])).content.decode()
    assert "all 3 events of this item are intact" in page
    for action in ("review.item.ingested", "review.item.claimed", "review.decision.recorded"):
        assert action in page
    assert "agent:claims-bot" in page and "by rita" in page
    assert "amount: corrected “1250.0” → “1205.0” (misread)" in page


def test_the_json_download_carries_hashes_and_is_itself_audited(client, decided, lead):
    client.force_login(lead)
    response = client.get(reverse("review:item-trace-json", args=[decided.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="item-{decided.pk}-trace.json"'
    data = response.json()
    assert data["chain_intact"] is True
    assert [e["action"] for e in data["events"]][:3] == [
        "review.item.ingested",
        "review.item.claimed",
        "review.decision.recorded",
    ]
    assert data["fields"][2] == {
        "name": "amount",
        "agent_value": 1250.0,
        "confidence": 0.5,
        "evidence": [{"document": "form", "quote": "EUR 1,250.00"}],
        "verdict": "corrected",
        "final_value": 1205.0,
    }
    exported = AuditEvent.objects.get(action="review.trace.exported")
    assert exported.actor_label == "lena"


def test_a_tampered_event_is_marked_on_the_trace(client, decided, lead):
    event = AuditEvent.objects.get(action="review.decision.recorded")
    tamper("UPDATE accountability_auditevent SET actor_label = 'mallory' WHERE id = %s", [event.pk])
    client.force_login(lead)
    page = client.get(reverse("review:item-trace", args=[decided.pk])).content.decode()
    assert "Audit chain check FAILED" in page
    assert "altered: content and hash differ" in page


@pytest.mark.parametrize(
    ("who", "status"),
    [("reviewer", 404), ("outsider", 404), ("lead", 200), ("auditor", 200), ("admin", 200)],
)
def test_who_may_read_a_trace(client, decided, reviewer, lead, who, status):
    people = {
        "reviewer": reviewer,
        "outsider": UserFactory(username="eve"),
        "lead": lead,
        "admin": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    if who == "auditor":
        auditor = UserFactory(username="audrey")
        auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
        people["auditor"] = auditor
    client.force_login(people[who])
    for name in ("review:item-trace", "review:item-trace-json"):
        assert client.get(reverse(name, args=[decided.pk])).status_code == status
