"""Active review time and lease extension through heartbeats."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accountability.api import WorkflowError
from review import services
from review.models import Item, Lease
from review.services.leases import record_activity
from tests.factories import ingest, reject_held

pytestmark = pytest.mark.django_db


def _lease_seen(seconds_ago: float) -> Lease:
    now = timezone.now()
    return Lease(
        claimed_at=now - dt.timedelta(seconds=seconds_ago), expires_at=now, active_seconds=0
    )


def test_reported_activity_is_credited_up_to_the_wall_time():
    now = timezone.now()
    lease = _lease_seen(20)
    assert record_activity(lease, now=now, reported_seconds=12) == 12
    assert record_activity(lease, now=now + dt.timedelta(seconds=5), reported_seconds=40) == 5
    assert lease.active_seconds == 17


def test_without_reports_a_long_gap_counts_as_sixty_seconds():
    lease = _lease_seen(600)
    assert record_activity(lease, now=timezone.now(), reported_seconds=None) == 60


def test_heartbeat_while_active_extends_the_lease(agent, queue, reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now() + dt.timedelta(seconds=30))
    beat = services.lease_heartbeat(
        item_id=item.pk, reviewer=reviewer, lease_token=lease.token, active_seconds=10
    )
    assert beat.expires_at > timezone.now() + dt.timedelta(minutes=queue.lease_minutes - 1)
    assert Item.objects.get(pk=item.pk).leased_until == beat.expires_at


def test_idle_heartbeat_does_not_extend_the_lease(agent, queue, reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    beat = services.lease_heartbeat(
        item_id=item.pk, reviewer=reviewer, lease_token=lease.token, active_seconds=0
    )
    assert beat.expires_at == lease.expires_at


def test_heartbeat_on_a_lost_lease_is_refused(agent, queue, reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    services.lease_release(
        item_id=item.pk, reviewer=reviewer, lease_token=lease.token, reason="break"
    )
    with pytest.raises(WorkflowError):
        services.lease_heartbeat(
            item_id=item.pk, reviewer=reviewer, lease_token=lease.token, active_seconds=5
        )


def test_review_stores_the_accumulated_active_time(agent, queue, reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    Lease.objects.filter(pk=lease.pk).update(claimed_at=timezone.now() - dt.timedelta(seconds=90))
    services.lease_heartbeat(
        item_id=item.pk, reviewer=reviewer, lease_token=lease.token, active_seconds=25
    )
    Lease.objects.filter(pk=lease.pk).update(last_seen_at=timezone.now() - dt.timedelta(seconds=10))
    review = reject_held(
        lease,
        reviewer,
        "illegible",
        active_seconds=3,
    )
    assert 27.5 <= review.active_seconds <= 28.5
