from __future__ import annotations

import pytest

from review import selectors
from tests.factories import QueueFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db


def test_queue_overview_counts_each_waiting_item_once_whoever_looks(agent, queue, reviewer):
    lead = UserFactory(username="lena")
    queue.leads.set([lead, UserFactory(username="leo")])
    ingest(agent, external_id="a")
    ingest(agent, external_id="b")
    ingest(agent, external_id="clean", confidence=0.99)  # auto-accepted: not waiting
    QueueFactory(slug="other")
    for person in (reviewer, lead):
        [overview] = selectors.queue_overview(person)
        assert overview.queue.slug == "claims"
        assert overview.waiting == 2
        assert overview.oldest is not None
