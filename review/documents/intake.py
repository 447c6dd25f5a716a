"""Intake: an agent's file in, a Document out, stored once per content and processed on commit."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import PureWindowsPath

import pypdfium2 as pdfium
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from accountability.audit import Actor, audit_log
from agents.models import Agent
from review.documents import sniff
from review.models import Document
from review.tasks import document_process as document_process_task

EXTENSIONS = {
    sniff.PDF: "pdf",
    sniff.PNG: "png",
    sniff.JPEG: "jpg",
    sniff.TIFF: "tif",
    sniff.HTML: "html",
    sniff.EMAIL: "eml",
    sniff.TEXT: "txt",
}


class DocumentRejected(Exception):
    """The document cannot be taken. The message is one sentence, safe to show to the agent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DocumentTooLarge(DocumentRejected):
    """Over DOCUMENT_MAX_BYTES or DOCUMENT_MAX_PAGES (HTTP 413)."""


class UnsupportedDocument(DocumentRejected):
    """Empty, or a type sniff() does not recognise (HTTP 415)."""


def document_store(
    *, data: bytes, filename: str = "", agent: Agent | None, actor: Actor
) -> tuple[Document, bool]:
    """Store `data` once per sha256 and return (document, created).

    Safe to call twice: the same bytes give the same Document, with `agent` added to the
    agents that may refer to it. Raises DocumentTooLarge or UnsupportedDocument before anything
    is written. Files other than plain text are processed by a task queued on commit.
    """
    content_type = _checked_type(data)
    sha256 = hashlib.sha256(data).hexdigest()
    filename = _clean_filename(filename)
    with transaction.atomic():
        document = Document.objects.filter(sha256=sha256).first()
        created = document is None
        if created:
            _check_pages(data, content_type)
            document, created = _create(data, sha256, content_type, filename)
            queue = created and document.status == Document.Status.PENDING
        else:
            # Already queued, or done; but a re-upload asks again after an outage outlasted
            # the retries.
            queue = document.status == Document.Status.FAILED
            if queue:
                document.status = Document.Status.PENDING
                document.save(update_fields=["status"])
        if agent is not None:
            document.agents.add(agent)
        audit_log(
            obj=document,
            action="review.document.stored",
            actor=actor,
            data={
                "sha256": sha256,
                "content_type": content_type,
                "size_bytes": len(data),
                "filename": filename,
                "created": created,
            },
        )
        if queue:
            transaction.on_commit(partial(document_process_task.delay, document.pk))
    return document, created


def _checked_type(data: bytes) -> str:
    limit = settings.DOCUMENT_MAX_BYTES
    if len(data) > limit:
        raise DocumentTooLarge(f"The file is {len(data):,} bytes; the limit is {limit:,} bytes.")
    if not data:
        raise UnsupportedDocument("The file is empty.")
    content_type = sniff.sniff(data)
    if content_type is None:
        raise UnsupportedDocument(
            "The file's type could not be recognised from its content; send PDF, PNG, JPEG, "
            "TIFF, HTML, e-mail (RFC 822) or UTF-8 text."
        )
    return content_type


def _check_pages(data: bytes, content_type: str) -> None:
    """Refuse a PDF with too many pages now, while the agent can still be told."""
    if content_type != sniff.PDF:
        return
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return  # encrypted or damaged: accepted, and processing flags it for the reviewer
    try:
        pages, limit = len(pdf), settings.DOCUMENT_MAX_PAGES
    finally:
        pdf.close()
    if pages > limit:
        raise DocumentTooLarge(f"The PDF has {pages} pages; the limit is {limit}.")


def _create(data: bytes, sha256: str, content_type: str, filename: str) -> tuple[Document, bool]:
    document = Document(
        sha256=sha256, content_type=content_type, size_bytes=len(data), filename=filename
    )
    if content_type == sniff.TEXT:
        document.text = data.decode("utf-8-sig")  # sniff() checked it is UTF-8 without NULs
    else:
        document.status = Document.Status.PENDING
    # Named after the content, never the agent's filename, so no name can steer the path.
    document.file.save(f"{sha256}.{EXTENSIONS[content_type]}", ContentFile(data), save=False)
    try:
        with transaction.atomic():  # a savepoint, so that losing a race leaves the outer one usable
            document.save()
    except IntegrityError:
        # Someone stored the same bytes between our lookup and this insert: theirs is the one.
        document.file.delete(save=False)
        return Document.objects.get(sha256=sha256), False
    return document, True


def _clean_filename(filename: str) -> str:
    """The last part of the name the agent gave, for display only (never for a path)."""
    return PureWindowsPath(filename).name.replace("\x00", "")[:255]
