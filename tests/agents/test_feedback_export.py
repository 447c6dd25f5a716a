"""GET /api/v1/feedback/export: four formats that parse, stream in chunks, and are audited."""

from __future__ import annotations

import csv
import gc
import io
import json

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from rest_framework.test import APIClient

from accountability.models import AuditEvent
from agents.feedback import export, selectors
from review.services import FieldVerdictIn
from tests.agents.feedback_world import NAMES, batch, build_world, correct, decide, token_for
from tests.factories import CLAIM_TEXT, ingest, item_payload

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/feedback/export"


@pytest.fixture
def world(queue, agent, reviewer):
    return build_world(queue=queue, agent=agent, reviewer=reviewer)


def download(client: APIClient, **params: object) -> tuple[StreamingHttpResponse, bytes]:
    response = client.get(EXPORT, params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content)


def lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines()]


def test_jsonl_holds_the_same_records_as_the_pages(world, agent_client):
    response, body = download(agent_client, format="jsonl")
    assert response["Content-Type"] == "application/x-ndjson"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="feedback-claims-bot-')
    assert disposition.endswith('.jsonl"')
    pages = agent_client.get("/api/v1/feedback").json()["results"]
    assert lines(body) == pages and len(pages) == 4


def test_jsonl_is_the_default_format(world, agent_client):
    _, body = download(agent_client)
    assert len(lines(body)) == 4


def test_csv_has_a_row_per_field_with_the_item_repeated(world, agent_client, reviewer):
    response, body = download(agent_client, format="csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 4 * 4
    amount = next(r for r in rows if r["external_id"] == "corrected-1" and r["field"] == "amount")
    assert (amount["predicted_value"], amount["final_value"]) == ("1250.0", "1205.0")
    assert (amount["verdict"], amount["correction_reason"]) == ("corrected", "misread")
    assert amount["field_reasons"] == "low_confidence"
    assert (amount["decision"], amount["reviewed"], amount["override"]) == (
        "approved", "true", "false",
    )  # fmt: skip
    auto = [r for r in rows if r["external_id"] == "auto-1"]
    assert {r["reviewed"] for r in auto} == {"false"} and {r["verdict"] for r in auto} == {""}
    assert {r["reviewer"] for r in auto} == {""}
    policy = next(r for r in auto if r["field"] == "policy_number")
    assert policy["final_value"] == policy["predicted_value"] == "PN-4471-0923"
    assert amount["document_ids"] == str(world.corrected.item_documents.get().document_id)


def test_csv_cells_cannot_run_as_spreadsheet_formulas(world, agent_client):
    ingest(world.agent, confidence=None, external_id="=HYPERLINK(1)")
    _, body = download(agent_client, format="csv", decision="auto_accepted")
    ids = {r["external_id"] for r in csv.DictReader(io.StringIO(body.decode()))}
    assert ids == {"auto-1", "'=HYPERLINK(1)"}


def test_supervised_pairs_the_documents_with_the_standing_output(world, agent_client):
    response, body = download(agent_client, format="supervised")
    assert response["Content-Disposition"].endswith('-supervised.jsonl"')
    examples = {e["meta"]["external_id"]: e for e in lines(body)}
    assert set(examples) == {"auto-1", "corrected-1", "approved-1"}  # never a rejected one
    corrected = examples["corrected-1"]
    assert corrected["input"] == f"## form\n{CLAIM_TEXT}"
    assert corrected["output"] == {
        "policy_number": "PN-4471-0923",
        "loss_date": "2024-03-02",
        "amount": 1205.0,
        "claim_type": None,
    }
    assert corrected["meta"]["corrected_fields"] == ["amount"]
    assert corrected["meta"]["reviewed"] is True
    assert examples["auto-1"]["meta"]["reviewed"] is False
    assert examples["auto-1"]["output"]["amount"] == 1250.0


def test_preference_only_for_corrected_items(world, agent_client):
    _, body = download(agent_client, format="preference")
    [pair] = lines(body)
    assert pair["prompt"] == f"## form\n{CLAIM_TEXT}"
    assert (pair["chosen"]["amount"], pair["rejected"]["amount"]) == (1205.0, 1250.0)
    assert pair["chosen"]["claim_type"] is None and pair["rejected"]["claim_type"] == "auto"
    assert pair["meta"]["id"] == world.corrected.pk


def test_filters_apply_to_exports_and_bad_ones_are_a_400(world, agent_client):
    _, body = download(agent_client, format="jsonl", decision="rejected")
    assert [r["id"] for r in lines(body)] == [world.rejected.pk]
    audited = AuditEvent.objects.count()
    for params, bad in (({"format": "xml"}, "format"), ({"since": "soon"}, "since")):
        response = agent_client.get(EXPORT, params)
        assert response.status_code == 400 and list(response.json()["errors"]) == [bad]
    assert AuditEvent.objects.count() == audited


def test_an_export_sees_only_its_principals_items(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world.other_agent)}")
    _, body = download(client, format="csv")
    assert {r["item_id"] for r in csv.DictReader(io.StringIO(body.decode()))} == {
        str(world.elsewhere.pk)
    }


