"""Sending deliveries: claim a due one, make one attempt, record it, schedule the next.

At least once: a receiver may see an event twice (a worker dies after sending, before
recording) and deduplicates by webhook-id, which never changes across attempts. Never twice at
the same time: an attempt first claims the row (SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL, an IMMEDIATE transaction on SQLite) by moving its due time past the attempt's
timeout, so a duplicate task or the beat job finds it not due; a worker that dies mid-attempt
leaves it due again once that time passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accountability import celery_app
from accountability.audit import Actor, audit_append, audit_event
from accountability.models import AuditEvent
from agents.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from agents.webhooks.delivery import AttemptResult, retry_after_seconds, webhook_post
from agents.webhooks.outbox import dispatch
from agents.webhooks.signing import signed_headers

logger = logging.getLogger(__name__)
SYSTEM = Actor.system("webhooks")
Post = Callable[[str, bytes, dict[str, str]], AttemptResult]


def webhook_delivery_attempt(
    *,
    delivery_id: int,
    now: dt.datetime | None = None,
    rand: Callable[[], float] = random.random,
    post: Post = webhook_post,
) -> WebhookAttempt | None:
    """Make the due attempt of one delivery and record it; None if it was not due (delivered,
    given up, not yet time, or being attempted elsewhere). Safe to call twice and concurrently.

    now and rand are the clock and the jitter, for tests that walk a delivery through its
    retries without waiting; the HTTP call happens outside any transaction.
    """
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        result = AttemptResult(None, 0, error="Not sent: the endpoint is disabled.")
    else:
        body = delivery.body.encode()
        # Wall-clock time, even under a test clock: receivers refuse stale timestamps.
        signing = signing_secrets(endpoint, now)
        headers = signed_headers(signing, delivery.webhook_id, int(time.time()), body)
        result = post(endpoint.url, body, headers)
    return _record(delivery.pk, result, now, rand)


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The current secret, and the previous one while its overlap after a rotation lasts."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(
                pk=delivery_id,
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if delivery is None:
            return None
        in_flight = dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
        delivery.next_attempt_at = now + in_flight
        delivery.save(update_fields=["next_attempt_at"])
    return delivery


def _record(
    delivery_id: int, result: AttemptResult, now: dt.datetime, rand: Callable[[], float]
) -> WebhookAttempt | None:
    with transaction.atomic():
        # Read again: the owner may have redelivered or disabled the endpoint meanwhile.
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("item", "endpoint__agent")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:  # its agent was deleted meanwhile: nobody to tell
            return None
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_excerpt=result.response_excerpt,
            error=result.error,
            manual=delivery.manual,
        )
        delivery.attempt_count += 1
        delivery.manual = False
        events = _outcome(delivery, attempt, result, now, rand)
        delivery.save(
            update_fields=[
                "status", "attempt_count", "manual", "next_attempt_at", "delivered_at"
            ]
        )  # fmt: skip
        audit_append(events)
    return attempt


def _outcome(
    delivery: WebhookDelivery,
    attempt: WebhookAttempt,
    result: AttemptResult,
    now: dt.datetime,
    rand: Callable[[], float],
) -> list[AuditEvent]:
    """Set the delivery's state after this attempt; return the audit events it calls for."""
    if result.delivered:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, now
        delivery.next_attempt_at = None
        return [_delivery_event(delivery, attempt, "webhook.delivered")]
    events = []
    if result.status_code == 410:
        events += _disable_gone(delivery.endpoint, now)
    retry_at = None
    if delivery.endpoint.enabled:
        wait = retry_after_seconds(result.retry_after, now)
        retry_at = next_attempt_time(delivery, now=now, retry_after=wait, rand=rand)
    delivery.next_attempt_at = retry_at
    if retry_at is None:
        delivery.status = WebhookDelivery.Status.FAILED
        return [*events, _delivery_event(delivery, attempt, "webhook.failed")]
    transaction.on_commit(partial(_schedule, delivery.pk, retry_at))
    return events


