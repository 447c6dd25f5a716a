"""Celery tasks: thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=False)
def leases_close_expired() -> int:
    """Beat job: record expired leases in the audit trail. Claiming never depends on it."""
    from review import services

    return services.leases_close_expired()
