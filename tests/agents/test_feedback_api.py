"""GET /api/v1/feedback: what a record says, paging, filters, who sees what, the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from accountability.models import AuditEvent
from agents.feedback.export import reviewer_pseudonym
from review.models import Item, Lease
from tests.agents.feedback_world import batch, build_world, decide, token_for
from tests.factories import CLAIM_TEXT, AgentFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db

FEEDBACK = "/api/v1/feedback"


@pytest.fixture
def world(queue, agent, reviewer):
    return build_world(queue=queue, agent=agent, reviewer=reviewer)


def person(user: object) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def records(client: APIClient, **params: object) -> list[dict]:
    response = client.get(FEEDBACK, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def by_external_id(rows: list[dict]) -> dict[str, dict]:
    return {row["external_id"]: row for row in rows}


def fields_of(record: dict) -> dict[str, dict]:
    return {f["name"]: f for f in record["fields"]}


def test_a_corrected_item_carries_every_label_and_a_pseudonymous_reviewer(
    world, agent_client, reviewer
):
    record = by_external_id(records(agent_client))["corrected-1"]
    assert record["decision"] == "approved" and record["reviewed"] is True
    assert (record["queue"], record["agent"], record["agent_version"]) == (
        "claims", "claims-bot", "v1.0",
    )  # fmt: skip
    amount, claim_type = fields_of(record)["amount"], fields_of(record)["claim_type"]
    assert amount == {
        "name": "amount",
        "predicted_value": 1250.0,
        "confidence": 0.5,
        "final_value": 1205.0,
        "verdict": "corrected",
        "correction_reason": "misread",
    }
    assert (claim_type["verdict"], claim_type["final_value"]) == ("undeterminable", None)
    assert fields_of(record)["policy_number"]["final_value"] == "PN-4471-0923"
    assert {"code": "low_confidence", "field": "amount"}.items() <= record["reasons"][0].items()
    lease = Lease.objects.get(item=world.corrected)
    assert record["active_review_seconds"] == round(lease.active_seconds, 1)
    assert record["reviewer"] == reviewer_pseudonym(reviewer.pk)
    assert reviewer.username not in str(record) and len(record["reviewer"]) == 16
    assert (record["qa_sample"], record["override"]) == (False, False)


def test_the_pseudonym_is_stable_and_depends_on_the_secret_key(settings, reviewer):
    first = reviewer_pseudonym(reviewer.pk)
    assert reviewer_pseudonym(reviewer.pk) == first != reviewer_pseudonym(reviewer.pk + 1)
    settings.SECRET_KEY = "another-secret-key-entirely"
    assert reviewer_pseudonym(reviewer.pk) != first


def test_auto_accepted_items_stand_as_predicted_without_verdicts(world, agent_client):
    record = by_external_id(records(agent_client))["auto-1"]
    assert (record["decision"], record["reviewed"], record["reviewer"]) == (
        "auto_accepted", False, None,
    )  # fmt: skip
    assert record["active_review_seconds"] == 0.0 and record["reasons"] == []
    for f in record["fields"]:
        assert f["final_value"] == f["predicted_value"] and f["verdict"] is None


def test_a_rejected_item_keeps_nothing_it_did_not_label(world, agent_client):
    record = by_external_id(records(agent_client))["rejected-1"]
    assert record["decision"] == "rejected" and record["reviewed"] is True
    assert {f["final_value"] for f in record["fields"]} == {None}
    assert {f["verdict"] for f in record["fields"]} == {None}


def test_documents_are_referenced_and_their_text_can_be_fetched(world, agent_client):
    [doc] = by_external_id(records(agent_client))["approved-1"]["documents"]
    assert doc["key"] == "form" and doc["content_type"] == "text/plain"
    assert doc["url"] == f"http://testserver/api/v1/feedback/documents/{doc['id']}"
    response = agent_client.get(doc["url"])
    assert response.status_code == 200
    assert response.content.decode() == CLAIM_TEXT
    assert response["Content-Disposition"].startswith("attachment")
    # Another agent that never sent this content (an agent that did may read it: same bytes).
    stranger = bearer(token_for(AgentFactory(queues=[world.queue])))
    assert stranger.get(doc["url"]).status_code == 404


def test_undecided_and_escalated_items_are_not_feedback(world, agent_client, queue, reviewer):
    escalated = decide(ingest(world.agent, external_id="esc-1"), reviewer, "escalate", reason="x")
    waiting = ingest(world.agent, external_id="waiting-1")
    assert escalated.status == Item.Status.ESCALATED
    ids = {r["id"] for r in records(agent_client)}
    assert ids == {world.auto.pk, world.corrected.pk, world.approved.pk, world.rejected.pk}
    assert waiting.pk not in ids


def test_an_override_is_flagged_and_names_the_lead(world, agent_client):
    from review.services.lead import item_override

    item_override(
        item=world.auto, lead=world.lead, decision="reject", fields=[], reason="wrong claim"
    )
    record = by_external_id(records(agent_client))["auto-1"]
    assert (record["decision"], record["override"], record["reviewed"]) == ("rejected", True, True)
    assert record["reviewer"] == reviewer_pseudonym(world.lead.pk)


# --- paging ------------------------------------------------------------------------------------


def test_pages_walk_every_record_once_in_decision_order(world, agent_client):
    made = batch(world.agent, "b", 5)
    assert len({item.decided_at for item in made}) == 1
    seen, url = [], FEEDBACK + "?limit=3"
    while url:
        body = agent_client.get(url).json()
        seen += [(dt.datetime.fromisoformat(r["decided_at"]), r["id"]) for r in body["results"]]
        url = body["next"]
    assert len(seen) == 9 and seen == sorted(seen) and len(set(seen)) == 9


def test_items_decided_while_paging_come_after_without_repeats(world, agent_client):
    batch(world.agent, "b", 4)
    first = agent_client.get(FEEDBACK, {"limit": 5}).json()
    late = batch(world.agent, "late", 2)
    rest = agent_client.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + rest["results"]]
    assert len(ids) == len(set(ids)) == 10
    assert ids[-2:] == [item.pk for item in late]
    assert rest["next"] is None
    # The last page's cursor resumes later: only what was decided since comes back.
    newer = batch(world.agent, "newer", 1)
    resumed = agent_client.get(FEEDBACK, {"cursor": rest["cursor"]}).json()
    assert [r["id"] for r in resumed["results"]] == [newer[0].pk]


def test_a_tampered_cursor_is_refused_naming_it(world, agent_client):
    cursor = agent_client.get(FEEDBACK, {"limit": 1}).json()["cursor"]
    forged = cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb")
    for bad in (forged, "not-a-cursor", cursor.replace(":", "x", 1)):
        response = agent_client.get(FEEDBACK, {"cursor": bad})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["cursor"]


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"verdict": "wrong"}, "verdict"),
        ({"decision": "escalated"}, "decision"),
        ({"queue": "no-such-queue"}, "queue"),
        ({"agent": "abc"}, "agent"),
        ({"verdit": "corrected"}, "verdit"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(world, agent_client, params, bad):
    response = agent_client.get(FEEDBACK, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body["errors"]) == [bad] and bad in body["detail"]
    assert not AuditEvent.objects.filter(action="feedback.read").exists()


def test_default_and_maximum_page_sizes(world, agent_client):
    batch(world.agent, "b", 3)
    assert len(records(agent_client)) == 7
    assert len(records(agent_client, limit=1000)) == 7
    assert len(records(agent_client, limit=2)) == 2


# --- filters -----------------------------------------------------------------------------------


def ids(rows: list[dict]) -> set[int]:
    return {r["id"] for r in rows}


def test_filters_narrow_the_records(world, agent_client):
    w = world
    assert ids(records(agent_client, verdict="corrected")) == {w.corrected.pk}
    assert ids(records(agent_client, verdict="correct")) == {w.corrected.pk, w.approved.pk}
    assert ids(records(agent_client, decision="rejected")) == {w.rejected.pk}
    assert ids(records(agent_client, decision="auto_accepted")) == {w.auto.pk}
    assert ids(records(agent_client, agent_version="v2.0")) == {w.auto.pk}
    assert ids(records(agent_client, queue="claims")) == ids(records(agent_client))
    assert len(ids(records(agent_client))) == 4


def test_since_and_until_select_by_decision_time(world, agent_client):
    Item.objects.filter(pk=world.auto.pk).update(decided_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC))
    Item.objects.filter(pk=world.rejected.pk).update(
        decided_at=dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)
    )
    january = {"since": "2026-01-01T00:00:00Z", "until": "2026-02-01"}
    assert ids(records(agent_client, **january)) == {world.auto.pk, world.rejected.pk}
    late = records(agent_client, since="2026-01-20T12:00:00+00:00", until="2026-01-21")
    assert ids(late) == {world.rejected.pk}
    assert ids(records(agent_client, until="2026-01-20T12:00:00Z")) == {world.auto.pk}


# --- who sees what -----------------------------------------------------------------------------


def test_an_agent_never_sees_another_agents_items(world, agent_client):
    mine = ids(records(agent_client))
    theirs = ids(records(bearer(token_for(world.other_agent))))
    assert theirs == {world.elsewhere.pk} and not mine & theirs
    response = agent_client.get(FEEDBACK, {"agent": world.other_agent.pk})
    assert response.status_code == 400 and "agent" in response.json()["errors"]


def test_a_lead_sees_only_the_queues_they_lead(world):
    assert ids(records(person(world.lead))) == {
        world.auto.pk, world.corrected.pk, world.approved.pk, world.rejected.pk,
    }  # fmt: skip
    assert ids(records(person(world.other_lead))) == {world.elsewhere.pk}
    refused = person(world.other_lead).get(FEEDBACK, {"queue": "claims"})
    assert refused.status_code == 400 and "queue" in refused.json()["errors"]


def test_an_agent_owner_sees_their_agents_items_and_staff_see_all(world):
    assert ids(records(person(world.other_agent.owner))) == {world.elsewhere.pk}
    staff = UserFactory(username="sam", is_staff=True)
    assert len(ids(records(person(staff)))) == 5


def test_a_reviewer_who_leads_nothing_is_refused(world, reviewer):
    for url in (FEEDBACK, FEEDBACK + "/export"):
        response = person(reviewer).get(url)
        assert response.status_code == 403
        assert "leads" in response.json()["detail"]


def test_a_personal_token_works_like_the_session(world):
    from accountability.audit import Actor
    from agents import services as agent_services

    _, raw = agent_services.personal_token_create(user=world.other_lead, actor=Actor.system("t"))
    assert ids(records(bearer(raw))) == {world.elsewhere.pk}


def test_signed_out_is_told_to_authenticate(world):
    assert APIClient().get(FEEDBACK).status_code in (401, 403)


def test_documents_of_undecided_items_are_not_served(world, agent_client):
    waiting = ingest(world.agent, external_id="waiting-2", documents=[
        {"key": "form", "content_type": "text/plain", "text": "Policy number: PN-0000"}
    ])  # fmt: skip
    doc_id = waiting.item_documents.get().document_id
    assert agent_client.get(f"{FEEDBACK}/documents/{doc_id}").status_code == 404


# --- audit -------------------------------------------------------------------------------------


def test_each_page_read_is_audited_with_its_filters_and_count(world, agent_client):
    body = agent_client.get(FEEDBACK, {"limit": 3, "decision": "approved"}).json()
    event = AuditEvent.objects.get(action="feedback.read")
    assert (event.actor_type, event.actor_label) == ("agent", "agent:claims-bot")
    assert (event.target_type, event.target_id) == ("agents.agent", str(world.agent.pk))
    assert event.data == {
        "filters": {"decision": "approved"},
        "limit": 3,
        "after": None,
        "records": len(body["results"]),
    }
