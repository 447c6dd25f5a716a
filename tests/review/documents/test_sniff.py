from __future__ import annotations

import pytest

from review.documents import sniff
from tests.review.documents.samples import (
    HOSTILE_HTML,
    email_bytes,
    image_bytes,
    pdf_bytes,
    random_bytes,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (pdf_bytes(1), sniff.PDF),
        (b"\r\n\r\n%PDF-1.7\n" + pdf_bytes(1)[9:], sniff.PDF),  # junk before the header
        (image_bytes("PNG"), sniff.PNG),
        (image_bytes("JPEG"), sniff.JPEG),
        (image_bytes("TIFF"), sniff.TIFF),
        (b"MM\x00*\x00\x00\x00\x08", sniff.TIFF),  # big-endian TIFF
        (HOSTILE_HTML.encode(), sniff.HTML),
        (b"\xef\xbb\xbf\n  <HTML><body>Hi</body></HTML>", sniff.HTML),
        (b"<p>A fragment</p>", sniff.HTML),
        (email_bytes(), sniff.EMAIL),
        (b"Policy number: PN-123456\nDate of loss: 2024-03-02\n", sniff.TEXT),
        ("Schadennummer: 42 – Fahrzeug: Kombi\n".encode(), sniff.TEXT),
    ],
    ids=[
        "pdf",
        "pdf-after-junk",
        "png",
        "jpeg",
        "tiff-le",
        "tiff-be",
        "html",
        "html-bom-space",
        "html-fragment",
        "email",
        "text",
        "text-utf8",
    ],
)
def test_type_comes_from_the_content(data, expected):
    assert sniff.sniff(data) == expected


def test_header_lines_without_the_usual_headers_are_plain_text():
    # Plain-text forms are full of "Name: value" lines; taking them for e-mail would hide text.
    assert sniff.sniff(b"Claim: 42\nAgent: bot\n\nSee attached.\n") == sniff.TEXT


def test_folded_headers_still_make_an_email():
    data = b"From: a@example.com\r\nTo: b@example.com,\r\n c@example.com\r\nSubject: x\r\n\r\nHi"
    assert sniff.sniff(data) == sniff.EMAIL


def test_text_that_merely_mentions_a_tag_is_not_html():
    assert sniff.sniff(b"<pre-formatted> notes from the adjuster\n") == sniff.TEXT


@pytest.mark.parametrize(
    "data",
    [
        random_bytes(),
        b"",
        b"text with a \x00 NUL byte",
        "caf\xe9 au lait".encode("latin-1"),  # not UTF-8
        b"\x01\x02\x03\x04 mostly control characters \x05\x06\x07\x08" * 3,
        b"PK\x03\x04" + random_bytes(200),  # a zip (docx, xlsx)
    ],
    ids=["random", "empty", "nul", "latin-1", "control", "zip"],
)
def test_unsupported_content_is_none(data):
    assert sniff.sniff(data) is None
