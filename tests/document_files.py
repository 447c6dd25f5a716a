"""Real files for tests: PDFs drawn with fpdf2, stored and processed as agents' uploads are.

Documents go through review.documents.processing.document_process, so tests see the pages,
text and char boxes that processing really makes. Items get them through ItemDocument rows
and evidence written straight onto their fields.
"""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from fpdf import FPDF

from review.documents.processing import document_process
from review.models import Document, Item, ItemDocument, ItemField


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """An A4 PDF with a text layer: one list of lines per page."""
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=14)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def processed_document(data: bytes, content_type: str, filename: str = "") -> Document:
    """A document stored from `data` and processed, as intake and the task would leave it."""
    sha256 = hashlib.sha256(data).hexdigest()
    document = Document(
        sha256=sha256,
        content_type=content_type,
        size_bytes=len(data),
        filename=filename,
        status=Document.Status.PENDING,
    )
    document.file.save(f"{sha256}.bin", ContentFile(data), save=False)
    document.save()
    document_process(document)
    document.refresh_from_db()
    return document


def attach_only(item: Item, document: Document, key: str, evidence: dict[str, dict]) -> None:
    """Make `document` the item's one source, with each named field's evidence in it."""
    item.item_documents.all().delete()
    ItemDocument.objects.create(item=item, document=document, key=key, position=0)
    for name, given in evidence.items():
        ItemField.objects.filter(item=item, name=name).update(evidence=[{"document": key, **given}])
