"""Claiming: one holder per item, expired leases free at the next claim, releases audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accountability.api import WorkflowError
from accountability.chain import chain_verify
from accountability.models import AuditEvent
from review import services
from review.models import Item, Lease
from tests.conftest import postgres_only
from tests.factories import QueueFactory, UserFactory, ingest, reject_held

pytestmark = pytest.mark.django_db


def test_claim_gives_the_riskiest_item_first_then_the_earliest_due(
    agent, queue, reviewer, other_reviewer
):
    mild = ingest(agent, external_id="mild", confidence=0.8)
    risky = ingest(agent, external_id="risky", confidence=0.1)
    first = services.lease_claim_next(queue=queue, reviewer=reviewer)
    second = services.lease_claim_next(queue=queue, reviewer=other_reviewer)
    assert (first.item_id, second.item_id) == (risky.pk, mild.pk)
    assert first.expires_at - first.claimed_at == dt.timedelta(minutes=queue.lease_minutes)


def test_claims_follow_urgency_then_risk_then_due_time_across_many_items(agent, queue):
    # On PostgreSQL the urgent items are found by skipping from priority to priority; the
    # order must be the one the queue promises, whatever the mix.
    now = timezone.now()
    window = queue.urgent_window
    spread = [(p, minutes) for p in (0, 10, 40, 70) for minutes in (5, 30, 90, 600, 2000)]
    items = {}
    for n, (priority, minutes) in enumerate(spread):
        item = ingest(agent, external_id=f"i{n}")
        due = now + dt.timedelta(minutes=minutes)
        Item.objects.filter(pk=item.pk).update(priority=priority, due_at=due)
        items[item.pk] = (due > now + window, -priority, due, item.pk)  # the promised order
    # One item waits for its blind second review by someone else: never to its first reviewer.
    first_reviewer = UserFactory(username="first")
    queue.reviewers.add(first_reviewer)
    Item.objects.filter(pk=min(items, key=items.get)).update(first_reviewer=first_reviewer)
    assert (
        services.lease_claim_next(queue=queue, reviewer=first_reviewer, now=now).item_id
        == (sorted(items, key=items.get)[1])
    )
    Lease.objects.all().delete()
    Item.objects.update(lease_holder=None, leased_until=None)
    claimed = []
    for n in range(len(items)):
        person = UserFactory(username=f"reviewer-{n}")
        queue.reviewers.add(person)
        claimed.append(services.lease_claim_next(queue=queue, reviewer=person, now=now).item_id)
    assert claimed == sorted(items, key=items.get)


def test_second_reviewer_never_gets_a_held_item(agent, queue, reviewer, other_reviewer):
    ingest(agent, external_id="only")
    assert services.lease_claim_next(queue=queue, reviewer=reviewer) is not None
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer) is None


def test_claiming_again_returns_the_lease_already_held(agent, queue, reviewer):
    ingest(agent, external_id="a")
    ingest(agent, external_id="b")
    first = services.lease_claim_next(queue=queue, reviewer=reviewer)
    again = services.lease_claim_next(queue=queue, reviewer=reviewer)
    assert again.pk == first.pk
    assert Lease.objects.count() == 1


def test_a_lease_held_in_another_queue_or_on_a_decided_item_is_not_given_back(
    agent, queue, reviewer
):
    other = QueueFactory(slug="invoices", reviewers=[reviewer])
    agent.queues.add(other)
    claim = ingest(agent, external_id="claim")
    invoice = ingest(agent, external_id="invoice", queue="invoices")
    assert services.lease_claim_next(queue=other, reviewer=reviewer).item_id == invoice.pk
    held = services.lease_claim_next(queue=queue, reviewer=reviewer)
    assert held.item_id == claim.pk
    Item.objects.filter(pk=held.item_id).update(status=Item.Status.ESCALATED)
    ingest(agent, external_id="claim-2")
    assert services.lease_claim_next(queue=queue, reviewer=reviewer).pk != held.pk


def test_claims_inside_one_transaction_leave_each_other_alone(
    agent, queue, reviewer, other_reviewer
):
    # A caller's own transaction (a command, the simulator) may claim again and again; a claim
    # that finds nothing must not touch the lease the one before it opened.
    item = ingest(agent, external_id="only")
    with transaction.atomic():
        first = services.lease_claim_next(queue=queue, reviewer=reviewer)
        assert services.lease_claim_next(queue=queue, reviewer=other_reviewer) is None
    first.refresh_from_db()
    assert first.ended_at is None and first.item_id == item.pk
    assert Lease.objects.filter(ended_at__isnull=True).get() == first
    assert Item.objects.get(pk=item.pk).lease_holder_id == reviewer.pk
    assert chain_verify().ok


@postgres_only
def test_a_claim_inside_a_callers_transaction_leaves_its_commit_and_plans_alone(
    agent, queue, reviewer
):
    # A claim of its own commits without waiting for the disk and plans generically
    # (review.services.leases); the transaction of a caller that claims and then writes more
    # must still wait for the disk, and plan its own statements as usual.
    ingest(agent, external_id="nested")
    with transaction.atomic():
        assert services.lease_claim_next(queue=queue, reviewer=reviewer) is not None
        assert _settings_now() == ("on", "auto")


def _settings_now() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('synchronous_commit'), current_setting('plan_cache_mode')"
        )
        return cursor.fetchone()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_only_a_claim_of_its_own_commits_without_waiting_for_the_disk(agent, queue, reviewer):
    ingest(agent, external_id="own")
    with CaptureQueriesContext(connection) as claim:
        lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    with CaptureQueriesContext(connection) as decision:
        reject_held(lease, reviewer)
    unflushed = "set_config('synchronous_commit', 'off', true)"
    generic = "set_config('plan_cache_mode', 'force_generic_plan', true)"
    [set_up] = [q["sql"] for q in claim.captured_queries if unflushed in q["sql"]]
    assert generic in set_up  # the take's plan, set in the same statement
    assert not any("SET LOCAL plan_cache_mode" in q["sql"] for q in claim.captured_queries)
    # A decision waits for the disk.
    assert not any("synchronous_commit" in query["sql"] for query in decision.captured_queries)
    assert _settings_now() == ("on", "auto")  # and so does the connection's next transaction
    assert Item.objects.get(pk=lease.item_id).status == Item.Status.REJECTED


def test_auto_accepted_items_are_never_claimed(agent, queue, reviewer):
    ingest(agent, external_id="clean", confidence=0.99)
    assert services.lease_claim_next(queue=queue, reviewer=reviewer) is None


def test_expired_lease_is_free_at_the_next_claim_without_a_sweeper(
    agent, queue, reviewer, other_reviewer
):
    item = ingest(agent)
    stale = services.lease_claim_next(queue=queue, reviewer=reviewer)
    later = timezone.now() + dt.timedelta(minutes=queue.lease_minutes + 1)
    fresh = services.lease_claim_next(queue=queue, reviewer=other_reviewer, now=later)
    assert fresh.item_id == item.pk
    stale.refresh_from_db()
    assert stale.end == Lease.End.EXPIRED and stale.ended_at == later
    expired = AuditEvent.objects.get(action="review.lease.expired", target_id=str(item.pk))
    assert expired.data["lease"] == str(stale.token)
    assert expired.data["reviewer"] == reviewer.pk
    assert expired.data["expired_at"] == stale.expires_at.isoformat()
    assert Lease.objects.filter(item=item, ended_at__isnull=True).get() == fresh
    assert chain_verify().ok  # what was hashed is what the database kept


def test_holder_of_an_expired_and_reissued_lease_can_write_nothing(
    agent, queue, reviewer, other_reviewer
):
    item = ingest(agent)
    stale = services.lease_claim_next(queue=queue, reviewer=reviewer)
    later = timezone.now() + dt.timedelta(minutes=queue.lease_minutes + 1)
    services.lease_claim_next(queue=queue, reviewer=other_reviewer, now=later)
    with pytest.raises(WorkflowError, match="ended"):
        reject_held(stale, reviewer, "wrong document")
    with pytest.raises(WorkflowError):
        services.lease_release(
            item_id=item.pk, reviewer=reviewer, lease_token=stale.token, reason="x"
        )
    assert Item.objects.get(pk=item.pk).status == Item.Status.PENDING


def test_the_database_refuses_two_open_leases_on_one_item(agent, queue, reviewer, other_reviewer):
    item = ingest(agent)
    services.lease_claim_next(queue=queue, reviewer=reviewer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lease.objects.create(
            item=item, reviewer=other_reviewer, expires_at=timezone.now() + dt.timedelta(minutes=5)
        )


def test_release_needs_a_reason_and_puts_the_item_back(agent, queue, reviewer, other_reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    with pytest.raises(ValidationError) as refused:
        services.lease_release(
            item_id=item.pk, reviewer=reviewer, lease_token=lease.token, reason="  "
        )
    assert "reason" in refused.value.message_dict
    services.lease_release(
        item_id=item.pk, reviewer=reviewer, lease_token=lease.token, reason="conflict of interest"
    )
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer).item_id == item.pk
    event = AuditEvent.objects.get(action="review.lease.released")
    assert event.data["reason"] == "conflict of interest"
    assert event.actor_label == reviewer.username


def test_someone_elses_lease_token_is_refused(agent, queue, reviewer, other_reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    with pytest.raises(WorkflowError, match="do not hold a lease"):
        services.lease_release(
            item_id=item.pk, reviewer=other_reviewer, lease_token=lease.token, reason="mine now"
        )


def test_sweeper_records_expired_leases_and_is_safe_to_run_twice(agent, queue, reviewer):
    item = ingest(agent)
    services.lease_claim_next(queue=queue, reviewer=reviewer)
    later = timezone.now() + dt.timedelta(minutes=queue.lease_minutes + 1)
    assert services.leases_close_expired(now=later) == 1
    assert services.leases_close_expired(now=later) == 0
    item.refresh_from_db()
    assert item.lease_holder is None and item.leased_until is None
    assert AuditEvent.objects.filter(action="review.lease.expired").count() == 1
