"""The API's JSON parser reads what DRF's reads, the same way, only faster."""

from __future__ import annotations

import io
import json

import pytest
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from accountability.parsers import FastJSONParser, holds_a_long_integer, nul_paths
from review.models import Item
from tests.factories import item_payload

SUBMIT = "/api/v1/items"

BODIES = [
    b'{"items": [{"a": 1, "b": [1.5, -0, 1e5, true, null, "\\u00e9\\n"]}]}',
    b'{"a": 1, "a": 2}',
    b'{"big": 123456789012345678901234567890, "neg": -98765432109876543210}',
    b'{"exact": 0.1, "tiny": 2.2250738585072011e-308, "huge": 1.7976931348623157e308}',
    b'{"out_of_range": 1e400}',
    '{"text": "Zürich, 東京"}'.encode(),
    b"[]",
    b'"just a string"',
]


def _parsed(parser, body: bytes, encoding: str = "utf-8"):
    return parser.parse(io.BytesIO(body), "application/json", {"encoding": encoding})


@pytest.mark.parametrize("body", BODIES)
def test_reads_exactly_what_drf_reads(body):
    assert _parsed(FastJSONParser(), body) == _parsed(JSONParser(), body)


def test_integers_past_64_bits_keep_every_digit():
    data = _parsed(FastJSONParser(), b'{"n": 123456789012345678901234567890}')
    assert data["n"] == 123456789012345678901234567890
    assert isinstance(data["n"], int)


@pytest.mark.parametrize(
    ("body", "long"),
    [
        (b'{"n": 12345678901234567890}', True),
        (b'{"n":[1,-12345678901234567890]}', True),
        (b"12345678901234567890", True),
        (b'{"n": 1234567890123456789\n}', True),
        (b'{"n": 123456789012345678}', False),  # 18 digits: orjson reads it exactly
        (b'{"trace": "4f1e9a1234567890123456789b7c"}', False),  # hex id
        (b'{"id": "12345678901234567890"}', False),  # a string of digits
        (b'{"x": 12345678901234567890.5, "y": 1234567890123456789e3}', False),  # floats
    ],
)
def test_long_integers_are_told_from_digits_in_strings(body, long):
    assert holds_a_long_integer(body) is long
    assert _parsed(FastJSONParser(), body) == _parsed(JSONParser(), body)


def test_a_body_in_another_charset_is_decoded_by_it():
    body = '{"name": "Zoé"}'.encode("latin-1")
    assert _parsed(FastJSONParser(), body, "latin-1") == {"name": "Zoé"}


@pytest.mark.parametrize(
    "body", [b'{"confidence": NaN}', b"{not json", b'{"a": 1', b"\xff\xfe{}", b'"\\ud800"x']
)
def test_what_drf_refuses_is_refused_with_its_message(body):
    with pytest.raises(ParseError) as ours:
        _parsed(FastJSONParser(), body)
    with pytest.raises(ParseError) as drfs:
        _parsed(JSONParser(), body)
    assert str(ours.value) == str(drfs.value)


@pytest.mark.django_db
def test_an_integer_past_64_bits_is_stored_and_answered_unrounded(agent_client):
    payload = item_payload()
    payload["fields"][2]["value"] = 123456789012345678901234567890
    body = json.dumps(payload)
    response = agent_client.post(SUBMIT, body, content_type="application/json")
    assert response.status_code == 201
    field = Item.objects.get(pk=response.json()["id"]).fields.get(name="amount")
    assert field.value == 123456789012345678901234567890
    answer = agent_client.get(f"{SUBMIT}/{response.json()['id']}").content
    assert b"123456789012345678901234567890" in answer


@pytest.mark.django_db
def test_nan_and_deep_nesting_are_400s_naming_the_json(agent_client):
    nan = json.dumps(item_payload()).replace('"confidence": 0.93', '"confidence": NaN')
    deep = '{"queue": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for body in (nan, deep):
        response = agent_client.post(SUBMIT, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error")
    assert not Item.objects.exists()


def test_nul_characters_are_found_wherever_they_hide_and_named_by_their_path():
    data = {
        "items": [
            {"external_id": "ok", "fields": [{"value": "fine"}]},
            {"external_id": "a\x00b", "fields": [{"value": ["x", {"deep": "\x00"}]}]},
        ],
        "bad\x00key": 1,
    }
    assert nul_paths(data) == [
        "items[1].external_id",
        "items[1].fields[0].value[1].deep",
        "bad\\u0000key",
    ]
    assert nul_paths("\x00") == ["body"]
    assert nul_paths({"n": 1, "s": "\\u0000 is only written here", "l": [None, True]}) == []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_body_with_a_nul_character_is_refused_naming_where(encoding):
    body = '{"fields": [{"value": "PN\\u0000"}], "note": "a backslash: \\\\u0000"}'
    with pytest.raises(ValidationError) as refused:
        _parsed(FastJSONParser(), body.encode(encoding), encoding)
    assert list(refused.value.detail) == ["fields[0].value"]
    # An escaped backslash before u0000 is text, not the character.
    harmless = '{"note": "a backslash: \\\\u0000"}'
    assert _parsed(FastJSONParser(), harmless.encode()) == {"note": "a backslash: \\u0000"}


@pytest.mark.django_db
def test_a_nul_character_anywhere_in_an_ingest_is_a_400_naming_it_and_nothing_is_stored(
    agent_client,
):
    single = item_payload(rationale="checked\x00")
    batch = {"items": [item_payload(external_id="b-1"), item_payload(external_id="b-2")]}
    batch["items"][1]["metadata"] = {"trace_id": "t\x00"}
    for url, body, path in (
        (SUBMIT, single, "rationale"),
        (f"{SUBMIT}/batch", batch, "items[1].metadata.trace_id"),
    ):
        response = agent_client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == {path: ["must not contain the NUL character (\\u0000)"]}
    assert not Item.objects.exists()


def test_a_lone_surrogate_is_refused_naming_where_and_a_pair_is_a_character():
    body = b'{"fields": [{"value": "x\\ud800"}], "\\udfff": 1, "emoji": "\\ud83d\\ude00"}'
    with pytest.raises(ValidationError) as refused:
        _parsed(FastJSONParser(), body)
    assert list(refused.value.detail) == ["fields[0].value", "\\udfff"]
    # Read by the standard library too (a long integer), a pair is still one character.
    pair = b'{"emoji": "\\ud83d\\ude00", "n": 12345678901234567890}'
    assert _parsed(FastJSONParser(), pair) == {"emoji": "😀", "n": 12345678901234567890}


@pytest.mark.django_db
def test_a_lone_surrogate_in_an_ingest_is_a_400_naming_it_and_nothing_is_stored(agent_client):
    body = json.dumps(item_payload(rationale="checked", metadata={"a": 1}))
    body = body.replace('"checked"', '"checked\\ud800"').replace('"a"', '"\\udfff"')
    response = agent_client.post(SUBMIT, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {"rationale", "metadata.\\udfff"}
    assert "lone surrogate" in response.json()["detail"]
    assert not Item.objects.exists()
