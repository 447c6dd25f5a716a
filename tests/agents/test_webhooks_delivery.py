"""Sending webhooks to a real HTTP receiver: signatures, retries, timeouts, 410, redirects."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone

from accountability.models import AuditEvent
from agents.models import WebhookAttempt, WebhookDelivery
from agents.webhooks import services
from agents.webhooks.delivery import webhook_post
from agents.webhooks.outbox import webhook_enqueue_outcome
from review.models import Item
from tests.agents.webhooks_support import Reply, endpoint_for, verify
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def auto_accepted(agent, external_id: str = "claim-1") -> Item:
    item = ingest(agent, confidence=0.99, external_id=external_id)
    assert item.status == Item.Status.AUTO_ACCEPTED
    return item


def queued(agent, external_id: str = "claim-1") -> WebhookDelivery:
    """An auto-accepted item's delivery, written but not sent (its commit hook never runs in a
    test transaction): the test drives the attempts."""
    auto_accepted(agent, external_id)
    return WebhookDelivery.objects.get(item__external_id=external_id)


def attempt(delivery: WebhookDelivery, at: dt.datetime | None = None, jitter: float = 1.0):
    """One attempt at the delivery's due time (or at), with full jitter fixed at `jitter`."""
    delivery.refresh_from_db()
    return services.webhook_delivery_attempt(
        delivery_id=delivery.pk, now=at or delivery.next_attempt_at, rand=lambda: jitter
    )


def test_event_arrives_signed_per_standard_webhooks(local_webhooks, receiver, agent):
    _, secret = endpoint_for(agent, receiver.url())
    delivery = queued(agent)

    result = attempt(delivery)

    assert result.status_code == 200 and result.error == ""
    [request] = receiver.requests
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert request.headers["content-type"] == "application/json"
    assert verify(secret, request.headers, request.body)
    payload = request.json
    assert payload["type"] == "item.auto_accepted"
    assert payload["data"]["decision"] == "auto_accepted"
    assert payload["data"]["external_id"] == "claim-1"
    assert payload["data"]["agent_version"] == "v1.0"
    assert payload["data"]["url"] == f"https://review.example.com/api/v1/items/{delivery.item_id}"
    assert payload["data"]["fields"][0] == {
        "name": "policy_number",
        "predicted_value": "PN-4471-0923",
        "final_value": "PN-4471-0923",
        "verdict": None,
    }
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert AuditEvent.objects.filter(action="webhook.delivered", target_id=str(delivery.item_id))


def test_receiver_failing_three_times_gets_the_event_once_on_the_fourth(
    local_webhooks, receiver, agent
):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(500), Reply(502, body=b"bad gateway"), Reply(503))
    delivery = queued(agent)
    start = delivery.next_attempt_at

    codes = [attempt(delivery).status_code for _ in range(4)]

    assert codes == [500, 502, 503, 200]
    assert len(receiver.requests) == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.webhook_id}
    assert list(receiver.processed) == [delivery.webhook_id]  # recorded exactly once
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempt_count == 4
    times = list(delivery.attempts.values_list("attempted_at", flat=True))
    assert [t - start for t in times] == [
        dt.timedelta(seconds=s) for s in (0, 5, 5 + 300, 5 + 300 + 1800)
    ]
    assert delivery.attempts.all()[1].response_excerpt == "bad gateway"
    # Again: nothing is due any more, so nothing is sent.
    assert attempt(delivery, at=timezone.now() + dt.timedelta(days=1)) is None
    assert len(receiver.requests) == 4


def test_an_attempt_before_its_time_sends_nothing(local_webhooks, receiver, agent):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(500))
    delivery = queued(agent)
    attempt(delivery)
    delivery.refresh_from_db()
    early = delivery.next_attempt_at - dt.timedelta(seconds=1)
    assert attempt(delivery, at=early) is None
    assert len(receiver.requests) == 1


def test_retries_stop_after_three_days_and_the_failure_is_audited(local_webhooks, receiver, agent):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", *[Reply(500)] * 50)
    delivery = queued(agent)

    while delivery.status == WebhookDelivery.Status.PENDING:
        attempt(delivery)
        delivery.refresh_from_db()

    offsets = [
        round((t - delivery.created_at).total_seconds() / 3600, 2)
        for t in delivery.attempts.values_list("attempted_at", flat=True)
    ]
    print(f"attempts at hours (jitter at its maximum): {offsets}")
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert offsets[-1] == 72.0 and len(offsets) == 12
    assert len(receiver.requests) == 12
    failed = AuditEvent.objects.get(action="webhook.failed")
    assert failed.data["webhook_id"] == delivery.webhook_id and failed.data["attempts"] == 12


def test_retry_after_from_the_receiver_sets_the_next_attempt(local_webhooks, receiver, agent):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(429, headers={"Retry-After": "900"}))
    delivery = queued(agent)
    now = delivery.next_attempt_at

    attempt(delivery, at=now, jitter=0.0)

    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=900)
    assert attempt(delivery, at=now + dt.timedelta(seconds=899)) is None
    assert attempt(delivery, at=now + dt.timedelta(seconds=900)).status_code == 200


