"""Celery tasks: thin wrappers over services, safe to run twice."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.db import OperationalError
from django.db.models import F

logger = logging.getLogger(__name__)

# Worth another try: storage (disk full, a network filesystem or bucket away) and the database
# (a dropped connection, SQLite's "database is locked"). Anything else would fail the same way
# again, so it fails the document at once.
TRANSIENT_ERRORS = (OSError, OperationalError)


@shared_task(ignore_result=False)
def leases_close_expired() -> int:
    """Beat job: record expired leases in the audit trail. Claiming never depends on it."""
    from review import services

    return services.leases_close_expired()


@shared_task(ignore_result=False)
def items_flag_breached() -> int:
    """Beat job: escalate items still waiting at their due time. Safe to run twice.

    Claim order does not wait for it: items near their due time already come first.
    """
    from review import services

    return services.items_flag_breached()


@shared_task(
    bind=True,
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def document_process(self: Task, document_id: int) -> None:
    """Render and extract one stored document, then route the items that waited for it."""
    from review import services
    from review.models import Document

    # The conditional UPDATE is the guard: a document that is gone, READY or FAILED is left be.
    waiting = [Document.Status.PENDING, Document.Status.PROCESSING]
    started = Document.objects.filter(pk=document_id, status__in=waiting).update(
        status=Document.Status.PROCESSING, attempts=F("attempts") + 1
    )
    if started:
        _process(self, document_id)
    document = Document.objects.filter(pk=document_id).exclude(status__in=waiting).first()
    if document is not None:
        # Also when an earlier run processed it and then failed here: this is safe to repeat.
        services.items_assess_waiting(document=document)


def _process(task: Task, document_id: int) -> None:
    from review.documents import processing
    from review.models import Document

    try:
        processing.document_process(Document.objects.get(pk=document_id))
    except TRANSIENT_ERRORS as exc:
        # Eager Celery (laptop, tests) cannot wait between attempts, and would raise the retry
        # into the agent's upload request: there the first failure is the last.
        final = task.request.is_eager or task.request.retries >= task.max_retries
        processing.document_process_failed(document_id=document_id, exc=exc, final=final)
        if not final:
            raise  # autoretry_for schedules the next attempt, with backoff
        logger.exception("Document %s failed for good after retries", document_id)
    except Exception as exc:
        # Not re-raised: with eager Celery it would turn the agent's upload into a 500.
        processing.document_process_failed(document_id=document_id, exc=exc, final=True)
        logger.exception("Document %s failed", document_id)


@shared_task(ignore_result=False)
def rollups_store_recent() -> int:
    """Beat job: store yesterday's dashboard rollup, again for commits that landed late.

    Dashboards never wait for it: a day without a stored rollup is computed when first read.
    """
    from review.dashboard import rollups

    return rollups.rollups_store_recent()


@shared_task(ignore_result=False)
def qa_sample_rates_adapt() -> int:
    """Beat job (daily): QA rates of queues with adaptive sampling, to what their width needs."""
    from review.services import qa_sampling

    return qa_sampling.qa_sample_rates_adapt()
