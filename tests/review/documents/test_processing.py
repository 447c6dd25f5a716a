from __future__ import annotations

import pytest
from PIL import Image

from accountability.audit import Actor
from accountability.models import AuditEvent
from review.documents import processing
from review.documents.intake import document_store
from review.models import Document
from tests.review.documents.samples import (
    A4_POINTS,
    HOSTILE_HTML,
    WORD_AT,
    WORD_ON_PAGE_2,
    WORD_SIZE,
    email_bytes,
    image_bytes,
    page_texts,
    pdf_bytes,
    word_width,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def process(django_capture_on_commit_callbacks):
    """Store bytes and run the processing task queued on commit; return the fresh Document."""

    def run(data: bytes) -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            document, _ = document_store(data=data, agent=None, actor=Actor.system("tests"))
        document.refresh_from_db()
        return document

    return run


def page_text(document: Document, page) -> str:  # noqa: ANN001
    return document.text[page.text_offset : page.text_offset + page.text_length]


def test_pdf_pages_are_rendered_with_their_text(process):
    document = process(pdf_bytes(3))
    assert document.status == Document.Status.READY
    assert document.processed_at is not None
    assert (document.page_count, document.flags, document.error) == (3, [], "")
    expected = page_texts(3)
    expected[1] += f"\n{WORD_ON_PAGE_2}"
    assert document.text == "\f".join(expected)
    pages = list(document.pages.all())
    assert [p.number for p in pages] == [1, 2, 3]
    for page in pages:
        assert page_text(document, page) == document.text.split("\f")[page.number - 1]
        assert len(page.char_boxes) == 4 * page.text_length
        with Image.open(page.image.open("rb")) as image:
            assert image.size == (page.width, page.height)
        # A4 at 36 dpi (the tests' setting): 8.27 x 11.69 inches.
        assert (page.width, page.height) == (pytest.approx(298, abs=2), pytest.approx(421, abs=2))


def test_a_words_box_lies_where_it_was_drawn(process):
    document = process(pdf_bytes(3))
    page = document.pages.get(number=2)
    start = page_text(document, page).index(WORD_ON_PAGE_2)
    boxes = page.char_boxes[4 * start : 4 * (start + len(WORD_ON_PAGE_2))]
    x0, y0 = min(boxes[0::4]), min(boxes[1::4])
    x1, y1 = max(boxes[2::4]), max(boxes[3::4])
    width, height = A4_POINTS
    left, baseline = WORD_AT
    tolerance = 60  # ten-thousandths: 0.6 % of the page, about 4 points
    assert x0 == pytest.approx(left / width * 10_000, abs=tolerance)
    assert y1 == pytest.approx(baseline / height * 10_000, abs=tolerance)  # letters sit on it
    assert y0 == pytest.approx((baseline - 0.72 * WORD_SIZE) / height * 10_000, abs=tolerance)
    assert x1 == pytest.approx((left + word_width()) / width * 10_000, abs=tolerance)


def test_pdf_pages_are_at_most_1700_pixels_wide(process, settings):
    settings.DOCUMENT_RENDER_DPI = 300
    document = process(pdf_bytes(1))
    assert document.pages.get().width == processing.MAX_PAGE_WIDTH


def test_pages_over_the_limit_are_left_out_and_flagged(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document, _ = document_store(data=pdf_bytes(3), agent=None, actor=Actor.system("t"))
    settings.DOCUMENT_MAX_PAGES = 2  # lowered after intake accepted the file
    callbacks[0]()
    document.refresh_from_db()
    assert document.page_count == 2
    assert "truncated" in document.flags
    assert document.error == "Only the first 2 of 3 pages are shown."


def test_an_encrypted_pdf_is_reviewable_with_a_notice(process):
    document = process(pdf_bytes(2, password="secret"))
    assert document.status == Document.Status.READY
    assert document.flags == ["encrypted"]
    assert document.error == "The PDF is encrypted; its pages cannot be shown."
    assert document.page_count == 0


def test_a_truncated_pdf_is_flagged_corrupt(process):
    data = pdf_bytes(2)
    document = process(data[: len(data) // 2])
    assert document.status == Document.Status.READY
    assert document.flags == ["corrupt"]
    assert document.error == "The PDF is damaged; its pages cannot be shown."


def test_each_tiff_frame_is_a_page_without_text(process):
    document = process(image_bytes("TIFF", frames=2))
    assert document.page_count == 2
    assert document.flags == ["no_text_layer"]
    assert [p.char_boxes for p in document.pages.all()] == [[], []]


def test_a_wide_image_is_scaled_down_to_a_png(process):
    document = process(image_bytes("JPEG", size=(3400, 100)))
    page = document.pages.get()
    assert (page.width, page.height) == (1700, 50)
    with Image.open(page.image.open("rb")) as image:
        assert image.format == "PNG"


def test_an_undecodable_image_is_flagged_corrupt(process):
    data = image_bytes("PNG", size=(400, 400))
    document = process(data[: len(data) // 2])
    assert document.status == Document.Status.READY
    assert document.flags == ["no_text_layer", "corrupt"]
    assert document.page_count == 0


def test_html_is_sanitised_and_its_visible_text_kept(process):
    document = process(HOSTILE_HTML.encode())
    html = document.html.lower()
    banned = ["<script", "steal", "onerror", "onload", "javascript:", "<img", "tracker"]
    banned += ["<iframe", "frame text", "<style", "/accounts/logout"]
    assert [word for word in banned if word in html] == []
    assert 'href="https://example.com/terms"' in html
    assert document.text.splitlines()[:2] == ["Invoice INV-2024-0042", ""]
    assert "Total due: EUR 1,250.00" in document.text
    assert "Repair 1,250.00" in document.text
    assert "Invoice\n" not in document.text.split("INV")[0]  # the <title> is not page text
    assert document.page_count == 0


def test_email_shows_headers_and_sanitised_html_body(process):
    document = process(email_bytes())
    assert document.content_type == "message/rfc822"
    assert "Claims Desk &lt;claims@insurer.example&gt;" in document.html
    assert "<h1>Invoice INV-2024-0042</h1>" in document.html
    assert "<script" not in document.html and "javascript:" not in document.html
    assert "invoice.pdf" in document.html
    assert document.text.startswith(
        "From: Claims Desk <claims@insurer.example>\nTo: adjuster@insurer.example\n"
        "Subject: Claim PN-4471-0923: repair invoice\n"
    )
    assert "Total due: EUR 1,250.00" in document.text
    assert "(plain part)" not in document.text  # the HTML part is preferred
    assert document.text.endswith("Attachments (not shown): invoice.pdf")


def test_plain_text_email_body_is_escaped(process):
    data = email_bytes(html=None, attachment=False)
    document = process(data.replace(b"EUR 1,250.00 (plain part)", b"<b>not bold</b> & more"))
    assert "<pre>Total due: &lt;b&gt;not bold&lt;/b&gt; &amp; more\n</pre>" in document.html
    assert "Total due: <b>not bold</b> & more" in document.text


def test_processing_twice_replaces_the_pages(process):
    document = process(pdf_bytes(2))
    processing.document_process(document)
    assert document.pages.count() == 2
    assert AuditEvent.objects.filter(action="review.document.processed").count() == 2
