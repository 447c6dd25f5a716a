from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageStat

from accountability import demo, demo_documents
from review.assessment import normalise


def draft(queue: str, index: int) -> demo.Draft:
    """The document behind demo item `index`, as demo.generate draws it."""
    return demo.DOCUMENTS[queue](random.Random(f"{demo.DEFAULT_SEED}/{queue}/{index}"), index)


def pdf_pages(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def test_claim_form_is_a_two_page_pdf_with_its_values_in_the_text_layer():
    form = draft("claims-intake", 4).form
    assert isinstance(form, demo_documents.ClaimForm)

    pages = pdf_pages(demo_documents.claim_form_pdf(form))

    assert len(pages) == 2
    first, second = (normalise(page) for page in pages)
    for label, value in [("Name:", form.claimant), ("Policy number:", form.policy)]:
        assert normalise(f"{label} {value}") in first
    assert normalise(f"Total claimed {form.currency} {form.total:,.2f}") in second


def test_invoice_table_is_in_the_text_layer():
    form = draft("invoice-extraction", 3).form
    assert isinstance(form, demo_documents.InvoiceForm)

    (page,) = pdf_pages(demo_documents.invoice_pdf(form))

    text = normalise(page)
    assert "description qty unit price amount" in text
    for description, quantity, unit, amount in form.rows:
        assert normalise(f"{description} {quantity} {unit:,.2f} {amount:,.2f}") in text
    assert normalise(f"Subtotal {form.subtotal}") in text
    assert normalise(f"{form.tax_label} {form.tax}") in text
    assert normalise(f"Total due {form.total}") in text


def test_the_euro_sign_survives_into_the_text_layer():
    supplier = next(s for s in demo.SUPPLIERS if s.symbol == "€")
    index = next(
        i for i in range(1, 200) if draft("invoice-extraction", i).form.supplier == supplier.name
    )
    form = draft("invoice-extraction", index).form

    (page,) = pdf_pages(demo_documents.invoice_pdf(form))

    assert form.total.startswith("€")
    assert form.total in page


@pytest.mark.parametrize("queue", ["claims-intake", "invoice-extraction"])
def test_a_pdf_says_what_its_text_version_says(queue):
    """An agent's quote is in the PDF exactly when it is in the text: right evidence stays
    right and invented evidence stays invented when the source is sent as a PDF."""
    agent = next(a for a in demo.AGENTS if a.queue == queue)
    checked = 0
    for item in demo.generate(agent, count=24, seed=demo.DEFAULT_SEED):
        if item.file is None:
            continue
        index = int(item.external_id.rsplit("-", 1)[1])
        text = normalise(draft(queue, index).text)
        pdf_text = normalise(" ".join(pdf_pages(item.file.data)))
        for field in item.payload["fields"]:
            for evidence in field["evidence"]:
                assert "start" not in evidence  # spans count characters of the text version
                quote = normalise(evidence["quote"])
                assert (quote in pdf_text) == (quote in text), (item.external_id, quote)
                checked += 1
    assert checked > 20


def test_generators_are_deterministic():
    claim = draft("claims-intake", 8).form
    invoice = draft("invoice-extraction", 6).form
    lines = draft("medical-coding", 7).text.splitlines()

    assert demo_documents.claim_form_pdf(claim) == demo_documents.claim_form_pdf(claim)
    assert demo_documents.invoice_pdf(invoice) == demo_documents.invoice_pdf(invoice)
    assert demo_documents.scanned_image(lines) == demo_documents.scanned_image(lines)
    assert demo_documents.long_pdf(2) == demo_documents.long_pdf(2)


def test_scan_is_a_jpeg_without_text_and_its_boxes_sit_on_ink():
    lines = draft("medical-coding", 7).text.splitlines()

    scan = demo_documents.scan(lines)

    image = Image.open(io.BytesIO(scan.data))
    assert image.format == "JPEG"
    assert image.mode == "L"
    assert image.size == demo_documents.SCAN_SIZE
    assert len(scan.boxes) == len(lines)
    paper = ImageStat.Stat(image).mean[0]
    for line, box in zip(lines, scan.boxes, strict=True):
        if not line.strip():
            assert box is None
            continue
        x0, y0, x1, y1 = box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        crop = image.crop(
            (x0 * image.width, y0 * image.height, x1 * image.width, y1 * image.height)
        )
        assert ImageStat.Stat(crop).mean[0] < paper - 5, line  # printed text, not blank paper


def test_long_pdf_has_the_pages_asked_for_full_of_text():
    pages = pdf_pages(demo_documents.long_pdf(pages=3))

    assert len(pages) == 3
    assert all(len(page) > 3000 for page in pages)
    assert "Page 3 of 3" in pages[2]


def test_some_items_send_their_source_as_a_file_both_ways():
    files = [
        item.file
        for agent in demo.AGENTS
        for item in demo.generate(agent, count=12, seed=demo.DEFAULT_SEED)
        if item.file
    ]

    assert {file.upload for file in files} == {True, False}
    assert {file.filename.rsplit(".", 1)[1] for file in files} == {"pdf", "jpg"}


def test_a_scanned_item_points_at_a_line_with_a_page_and_box():
    agent = next(a for a in demo.AGENTS if a.queue == "medical-coding")
    (item,) = [i for i in demo.generate(agent, count=10, seed=1) if i.file]

    boxed = [
        evidence
        for field in item.payload["fields"]
        for evidence in field["evidence"]
        if "bbox" in evidence
    ]
    assert len(boxed) == 1
    assert boxed[0]["page"] == 1
    assert "quote" not in boxed[0]