def test_410_gone_disables_the_endpoint_and_tells_the_owner(
    local_webhooks, receiver, agent, mailoutbox, django_capture_on_commit_callbacks
):
    endpoint, _ = endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(410))
    first, second = queued(agent, "claim-1"), queued(agent, "claim-2")

    with django_capture_on_commit_callbacks(execute=True):
        attempt(first)

    endpoint.refresh_from_db()
    first.refresh_from_db()
    assert not endpoint.enabled and "410 Gone" in endpoint.disabled_reason
    assert first.status == WebhookDelivery.Status.FAILED
    disabled = AuditEvent.objects.get(action="agents.webhook.disabled")
    assert disabled.target_id == str(endpoint.pk) and "410" in disabled.data["reason"]
    assert AuditEvent.objects.filter(action="webhook.failed").count() == 1
    [mail] = mailoutbox
    assert mail.to == [agent.owner.email] and "410 Gone" in mail.body
    # What was still queued is not sent to a receiver that said it is gone.
    assert attempt(second).error == "Not sent: the endpoint is disabled."
    assert len(receiver.requests) == 1
    # And nothing new is queued for it.
    assert webhook_enqueue_outcome(auto_accepted(agent, "claim-3")) is None


def test_redirects_are_not_followed(local_webhooks, receiver, agent):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(307, headers={"Location": receiver.url("/elsewhere")}))
    delivery = queued(agent)

    result = attempt(delivery)

    assert result.status_code == 307 and "not followed" in result.error
    assert receiver.requests_to("/elsewhere") == []
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING  # retried like a 5xx


def test_loopback_receiver_is_refused_without_the_setting(local_webhooks, receiver, agent):
    endpoint_for(agent, receiver.url())
    delivery = queued(agent)
    local_webhooks.WEBHOOK_ALLOWED_NETWORKS = []  # as in production

    result = attempt(delivery)

    assert result.status_code is None and "loopback" in result.error
    assert receiver.requests == []


def test_response_excerpt_is_capped_at_1_kb(local_webhooks, receiver, agent):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(500, body=b"x" * 100_000))
    result = attempt(queued(agent))
    assert result.response_excerpt == "x" * 1024


def test_a_slow_receiver_times_out_without_holding_up_another(local_webhooks, receiver):
    local_webhooks.WEBHOOK_TIMEOUT_SECONDS = 0.5
    results = {}

    def send(name: str) -> None:
        results[name] = webhook_post(receiver.url(f"/{name}"), b"{}", {"webhook-id": name})

    receiver.script("/slow", Reply(hold=True))
    slow = threading.Thread(target=send, args=("slow",))
    slow.start()
    send("fast")
    fast_done_while_slow_pending = not receiver.held_done.is_set()
    slow.join(timeout=10)

    assert results["fast"].delivered and fast_done_while_slow_pending
    assert results["slow"].status_code is None and "Timed out" in results["slow"].error
    assert not receiver.held_done.is_set()  # we gave up before the slow receiver answered
    print(f"slow receiver abandoned after {results['slow'].latency_ms} ms (timeout 500 ms)")


def test_timed_out_attempt_is_recorded_and_retried(local_webhooks, receiver, agent):
    local_webhooks.WEBHOOK_TIMEOUT_SECONDS = 0.3
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(hold=True))
    delivery = queued(agent)

    result = attempt(delivery)

    assert result.status_code is None and "Timed out" in result.error
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.attempt_count == 1


def test_beat_job_sends_deliveries_whose_task_was_lost(
    local_webhooks, receiver, agent, django_capture_on_commit_callbacks
):
    endpoint_for(agent, receiver.url())
    lost, recent = queued(agent, "claim-1"), queued(agent, "claim-2")
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=lost.pk).update(
        next_attempt_at=now - dt.timedelta(minutes=10)
    )

    with django_capture_on_commit_callbacks(execute=True):
        picked = services.webhooks_send_due(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        picked_again = services.webhooks_send_due(now=now)

    assert (picked, picked_again) == (1, 0)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [lost.webhook_id]
    recent.refresh_from_db()
    assert recent.status == WebhookDelivery.Status.PENDING  # its own task is still coming


def test_deliver_task_run_twice_sends_once(
    local_webhooks, receiver, agent, django_capture_on_commit_callbacks
):
    from agents import tasks

    endpoint_for(agent, receiver.url())
    delivery = queued(agent)
    tasks.webhook_deliver.delay(delivery.pk)
    tasks.webhook_deliver.delay(delivery.pk)
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_a_retry_is_its_own_task_due_at_the_next_attempt(
    local_webhooks, receiver, agent, monkeypatch, django_capture_on_commit_callbacks
):
    from accountability import celery_app
    from agents import tasks

    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(500), Reply(500))
    delivery = queued(agent)
    scheduled = []
    monkeypatch.setattr(
        tasks.webhook_deliver, "apply_async", lambda args, eta: scheduled.append((args, eta))
    )

    with django_capture_on_commit_callbacks(execute=True):
        attempt(delivery)  # eager (tests, one process): no task; the clock or beat sends it
    celery_app.conf.task_always_eager = False  # a worker on a broker; conftest restores it
    with django_capture_on_commit_callbacks(execute=True):
        attempt(delivery)

    delivery.refresh_from_db()
    assert scheduled == [((delivery.pk,), delivery.next_attempt_at)]
