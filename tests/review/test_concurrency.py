"""Real concurrency on PostgreSQL: many reviewers claiming at once never share an item."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from agents.payload import parse_item
from review import services
from review.models import Item, Lease
from tests.conftest import postgres_only, run_concurrently
from tests.factories import AgentFactory, QueueFactory, UserFactory, item_payload, reject_held

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

ITEMS, REVIEWERS = 2000, 20


def _waiting_items(agent, n: int) -> None:
    payloads = []
    for i in range(n):
        payload = item_payload(external_id=f"c{i}")
        payload["fields"][0]["confidence"] = (i % 90) / 100  # all below threshold, varied priority
        payloads.append(parse_item(payload)[0])
    for start in range(0, n, 500):
        services.items_ingest(agent=agent, payloads=payloads[start : start + 500])


def test_twenty_reviewers_claim_two_thousand_items_each_exactly_once():
    reviewers = [UserFactory(username=f"r{i}") for i in range(REVIEWERS)]
    queue = QueueFactory(slug="claims", reviewers=reviewers)
    _waiting_items(AgentFactory(queues=[queue]), ITEMS)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(reviewer) -> None:  # noqa: ANN001
        while (lease := services.lease_claim_next(queue=queue, reviewer=reviewer)) is not None:
            with lock:
                claimed.append(lease.item_id)
            reject_held(lease, reviewer, "concurrency test")

    errors = run_concurrently(work, [(r,) for r in reviewers])

    assert errors == []
    counts = Counter(claimed)
    assert len(counts) == ITEMS
    assert max(counts.values()) == 1
    assert Lease.objects.count() == ITEMS
    assert not Item.objects.filter(status=Item.Status.PENDING).exists()
    # The work was really shared out, not done by one thread holding the others off.
    per_reviewer = Counter(Lease.objects.values_list("reviewer_id", flat=True))
    assert len(per_reviewer) == REVIEWERS
