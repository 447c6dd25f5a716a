from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from review import selectors, services
from review.models import Item, Lease
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

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


def test_queue_overview_gives_each_figure_from_this_queues_waiting_and_escalated_items(
    agent, queue, reviewer, other_reviewer
):
    lead = UserFactory(username="lena")
    queue.leads.add(lead)
    first, due, held, expired = (ingest(agent, external_id=n) for n in "abcd")
    Item.objects.filter(pk=due.pk).update(due_at=timezone.now() + dt.timedelta(minutes=5))
    escalated = ingest(agent, external_id="e")
    Item.objects.filter(pk=escalated.pk).update(
        status=Item.Status.ESCALATED, sla_breached_at=timezone.now()
    )
    Item.objects.filter(pk__in=[held.pk, expired.pk]).update(priority=1000)  # claimed first
    services.lease_claim_next(queue=queue, reviewer=other_reviewer)
    lapsed = services.lease_claim_next(queue=queue, reviewer=lead)
    Lease.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    Item.objects.filter(pk=lapsed.item_id).update(leased_until=timezone.now())
    ingest(agent, external_id="clean", confidence=0.99)  # auto-accepted: not waiting
    elsewhere = QueueFactory(slug="other", reviewers=[reviewer])
    ingest(AgentFactory(queues=[elsewhere]), queue="other", external_id="x")

    for person, is_lead in ((reviewer, False), (lead, True)):
        summary = next(s for s in selectors.queue_overview(person) if s.queue == queue)
        assert (summary.waiting, summary.due_soon) == (4, 1)
        assert summary.oldest == first.created_at
        assert summary.reviewing == ["omar"]  # lena's lease ran out
        assert (summary.escalated, summary.breached) == ((1, 1) if is_lead else (0, 0))
    [other] = [s for s in selectors.queue_overview(reviewer) if s.queue == elsewhere]
    assert (other.waiting, other.reviewing) == (1, [])
