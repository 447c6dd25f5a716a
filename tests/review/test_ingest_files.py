"""Items whose documents are files: referenced by id, assessed once the files are read."""

from __future__ import annotations

import uuid

import pytest

from accountability.models import AuditEvent
from agents.payload import parse_item
from review import services
from review.models import Document, Item
from review.services import IngestOutcome, items_ingest
from tests.factories import CLAIM_TEXT, AgentFactory, item_payload

pytestmark = pytest.mark.django_db


def _uploaded(agent, *, status=Document.Status.PENDING, text="", flags=()) -> Document:  # noqa: ANN001
    document = Document.objects.create(
        sha256=uuid.uuid4().hex * 2,
        content_type="application/pdf",
        size_bytes=1000,
        status=status,
        text=text,
        flags=list(flags),
    )
    document.agents.add(agent)
    return document


def _with_file(document: Document, **overrides: object):  # noqa: ANN202
    payload = item_payload(**overrides)
    payload["documents"] = [{"key": "form", "document_id": document.pk}]
    parsed, errors = parse_item(payload)
    assert not errors, errors
    return parsed


def test_an_item_waits_for_its_file_and_is_routed_once_it_is_read(agent, queue):
    document = _uploaded(agent)
    [result] = items_ingest(agent=agent, payloads=[_with_file(document)])
    assert result.outcome == IngestOutcome.CREATED
    item = result.item
    assert item.status == Item.Status.ASSESSING
    assert services.lease_claim_next(queue=queue, reviewer=queue.reviewers.first()) is None

    document.status, document.text = Document.Status.READY, CLAIM_TEXT
    document.save()
    assert services.items_assess_waiting(document=document) == 1
    assert services.items_assess_waiting(document=document) == 0  # safe to run twice
    item.refresh_from_db()
    assert item.status == Item.Status.AUTO_ACCEPTED  # every quote is in the PDF's text
    assert AuditEvent.objects.filter(action="review.item.assessed", target_id=str(item.pk)).exists()


def test_a_quote_missing_from_the_processed_file_is_caught_then(agent):
    document = _uploaded(agent)
    payload = item_payload()
    payload["fields"][1]["evidence"] = [{"document": "form", "quote": "Date of loss: 2024-02-03"}]
    payload["documents"] = [{"key": "form", "document_id": document.pk}]
    [result] = items_ingest(agent=agent, payloads=[parse_item(payload)[0]])
    document.status, document.text = Document.Status.READY, CLAIM_TEXT
    document.save()
    services.items_assess_waiting(document=document)
    item = Item.objects.get(pk=result.item.pk)
    assert item.status == Item.Status.PENDING
    assert [r.code for r in item.reasons.all()] == ["evidence_not_found"]


def test_a_ready_file_is_assessed_at_once_and_an_encrypted_one_goes_to_people(agent):
    ready = _uploaded(agent, status=Document.Status.READY, text=CLAIM_TEXT)
    [clean] = items_ingest(agent=agent, payloads=[_with_file(ready, external_id="a")])
    assert clean.item.status == Item.Status.AUTO_ACCEPTED
    locked = _uploaded(agent, status=Document.Status.READY, flags=["encrypted"])
    [doubtful] = items_ingest(agent=agent, payloads=[_with_file(locked, external_id="b")])
    assert doubtful.item.status == Item.Status.PENDING
    reason = doubtful.reasons[0]
    assert reason.code == "document_unreadable" and "encrypted" in reason.message


def test_another_agents_document_cannot_be_referenced(agent, queue):
    theirs = _uploaded(AgentFactory(queues=[queue]), status=Document.Status.READY, text=CLAIM_TEXT)
    [result] = items_ingest(agent=agent, payloads=[_with_file(theirs)])
    assert result.outcome == IngestOutcome.INVALID
    assert "documents[0].document_id" in result.errors
    assert not Item.objects.exists()


def test_a_document_entry_must_say_where_its_content_is(agent):
    payload = item_payload()
    payload["documents"] = [{"key": "form"}, {"key": "scan", "content_base64": "%%%"}]
    payload["fields"][0]["evidence"] = []
    _, errors = parse_item(payload)
    assert errors["documents[0]"] == ["give exactly one of text, content_base64 or document_id"]
    assert errors["documents[1].content_base64"] == ["is not valid base64"]
