"""Celery tasks: safe to run twice, and a real worker process picks them up through Redis."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accountability import celery_app
from accountability.audit import Actor
from accountability.models import AuditEvent
from agents.payload import parse_item
from review import services
from review.documents import processing
from review.documents.intake import document_store
from review.models import Document, Item, Lease
from review.tasks import document_process as document_process_task
from review.tasks import leases_close_expired as leases_close_expired_task
from tests.conftest import ON_POSTGRES
from tests.factories import ingest, item_payload
from tests.review.documents.samples import pdf_bytes

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


@pytest.fixture
def waiting_document(settings, tmp_path, django_capture_on_commit_callbacks) -> Document:
    """A stored PDF whose processing has not run yet."""
    settings.MEDIA_ROOT, settings.DOCUMENT_RENDER_DPI = tmp_path, 36
    with django_capture_on_commit_callbacks(execute=False):
        document, _ = document_store(data=pdf_bytes(1), agent=None, actor=Actor.system("t"))
    return document


def _failing(*errors: Exception):  # noqa: ANN202
    """A stand-in for the service that raises these errors in turn, then does the real work."""
    pending = list(errors)
    real = processing.document_process

    def run(document: Document) -> None:
        if pending:
            raise pending.pop(0)
        real(document)

    return run


@pytest.mark.django_db
def test_document_task_runs_once(waiting_document):
    document_process_task.delay(waiting_document.pk)
    waiting_document.refresh_from_db()
    processed_at = waiting_document.processed_at
    document_process_task.delay(waiting_document.pk)  # already READY: nothing happens
    waiting_document.refresh_from_db()
    assert (waiting_document.status, waiting_document.attempts) == ("ready", 1)
    assert waiting_document.processed_at == processed_at
    assert AuditEvent.objects.filter(action="review.document.processed").count() == 1


@pytest.fixture
def worker_request():
    """Run the task body as a worker would (not eagerly), with retry() recorded, not sent."""
    retries: list[BaseException] = []

    def retry(exc: BaseException, **options: object) -> Retry:
        retries.append(exc)
        return Retry(exc=exc, when=options.get("countdown"))

    def run(document_id: int, attempt: int) -> None:
        document_process_task.push_request(retries=attempt - 1)
        try:
            document_process_task.run(document_id)
        finally:
            document_process_task.pop_request()

    with mock.patch.object(document_process_task, "retry", retry):
        yield run, retries


@pytest.mark.django_db
def test_a_storage_error_is_retried_by_the_worker(waiting_document, monkeypatch, worker_request):
    run, retries = worker_request
    monkeypatch.setattr(processing, "document_process", _failing(OSError("disk")))
    with pytest.raises(Retry):
        run(waiting_document.pk, attempt=1)
    assert len(retries) == 1
    waiting_document.refresh_from_db()
    assert waiting_document.status == Document.Status.PENDING
    assert waiting_document.error == "Attempt 1 failed (OSError); it will be retried."
    run(waiting_document.pk, attempt=2)  # the retry, which works
    waiting_document.refresh_from_db()
    assert (waiting_document.status, waiting_document.attempts) == ("ready", 2)
    assert waiting_document.error == ""


@pytest.mark.django_db
def test_a_storage_error_on_the_last_retry_fails_the_document(
    waiting_document, monkeypatch, worker_request
):
    run, retries = worker_request
    monkeypatch.setattr(processing, "document_process", _failing(OSError("disk")))
    run(waiting_document.pk, attempt=6)  # max_retries=5: this was the last; nothing raised
    assert retries == []
    waiting_document.refresh_from_db()
    assert waiting_document.status == Document.Status.FAILED
    assert waiting_document.error == (
        "Processing failed (OSError) after 1 attempt(s); send the file again."
    )
    assert AuditEvent.objects.filter(action="review.document.failed").count() == 1


@pytest.mark.django_db
def test_eager_celery_fails_a_storage_error_at_once(waiting_document, monkeypatch):
    # Eager tasks run inside the upload request: a retry there would be an instant repeat.
    monkeypatch.setattr(processing, "document_process", _failing(OSError("disk")))
    document_process_task.delay(waiting_document.pk)
    waiting_document.refresh_from_db()
    assert (waiting_document.status, waiting_document.attempts) == ("failed", 1)


@pytest.mark.django_db
def test_document_fails_at_once_on_an_error_a_retry_cannot_fix(waiting_document, monkeypatch):
    monkeypatch.setattr(processing, "document_process", _failing(ValueError("bug")))
    document_process_task.delay(waiting_document.pk)  # does not raise into the caller
    waiting_document.refresh_from_db()
    assert (waiting_document.status, waiting_document.attempts) == ("failed", 1)
    assert "ValueError" in waiting_document.error


@pytest.mark.django_db
def test_document_task_for_a_deleted_document_does_nothing():
    document_process_task.delay(987654)


@pytest.mark.django_db
def test_items_waiting_for_the_document_are_routed_once_it_is_processed(
    waiting_document, agent, queue
):
    waiting_document.agents.add(agent)
    payload = item_payload()
    payload["documents"] = [{"key": "form", "document_id": waiting_document.pk}]
    parsed, errors = parse_item(payload)
    assert not errors, errors
    [result] = services.items_ingest(agent=agent, payloads=[parsed])
    assert result.item.status == Item.Status.ASSESSING
    document_process_task.delay(waiting_document.pk)
    result.item.refresh_from_db()
    # The quotes are not in this PDF's text, so the item now waits for a person, with reasons.
    assert result.item.status == Item.Status.PENDING
    assert result.item.reasons.filter(code="evidence_not_found").exists()
