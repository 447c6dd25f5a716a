"""The reviewer API: claim, release and decide, for people with a session or a personal token."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accountability.audit import Actor
from agents import services as agent_services
from review.models import Item, Lease
from tests.conftest import postgres_only
from tests.factories import QueueFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db


def _claim(client: APIClient, slug: str = "claims"):  # noqa: ANN202
    return client.post(f"/api/v1/queues/{slug}/claim")


def _all_correct() -> list[dict]:
    return [
        {"name": n, "verdict": "correct"}
        for n in ("policy_number", "loss_date", "amount", "claim_type")
    ]


def _amount_corrected_to_1205() -> list[dict]:
    fields = _all_correct()
    fields[2] = {
        "name": "amount",
        "verdict": "corrected",
        "value": 1205,
        "correction_reason": "misread",
    }
    return fields


def test_claim_returns_the_item_with_fields_reasons_documents_and_lease(agent, reviewer_client):
    item = ingest(agent)
    response = _claim(reviewer_client)
    assert response.status_code == 200
    body = response.json()
    assert body["item"]["id"] == item.pk
    assert body["item"]["reasons"][0]["code"] == "low_confidence"
    assert body["item"]["documents"][0]["text"].startswith("FIRST NOTICE OF LOSS")
    assert body["item"]["fields"][2]["confidence"] == 0.5
    assert body["token"] and body["expires_at"]


def test_a_blind_second_reviewer_sees_nothing_of_the_first_review(
    agent, queue, reviewer_client, other_reviewer
):
    queue.double_review_rate = 1.0
    queue.save()
    item = ingest(agent)
    first = _claim(reviewer_client).json()
    fields = _all_correct()
    fields[2] = {"name": "amount", "verdict": "corrected", "value": 999.0,
                 "correction_reason": "misread"}  # fmt: skip
    decided = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision",
        {"lease": first["token"], "decision": "approve", "fields": fields},
        format="json",
    )
    assert decided.json()["status"] == "pending_review"  # waiting for the second review
    assert decided.json()["decision"] is None
    second_client = APIClient()
    second_client.force_login(other_reviewer)
    second = _claim(second_client).json()["item"]
    assert second["id"] == item.pk
    assert second["decision"] is None
    assert {(f["verdict"], f["final_value"]) for f in second["fields"]} == {("", None)}
    assert second["fields"][2]["value"] != 999.0  # the agent's value, not the first correction


def test_a_disagreeing_second_review_answers_with_the_item_escalated_and_why(
    agent, queue, reviewer_client, other_reviewer
):
    queue.double_review_rate = 1.0
    queue.save()
    item = ingest(agent)
    for client, amount in ((reviewer_client, 999.0), (APIClient(), 111.0)):
        if client is not reviewer_client:
            client.force_login(other_reviewer)
        lease = _claim(client).json()
        fields = _all_correct()
        fields[2] = {"name": "amount", "verdict": "corrected", "value": amount,
                     "correction_reason": "misread"}  # fmt: skip
        answer = client.post(
            f"/api/v1/items/{item.pk}/decision",
            {"lease": lease["token"], "decision": "approve", "fields": fields},
            format="json",
        ).json()
    assert answer["status"] == "escalated"
    assert answer["decision"]["decision"] == "approve"
    assert "double_review_disagreement" in {reason["code"] for reason in answer["reasons"]}


def test_claim_with_nothing_waiting_is_204(queue, reviewer_client):
    assert _claim(reviewer_client).status_code == 204


def test_person_outside_the_queue_gets_404_for_claim_and_item(agent, queue):
    item = ingest(agent)
    outsider = APIClient()
    outsider.force_login(UserFactory(username="eve"))
    assert _claim(outsider).status_code == 404
    assert outsider.get(f"/api/v1/items/{item.pk}").status_code == 404
    assert outsider.post(f"/api/v1/items/{item.pk}/decision", {}, format="json").status_code == 404
    assert _claim(outsider, slug="no-such-queue").status_code == 404
    # Nothing was taken for them, not even for a moment.
    assert not Lease.objects.exists()
    assert Item.objects.get(pk=item.pk).lease_holder_id is None


def test_a_lead_and_an_admin_claim_in_the_queue_like_its_reviewers(agent, queue):
    lead, admin = UserFactory(username="lead"), UserFactory(username="root", is_superuser=True)
    queue.leads.add(lead)
    items = [ingest(agent, external_id=f"i{n}", confidence=0.2) for n in range(2)]
    claimed = set()
    for person in (lead, admin):
        client = APIClient()
        client.force_login(person)
        answer = _claim(client)
        assert answer.status_code == 200
        assert answer.json()["item"]["id"] in {item.pk for item in items}
        claimed.add(answer.json()["item"]["id"])
    assert len(claimed) == 2
    assert Lease.objects.filter(ended_at__isnull=True).count() == 2


def test_a_reviewer_taken_off_the_queue_cannot_decide_what_they_hold(
    agent, queue, reviewer, reviewer_client
):
    item = ingest(agent)
    lease = _claim(reviewer_client).json()
    queue.reviewers.remove(reviewer)
    decided = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision",
        {"lease": lease["token"], "decision": "approve", "fields": _all_correct()},
        format="json",
    )
    assert decided.status_code == 404
    item.refresh_from_db()
    assert item.status == Item.Status.PENDING and not item.reviews.exists()
    # With a body that is wrong as well: still not found, not a list of the body's errors.
    wrong = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision", {"decision": "maybe"}, format="json"
    )
    assert wrong.status_code == 404


def test_agents_cannot_use_the_reviewer_api(agent, agent_client):
    ingest(agent)
    assert _claim(agent_client).status_code == 403


def test_decision_through_the_api(agent, reviewer_client):
    item = ingest(agent)
    lease = _claim(reviewer_client).json()
    fields = _amount_corrected_to_1205()
    response = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision",
        {"lease": lease["token"], "decision": "approve", "fields": fields, "active_seconds": 12.5},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved"
    assert body["fields"][2]["final_value"] == 1205
    assert body["fields"][2]["verdict"] == "corrected"
    assert body["decision"]["decision"] == "approve"


def test_decision_errors_name_the_field_and_lost_lease_is_409(
    agent, queue, reviewer_client, other_reviewer
):
    item = ingest(agent)
    lease = _claim(reviewer_client).json()
    url = f"/api/v1/items/{item.pk}/decision"
    bad = reviewer_client.post(
        url,
        {
            "lease": lease["token"],
            "decision": "approve",
            "fields": [{"name": "amount", "verdict": "sure"}],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert "fields[0].verdict" in bad.json()["errors"]
    missing = reviewer_client.post(url, {"decision": "approve"}, format="json")
    assert missing.status_code == 400 and "lease" in missing.json()["errors"]

    # Let the lease run out.
    past = timezone.now() - dt.timedelta(seconds=1)
    Lease.objects.filter(token=lease["token"]).update(expires_at=past)
    Item.objects.filter(pk=item.pk).update(leased_until=past)
    taken = APIClient()
    taken.force_login(other_reviewer)
    assert _claim(taken).json()["item"]["id"] == item.pk
    lost = reviewer_client.post(
        url,
        {"lease": lease["token"], "decision": "approve", "fields": _all_correct()},
        format="json",
    )
    assert lost.status_code == 409
    assert lost.json()["code"] == "lease_lost"
    assert Item.objects.get(pk=item.pk).status == Item.Status.PENDING


def test_each_bad_verdict_entry_is_named_by_its_place_and_nothing_is_recorded(
    agent, reviewer_client
):
    item = ingest(agent)
    lease = _claim(reviewer_client).json()
    fields = _all_correct()
    fields[1] = {"name": "loss_date", "verdict": "sure"}
    fields[3] = "claim_type is fine"
    bad = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision",
        {"lease": lease["token"], "decision": "approve", "fields": fields},
        format="json",
    )
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert set(errors) == {"fields[1].verdict", "fields[3]"}
    assert "not a valid choice" in errors["fields[1].verdict"][0]
    assert "Expected a dictionary" in errors["fields[3]"][0]
    assert Item.objects.get(pk=item.pk).status == Item.Status.PENDING
    again = reviewer_client.post(  # the same lease still decides
        f"/api/v1/items/{item.pk}/decision",
        {"lease": lease["token"], "decision": "approve", "fields": _all_correct()},
        format="json",
    )
    assert again.status_code == 200 and again.json()["status"] == "approved"


def test_release_through_the_api_requires_a_reason(agent, reviewer_client):
    item = ingest(agent)
    lease = _claim(reviewer_client).json()
    url = f"/api/v1/items/{item.pk}/release"
    assert reviewer_client.post(url, {"lease": lease["token"]}, format="json").status_code == 400
    response = reviewer_client.post(
        url, {"lease": lease["token"], "reason": "need a specialist"}, format="json"
    )
    assert response.status_code == 200
    assert Item.objects.get(pk=item.pk).lease_holder is None


def test_personal_token_works_for_the_reviewer_api(agent, reviewer):
    ingest(agent)
    _, raw = agent_services.personal_token_create(user=reviewer, actor=Actor.system("tests"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert _claim(client).status_code == 200
    assert reviewer.api_tokens.get().last_used_at is not None


def test_session_requests_need_the_csrf_token(agent, reviewer):
    ingest(agent)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = _claim(client)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_people_see_the_queues_they_work_in(queue, reviewer_client):
    QueueFactory(slug="elsewhere")
    assert [q["slug"] for q in reviewer_client.get("/api/v1/queues").json()] == ["claims"]


def test_openapi_schema_and_offline_docs_are_served(client, reviewer):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/items/batch" in schema.content
    client.force_login(reviewer)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_the_claim_answers_what_the_lease_serializer_documents(agent, queue, reviewer):
    from rest_framework.renderers import JSONRenderer

    from review.api import LeaseSerializer, lease_data
    from review.services import lease_claim_next

    ingest(agent, external_id="lease-shape")
    lease = lease_claim_next(queue=queue, reviewer=reviewer)
    rendered = JSONRenderer().render
    assert rendered(lease_data(lease)) == rendered(LeaseSerializer(lease).data)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_claim_and_decision_answer_with_the_item_read_in_their_commits_round_trip(
    agent, reviewer_client, monkeypatch
):
    """On PostgreSQL the answer's item is read right after the COMMIT, in its round trip
    (db.reads_at_commit): the same item a later read gives, as the reviewer left it."""
    from review import api

    item = ingest(agent)
    read_apart = api.item_data
    monkeypatch.setattr(api, "item_data", lambda item_id: pytest.fail("read in a round trip apart"))
    lease = _claim(reviewer_client).json()
    assert lease["item"]["id"] == item.pk
    assert lease["item"] == read_apart(item.pk)
    fields = _amount_corrected_to_1205()
    decided = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision",
        {"lease": lease["token"], "decision": "approve", "fields": fields},
        format="json",
    ).json()
    assert decided == read_apart(item.pk)
    assert decided["status"] == "approved"
    assert decided["fields"][2]["final_value"] == 1205
    assert decided["decision"]["decision"] == "approve"


@pytest.mark.django_db(transaction=True)
def test_a_second_claim_answers_with_the_item_already_held(agent, reviewer_client):
    item = ingest(agent)
    ingest(agent, external_id="another")
    first = _claim(reviewer_client).json()
    again = _claim(reviewer_client).json()
    assert again["token"] == first["token"]
    assert again["item"]["id"] == item.pk == first["item"]["id"]
    assert again["item"]["fields"] == first["item"]["fields"]


def test_a_correction_holding_a_nul_character_is_a_400_and_the_item_stays_undecided(
    agent, reviewer_client
):
    item = ingest(agent)
    lease = _claim(reviewer_client).json()
    fields = _all_correct()
    fields[0] = {
        "name": "policy_number",
        "verdict": "corrected",
        "value": "PN-4471\x00",
        "correction_reason": "misread",
    }
    decided = reviewer_client.post(
        f"/api/v1/items/{item.pk}/decision",
        {"lease": lease["token"], "decision": "approve", "fields": fields},
        format="json",
    )
    assert decided.status_code == 400
    assert list(decided.json()["errors"]) == ["fields[0].value"]
    item.refresh_from_db()
    assert item.status == Item.Status.PENDING and not item.reviews.exists()
