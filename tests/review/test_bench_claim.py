"""bench_claim's count of double claims: leases open at once, not a lease taken over."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from review.management.commands.bench_claim import _double_claims
from review.models import Lease
from tests.conftest import postgres_only
from tests.factories import ingest

pytestmark = [pytest.mark.django_db, postgres_only]


def _lease(item, reviewer, start: dt.datetime, minutes: int, ended: dt.datetime | None) -> None:
    Lease.objects.create(
        item=item,
        reviewer=reviewer,
        claimed_at=start,
        expires_at=start + dt.timedelta(minutes=minutes),
        ended_at=ended,
        end=Lease.End.EXPIRED if ended else "",
    )


def test_a_run_out_lease_taken_over_is_no_double_claim(agent, queue, reviewer, other_reviewer):
    item, now = ingest(agent), timezone.now()
    _lease(item, reviewer, now, 10, ended=now + dt.timedelta(minutes=12))  # recorded late
    _lease(item, other_reviewer, now + dt.timedelta(minutes=11), 10, ended=None)
    assert _double_claims(queue) == 0


def test_two_leases_open_at_once_are_counted(agent, queue, reviewer, other_reviewer):
    item, now = ingest(agent), timezone.now()
    _lease(item, reviewer, now, 10, ended=now + dt.timedelta(minutes=5))
    _lease(item, other_reviewer, now + dt.timedelta(minutes=3), 10, ended=None)
    assert _double_claims(queue) == 1
