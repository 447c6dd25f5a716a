"""Celery tasks of the platform itself: thin wrappers, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(ignore_result=False)
def sessions_clear_expired() -> int:
    """Beat job: delete the sessions past their expiry, which nothing else removes (a browser
    closed without signing out leaves its row). Django's clearsessions, on a schedule; returns
    how many went."""
    from accountability.models import Session

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
