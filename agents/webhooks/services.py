"""Webhook writes: an agent's endpoint settings, its secret, and manual redelivery.

The outbox (outbox.py) and sending (sending.py) are services too; they are re-exported here so
callers need one import.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accountability.api import WorkflowError
from accountability.audit import Actor, audit_log
from agents.models import Agent, WebhookDelivery, WebhookEndpoint, WebhookEvent
from agents.webhooks.outbox import (
    dispatch,
    webhook_deliveries_auto_accepted,
    webhook_enqueue_outcome,
)
from agents.webhooks.sending import webhook_delivery_attempt, webhooks_send_due
from agents.webhooks.signing import secret_generate
from agents.webhooks.targets import TargetRefused, target_resolve, url_check

URL_MAX_LENGTH = WebhookEndpoint._meta.get_field("url").max_length


def webhook_endpoint_save(
    *, agent: Agent, url: str, events: list[str], enabled: bool, actor: Actor
) -> tuple[WebhookEndpoint, str | None]:
    """Create or change the agent's webhook endpoint; audited with before and after.

    The URL must be http(s) (https unless WEBHOOK_ALLOW_HTTP) and its host must resolve to
    public addresses only (or WEBHOOK_ALLOWED_NETWORKS); events must be known. Invalid input
    raises ValidationError naming the field, and nothing is written. Returns the endpoint and,
    when it was just created, its new secret (shown once; later only rotation reveals one).
    """
    url = (url or "").strip()
    _check(url, events)
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(agent=agent).first()
        created = endpoint is None
        if endpoint is None:
            endpoint = WebhookEndpoint(agent=agent, secret=secret_generate(), enabled=False)
        before = None if created else _settings(endpoint)
        endpoint.url, endpoint.events = url, list(dict.fromkeys(events))
        if enabled and not endpoint.enabled:
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
        elif not enabled and (created or endpoint.enabled):
            endpoint.disabled_at, endpoint.disabled_reason = now, f"Disabled by {actor.label}."
        endpoint.enabled = enabled
        after = _settings(endpoint)
        if before != after:
            endpoint.save()
            action = "agents.webhook.created" if created else "agents.webhook.updated"
            audit_log(
                obj=endpoint, action=action, actor=actor, data={"before": before, "after": after}
            )
    return endpoint, endpoint.secret if created else None


def _check(url: str, events: Any) -> None:
    errors: dict[str, list[str]] = {}
    if not url:
        errors["url"] = ["give the URL your receiver listens on"]
    elif len(url) > URL_MAX_LENGTH:
        errors["url"] = [f"must be at most {URL_MAX_LENGTH} characters"]
    elif refusal := url_check(url):
        errors["url"] = [refusal]
    else:
        try:
            target_resolve(url)
        except TargetRefused as exc:
            errors["url"] = [str(exc)]
    known = WebhookEvent.values
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        errors["events"] = [f"must be a list of event names: {', '.join(known)}"]
    elif not events:
        errors["events"] = [f"choose at least one of {', '.join(known)}"]
    elif unknown := [event for event in events if event not in known]:
        errors["events"] = [f"unknown {', '.join(unknown)}; choose from {', '.join(known)}"]
    if errors:
        raise ValidationError(errors)


def _settings(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What an owner sets, for the audit trail (never the secret)."""
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
    }


def webhook_secret_rotate(*, agent: Agent, actor: Actor) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new secret and return it (shown once). The previous secret also
    signs for WEBHOOK_SECRET_OVERLAP_SECONDS, so the receiver can switch without losing
    events. Audited without either secret."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(agent=agent).first()
        if endpoint is None:
            raise WorkflowError("This agent has no webhook yet; set one first.", code="no_webhook")
        overlap_ends = now + dt.timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
        endpoint.previous_secret, endpoint.previous_secret_expires_at = (
            endpoint.secret,
            overlap_ends,
        )
        endpoint.secret = secret_generate()
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        audit_log(
            obj=endpoint,
            action="agents.webhook.secret_rotated",
            actor=actor,
            data={"previous_secret_valid_until": overlap_ends.isoformat()},
        )
    return endpoint, endpoint.secret


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a delivery again now, under the same webhook-id: one manual attempt. If it fails,
    retries go on only while the event's retry window is open. Refused (409) while the endpoint
    is disabled: enable it first."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "item")
            .get(pk=delivery.pk)
        )
        if not delivery.endpoint.enabled:
            raise WorkflowError(
                "The webhook is disabled; enable it before redelivering.", code="webhook_disabled"
            )
        previous = delivery.status
        delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.PENDING, now
        delivery.manual = True
        delivery.save(update_fields=["status", "next_attempt_at", "manual"])
        audit_log(
            obj=delivery.item,
            action="webhook.redelivery_requested",
            actor=actor,
            data={
                "delivery": delivery.pk,
                "webhook_id": delivery.webhook_id,
                "event": delivery.event_type,
                "status_before": previous,
            },
        )
        transaction.on_commit(partial(dispatch, [delivery.pk]))
    return delivery


__all__ = [
    "webhook_delivery_attempt",
    "webhook_delivery_redeliver",
    "webhook_endpoint_save",
    "webhook_deliveries_auto_accepted",
    "webhook_enqueue_outcome",
    "webhook_secret_rotate",
    "webhooks_send_due",
]