def test_an_export_is_audited_before_and_after_the_stream(world, agent_client):
    response = agent_client.get(EXPORT, {"format": "csv", "queue": "claims"})
    started = AuditEvent.objects.get(action="feedback.exported")
    assert started.data == {"format": "csv", "filters": {"queue": "claims"}}
    assert (started.actor_label, started.target_type) == ("agent:claims-bot", "agents.agent")
    assert not AuditEvent.objects.filter(action="feedback.export.finished").exists()
    b"".join(response.streaming_content)
    finished = AuditEvent.objects.get(action="feedback.export.finished")
    assert finished.data == {"export_seq": started.seq, "records": 4, "complete": True}


def test_an_abandoned_download_is_audited_as_incomplete(world, rf, monkeypatch):
    monkeypatch.setattr(selectors, "CHUNK_ITEMS", 1)
    scope = selectors.feedback_scope(world.lead)
    response = export.download(
        rf.get(EXPORT),
        principal=world.lead,
        items=selectors.feedback_items(scope, selectors.Filters()),
        fmt=export.FORMATS["jsonl"],
        filters=selectors.Filters(),
    )
    next(iter(response.streaming_content))
    assert gc.isenabled()  # paused only while a chunk is read and written, never between
    # What the server does when the client goes away (the connection is the test's: keep it).
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    finished = AuditEvent.objects.get(action="feedback.export.finished")
    assert finished.data["complete"] is False and finished.data["records"] == 1


def test_the_response_streams_one_chunk_at_a_time(world, agent_client, monkeypatch):
    monkeypatch.setattr(selectors, "CHUNK_ITEMS", 1)
    response = agent_client.get(EXPORT, {"format": "jsonl"})
    assert isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    assert len(chunks) == 4 and all(chunk.count(b"\n") == 1 for chunk in chunks)


def test_chunk_boundaries_inside_a_tie_lose_and_repeat_nothing(world, agent_client, monkeypatch):
    made = batch(world.agent, "tie", 5)  # one decision time for all five
    monkeypatch.setattr(selectors, "CHUNK_ITEMS", 2)
    _, body = download(agent_client, format="jsonl")
    ids = [r["id"] for r in lines(body)]
    assert len(ids) == len(set(ids)) == 9 and ids[-5:] == [item.pk for item in made]


@pytest.mark.django_db(transaction=True)  # the ASGI handler runs the view in its own thread
def test_under_asgi_the_stream_is_asynchronous_and_chunked(world, agent_token, monkeypatch):
    """Django would read a sync iterator to its end before sending a byte under ASGI."""
    monkeypatch.setattr(selectors, "CHUNK_ITEMS", 1)

    async def fetch() -> tuple[StreamingHttpResponse, list[bytes]]:
        headers = {"Authorization": f"Bearer {agent_token}"}
        response = await AsyncClient().get(EXPORT, {"format": "jsonl"}, headers=headers)
        assert response.status_code == 200, response.content
        return response, [chunk async for chunk in response.streaming_content]

    response, chunks = async_to_sync(fetch)()
    assert response.is_async
    assert [json.loads(chunk)["external_id"] for chunk in chunks] == [
        "auto-1", "corrected-1", "approved-1", "rejected-1",
    ]  # fmt: skip
    finished = AuditEvent.objects.get(action="feedback.export.finished")
    assert finished.data["records"] == 4 and finished.data["complete"] is True


