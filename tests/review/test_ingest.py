"""The ingest service's answers when requests race."""

from __future__ import annotations

import pytest

from agents.payload import parse_item
from review.models import Item, ItemField
from review.services import IngestOutcome, ingest, items_ingest
from tests.factories import item_payload

pytestmark = pytest.mark.django_db


def test_losing_an_insert_race_still_answers_each_item_correctly(agent, monkeypatch):
    """Another request stores the same external_id between our lookup and our insert."""
    items_ingest(agent=agent, payloads=[parse_item(item_payload(external_id="raced"))[0]])
    real_lookup = ingest._existing_items
    calls = []

    def stale_lookup(agent, external_ids):  # noqa: ANN001, ANN202
        calls.append(external_ids)
        return (
            {} if len(calls) == 1 else real_lookup(agent, external_ids)
        )  # the first look misses it

    monkeypatch.setattr(ingest, "_existing_items", stale_lookup)
    changed = item_payload(external_id="raced", rationale="a different payload")
    payloads = [
        parse_item(p)[0]
        for p in (item_payload(external_id="fresh"), item_payload(external_id="raced"), changed)
    ]
    results = items_ingest(agent=agent, payloads=payloads)
    assert [r.outcome for r in results] == [
        IngestOutcome.CREATED,
        IngestOutcome.REPLAYED,
        IngestOutcome.CONFLICT,
    ]
    assert Item.objects.count() == 2
    assert ItemField.objects.count() == 8  # nothing of the failed bulk write was left behind


def test_a_write_that_keeps_failing_is_raised_not_retried_for_ever(agent, monkeypatch):
    """A unique violation that looking again does not explain is no race: it surfaces."""
    from django.db import IntegrityError

    items_ingest(agent=agent, payloads=[parse_item(item_payload(external_id="first"))[0]])
    real_stored_and_keys = ingest._stored_and_keys
    attempts = []

    def stored_again(*args):  # noqa: ANN002, ANN202 - the stored document seen as new
        attempts.append(1)
        _, *keys_and_endpoints = real_stored_and_keys(*args)
        return {}, *keys_and_endpoints

    monkeypatch.setattr(ingest, "_stored_and_keys", stored_again)
    with pytest.raises(IntegrityError):
        items_ingest(agent=agent, payloads=[parse_item(item_payload(external_id="second"))[0]])
    assert len(attempts) == 2  # the write, and one retry after looking again
    assert Item.objects.count() == 1
