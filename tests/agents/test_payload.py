"""The fast ingest parser names every bad part, and agrees with the documented serializer."""

from __future__ import annotations

import copy

import pytest

from agents.payload import parse_item
from agents.serializers import ItemInSerializer
from tests.factories import item_payload


def _errors(payload: dict) -> dict[str, list[str]]:
    parsed, errors = parse_item(payload)
    assert parsed is None
    return errors


def test_valid_payload_parses_into_fields_and_documents():
    parsed, errors = parse_item(item_payload())
    assert errors == {}
    assert parsed.queue == "claims"
    assert [f.name for f in parsed.fields] == ["policy_number", "loss_date", "amount", "claim_type"]
    assert parsed.fields[2].value == 1250.0
    assert parsed.documents[0].key == "form"
    assert parsed.metadata["trace_id"] == "trace-123"


def test_confidence_out_of_range_is_named_by_its_path():
    payload = item_payload()
    payload["fields"][2]["confidence"] = 1.5
    assert _errors(payload) == {"fields[2].confidence": ["must be between 0 and 1"]}


def test_every_bad_part_is_reported_at_once():
    payload = item_payload()
    del payload["external_id"]
    payload["fields"][0]["confidence"] = "high"
    payload["fields"][1]["evidence"] = [{"document": "scan", "quote": "x"}]
    payload["fields"][3]["name"] = "policy_number"
    errors = _errors(payload)
    assert errors["external_id"] == ["is required"]
    assert errors["fields[0].confidence"] == ["must be a number between 0 and 1"]
    assert "no document with key 'scan'" in errors["fields[1].evidence[0].document"][0]
    assert errors["fields[3].name"] == ["'policy_number' appears twice"]


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda p: p.update(fields=[]), "fields"),
        (lambda p: p.update(fields="x"), "fields"),
        (lambda p: p["fields"][0].pop("value"), "fields[0].value"),
        (lambda p: p["fields"][0].update(name="9lives"), "fields[0].name"),
        (lambda p: p["fields"][0].update(evidence=[{"document": "form"}]), "fields[0].evidence[0]"),
        (
            lambda p: p["fields"][0].update(evidence=[{"document": "form", "start": 5}]),
            "fields[0].evidence[0].end",
        ),
        (
            lambda p: p["fields"][0].update(evidence=[{"document": "form", "start": 9, "end": 3}]),
            "fields[0].evidence[0].end",
        ),
        (
            lambda p: p["fields"][0].update(
                evidence=[{"document": "form", "start": 0, "end": 10_000}]
            ),
            "fields[0].evidence[0].end",
        ),
        (
            lambda p: p["fields"][0].update(alternatives=[{"confidence": 0.2}]),
            "fields[0].alternatives[0].value",
        ),
        (lambda p: p["fields"][0].update(colour="red"), "fields[0].colour"),
        (
            lambda p: p["documents"][0].update(content_type="application/pdf"),
            "documents[0].content_type",
        ),
        (lambda p: p["documents"].append(dict(p["documents"][0])), "documents[1].key"),
        (lambda p: p.update(queue="not a slug"), "queue"),
        (lambda p: p.update(metadata=[1, 2]), "metadata"),
        (lambda p: p.update(confidence=True), "confidence"),
        (lambda p: p.update(external_id="x" * 201), "external_id"),
    ],
)
def test_malformed_parts_are_named(mutate, path):
    payload = item_payload()
    mutate(payload)
    assert path in _errors(payload)


def test_a_non_object_body_is_refused():
    assert _errors([1, 2]) == {"body": ["must be an object, got list"]}


def test_null_value_and_missing_confidence_are_allowed():
    payload = item_payload()
    payload["fields"][3]["value"] = None
    del payload["fields"][3]["confidence"]
    parsed, errors = parse_item(payload)
    assert errors == {}
    assert parsed.fields[3].value is None
    assert parsed.fields[3].confidence is None


SHAPE_CASES = [
    item_payload(),
    item_payload(fields=[]),
    item_payload(queue=""),
    item_payload(confidence=2),
    item_payload(confidence=0.5),
    item_payload(
        documents=[{"key": "a", "text": "t", "content_type": "image/png"}],
        fields=[{"name": "a", "value": 1}],
    ),
]


@pytest.mark.parametrize("payload", SHAPE_CASES)
def test_parser_and_documented_serializer_agree_on_shape(payload):
    """The OpenAPI serializer documents what the parser accepts: they must not drift."""
    parsed, _ = parse_item(copy.deepcopy(payload))
    assert (parsed is not None) == ItemInSerializer(data=copy.deepcopy(payload)).is_valid()
