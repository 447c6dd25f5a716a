"""Celery tasks: safe to run twice, and a real worker process picks them up through Redis."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accountability import celery_app
from review import services
from review.models import Item, Lease
from review.tasks import leases_close_expired as leases_close_expired_task
from tests.conftest import ON_POSTGRES
from tests.factories import ingest

ROOT = Path(__file__).resolve().parents[2]


def _expired_lease(agent, queue, reviewer) -> Lease:  # noqa: ANN001
    ingest(agent)
    lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
    past = timezone.now() - dt.timedelta(minutes=1)
    Lease.objects.filter(pk=lease.pk).update(expires_at=past)
    Item.objects.filter(pk=lease.item_id).update(leased_until=past)
    return lease


@pytest.mark.django_db
def test_task_closes_expired_leases_once(agent, queue, reviewer):
    lease = _expired_lease(agent, queue, reviewer)
    assert leases_close_expired_task.delay().get() == 1
    assert leases_close_expired_task.delay().get() == 0
    lease.refresh_from_db()
    assert lease.end == Lease.End.EXPIRED


@pytest.mark.skipif(
    not (ON_POSTGRES and settings.REDIS_URL), reason="needs PostgreSQL and REDIS_URL"
)
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_runs_the_task_through_redis(agent, queue, reviewer):
    lease = _expired_lease(agent, queue, reviewer)
    db = connection.settings_dict
    env = {
        **os.environ,
        # The worker must see this test's database, which pytest-django created under another name.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": "test-worker",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "accountability",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    celery_app.conf.task_always_eager = False
    try:
        result = leases_close_expired_task.delay()
        assert result.get(timeout=60) == 1
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    lease.refresh_from_db()
    assert lease.end == Lease.End.EXPIRED, output
    assert Item.objects.get(pk=lease.item_id).lease_holder is None