def next_attempt_time(
    delivery: WebhookDelivery,
    *,
    now: dt.datetime,
    retry_after: float | None,
    rand: Callable[[], float],
) -> dt.datetime | None:
    """When to try again after delivery.attempt_count attempts, or None to give up.

    Exponential backoff with full jitter: the n-th retry waits a random time up to the n-th
    value of WEBHOOK_RETRY_SCHEDULE_SECONDS (at least a second; the last value repeats), or
    longer when the receiver's Retry-After asks (capped at WEBHOOK_RETRY_AFTER_MAX_SECONDS).
    No attempt is due later than WEBHOOK_RETRY_WINDOW_SECONDS after the event: the last one
    comes at that moment, and a failure after it is final.
    """
    deadline = delivery.created_at + dt.timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
    if now >= deadline:
        return None
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    cap = schedule[min(max(delivery.attempt_count, 1), len(schedule)) - 1]
    wait = max(1.0, rand() * cap)
    if retry_after is not None:
        wait = max(wait, min(retry_after, settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    return min(now + dt.timedelta(seconds=wait), deadline)


def _schedule(delivery_id: int, eta: dt.datetime) -> None:
    """The retry's own task, due at eta. Not in eager mode (tests, the one-process setup), where
    Celery would run it at once, ignoring eta: there the beat job or the test's clock sends it."""
    from agents import tasks

    if celery_app.conf.task_always_eager:
        return
    try:
        tasks.webhook_deliver.apply_async((delivery_id,), eta=eta)
    except Exception:  # noqa: BLE001 - the row stays due; the beat job sends it
        logger.exception("Could not schedule webhook delivery %s; the beat job will", delivery_id)


def _disable_gone(endpoint: WebhookEndpoint, now: dt.datetime) -> list[AuditEvent]:
    """410 Gone: the receiver says the endpoint is no more. Stop sending and tell the owner."""
    if not endpoint.enabled:
        return []
    endpoint.enabled, endpoint.disabled_at = False, now
    endpoint.disabled_reason = (
        f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC: sending stopped. "
        "Fix the URL or the receiver, then enable the webhook again."
    )
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason", "updated_at"])
    transaction.on_commit(partial(_mail_owner, endpoint.pk))
    data = {"url": endpoint.url, "reason": endpoint.disabled_reason}
    return [audit_event(obj=endpoint, action="agents.webhook.disabled", actor=SYSTEM, data=data)]


def _mail_owner(endpoint_id: int) -> None:
    endpoint = WebhookEndpoint.objects.select_related("agent__owner").get(pk=endpoint_id)
    owner = endpoint.agent.owner
    if not owner.email:
        return
    send_mail(
        subject=f"Webhook of agent {endpoint.agent.slug} disabled",
        message=f"{endpoint.disabled_reason}\n\nURL: {endpoint.url}\n",
        from_email=None,
        recipient_list=[owner.email],
        fail_silently=True,  # the disabled reason is on the agent's page and in the API anyway
    )


def _delivery_event(delivery: WebhookDelivery, attempt: WebhookAttempt, action: str) -> AuditEvent:
    # On the item, so the item's decision trace shows whether and when its agent was told.
    return audit_event(
        obj=delivery.item,
        action=action,
        actor=SYSTEM,
        data={
            "delivery": delivery.pk,
            "webhook_id": delivery.webhook_id,
            "event": delivery.event_type,
            "agent": delivery.endpoint.agent.slug,
            "url": delivery.endpoint.url,
            "attempts": delivery.attempt_count,
            "status_code": attempt.status_code,
            "error": attempt.error,
        },
    )


def webhooks_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Beat job: re-enqueue deliveries overdue by WEBHOOK_SWEEP_GRACE_SECONDS (their task was
    lost: a broker restart, a failed enqueue). Dates them now, so the next run does not pick
    them again while their new task waits. Returns how many it picked."""
    now = now or timezone.now()
    overdue = now - dt.timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        picked = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=overdue)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if picked:
            WebhookDelivery.objects.filter(pk__in=picked).update(next_attempt_at=now)
            transaction.on_commit(partial(dispatch, picked))
    return len(picked)