def test_csv_header_comes_first_even_when_nothing_matches(world, agent_client):
    _, body = download(agent_client, format="csv", agent_version="none")
    assert body.decode().splitlines() == [body.decode().splitlines()[0]]
    assert body.startswith(b"item_id,external_id,queue,agent")


def test_values_come_out_exactly_as_the_agent_sent_them(world, agent_client):
    extra = [
        {"name": "notes", "value": {"lines": [1, "Zoë"], "ok": True}, "confidence": 0.99},
        {"name": "reference", "value": 123456789012345678901234567890, "confidence": 0.99},
    ]
    fields = item_payload()["fields"] + extra
    item = ingest(world.agent, confidence=None, external_id="exact-1", fields=fields)
    _, body = download(agent_client, format="jsonl", decision=item.status)
    [record] = [r for r in lines(body) if r["id"] == item.pk]
    by_name = {f["name"]: f for f in record["fields"]}
    assert by_name["notes"]["predicted_value"] == {"lines": [1, "Zoë"], "ok": True}
    assert by_name["reference"]["predicted_value"] == 123456789012345678901234567890
    _, body = download(agent_client, format="csv", decision=item.status)
    rows = csv.DictReader(io.StringIO(body.decode()))
    by_field = {r["field"]: r for r in rows if r["external_id"] == "exact-1"}
    assert json.loads(by_field["notes"]["predicted_value"]) == {"lines": [1, "Zoë"], "ok": True}
    assert by_field["reference"]["final_value"] == "123456789012345678901234567890"


def test_csv_is_standard_csv_byte_for_byte(world, agent_client, reviewer):
    """Any CSV writer would write the same bytes: cells quoted only when they must be (quotes
    doubled), CRLF line ends, and the item's columns the same on each of its field rows."""
    tricky = [
        {"name": "said", "value": 'He said "stop", then\r\nleft', "confidence": 0.99},
        {"name": "sum", "value": "=SUM(A1:A9)", "confidence": 0.5},
        {"name": "debt", "value": "-5", "confidence": None},
        {"name": "nothing", "value": None, "confidence": 0.99},
        {"name": "shape", "value": {"a": [1, "b,c"]}, "confidence": 0.99},
    ]
    fields = item_payload()["fields"] + tricky
    item = ingest(world.agent, external_id='ext,"1"', agent_version="+v1", fields=fields)
    verdicts = [
        *correct(*NAMES, "said", "debt", "shape"),
        FieldVerdictIn("sum", "corrected", '@x, "y"', "misread"),
        FieldVerdictIn("nothing", "undeterminable"),
    ]
    decide(item, reviewer, fields=verdicts)
    _, body = download(agent_client, format="csv")
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    rewritten = io.StringIO()
    csv.writer(rewritten, lineterminator="\r\n").writerows(rows)
    assert body.decode() == rewritten.getvalue()
    item_rows = [r for r in rows if r[0] == str(item.pk)]
    assert len(item_rows) == 9 and len({tuple(r[:14]) for r in item_rows}) == 1
    assert item_rows[0][1:5] == ['ext,"1"', "claims", "claims-bot", "'+v1"]
    said, shape = 'He said "stop", then\r\nleft', '{"a": [1, "b,c"]}'
    # predicted_value, confidence, final_value, verdict, correction_reason, field_reasons
    assert {r[14]: r[15:] for r in item_rows if r[14] in {f["name"] for f in tricky}} == {
        "said": [said, "0.99", said, "correct", "", ""],
        "sum": ["'=SUM(A1:A9)", "0.5", '\'@x, "y"', "corrected", "misread", "low_confidence"],
        "debt": ["'-5", "", "'-5", "correct", "", "low_confidence"],
        "nothing": ["", "0.99", "", "undeterminable", "", ""],
        "shape": [shape, "0.99", shape, "correct", "", ""],
    }


@pytest.mark.parametrize(
    "cell", ["", "plain", "a,b", 'say "hi"', "line\nbreak", "cr\rx", "end\r\n", " pad ", "é😀"]
)
def test_csv_cells_are_quoted_as_the_csv_module_quotes_them(cell):
    for rows in ([(cell, "x", cell), ("", "", ""), ("1", cell, "2")], [(cell,)]):
        expected = io.StringIO()
        csv.writer(expected, lineterminator="\r\n").writerows(rows)
        assert "".join(export.csv_lines(rows, len(rows[0]))) == expected.getvalue()
