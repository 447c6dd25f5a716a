"""Concurrent pickers on PostgreSQL: a delivery is attempted by one worker at a time."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone

from agents.models import WebhookAttempt, WebhookDelivery
from agents.webhooks import services
from tests.agents.webhooks_support import endpoint_for
from tests.conftest import postgres_only, run_concurrently
from tests.factories import ingest

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def test_eight_workers_on_one_due_delivery_send_it_once(
    local_webhooks, receiver, agent, monkeypatch
):
    endpoint_for(agent, receiver.url())
    monkeypatch.setattr("agents.webhooks.outbox.dispatch", lambda ids: None)  # as if lost
    ingest(agent, confidence=0.99)
    delivery = WebhookDelivery.objects.get()
    made = []

    def work() -> None:
        made.append(services.webhook_delivery_attempt(delivery_id=delivery.pk))

    assert run_concurrently(work, [()] * 8) == []
    assert len([a for a in made if a is not None]) == 1
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.count() == 1


def test_concurrent_sweeps_pick_each_overdue_delivery_once(local_webhooks, agent, monkeypatch):
    endpoint_for(agent, "http://127.0.0.1:9/hook")
    for i in range(40):
        ingest(agent, confidence=0.99, external_id=f"c{i}")
    now = timezone.now()
    WebhookDelivery.objects.update(next_attempt_at=now - dt.timedelta(hours=1))
    dispatched: list[int] = []
    lock = threading.Lock()

    def record(ids: list[int]) -> None:
        with lock:
            dispatched.extend(ids)

    monkeypatch.setattr("agents.webhooks.sending.dispatch", record)

    assert run_concurrently(lambda: services.webhooks_send_due(now=now, limit=15), [()] * 4) == []
    assert len(dispatched) == len(set(dispatched)) == 40
