"""Celery tasks of agents/: thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    """Make the due attempt of one webhook delivery. Does nothing if it is not due (already
    delivered, given up, or another worker holds it), so duplicates of this task are harmless."""
    from agents.webhooks import services

    services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhooks_dispatch(webhook_ids: list[str]) -> None:
    """Fan a batch's deliveries out to one task each, so an ingest request enqueues one task."""
    from agents.webhooks import outbox

    outbox.deliveries_dispatch(webhook_ids)


@shared_task(ignore_result=False)
def webhooks_send_due() -> int:
    """Beat safety net: re-enqueue deliveries that are overdue because their task was lost.

    Delivery never waits for it: every delivery has its own task, this only covers lost ones.
    """
    from agents.webhooks import services

    return services.webhooks_send_due()


@shared_task(ignore_result=False)
def calibrations_refit(agent_id: int | None = None) -> int:
    """Fit new calibrator versions where enough new labels arrived (one agent, or all: the
    beat safety net). Safe to run twice: a second run finds nothing due. Returns how many."""
    from agents.calibration import services

    return len(services.calibrations_refit(agent_id=agent_id))
