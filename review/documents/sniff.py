"""A document's type from its content. What the agent calls the file is never trusted."""

from __future__ import annotations

import re

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
HTML = "text/html"
EMAIL = "message/rfc822"
TEXT = "text/plain"

SUPPORTED = (PDF, PNG, JPEG, TIFF, HTML, EMAIL, TEXT)

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)
# Readers accept a PDF whose header comes after some junk (mail gateways add it), so do we.
_PDF_HEADER_WITHIN = 1024
# The tags WHATWG's MIME sniffing treats as HTML (plus a few that open e-mail bodies), each
# followed by a space or ">" so that "<pre-formatted>" or "<aside-note" in a text file don't count.
_HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p"
    rb"|meta|span|ul|ol|center)[\s>/]|<!--",
    re.IGNORECASE,
)
_BOMS = (b"\xef\xbb\xbf",)
# RFC 5322 field name: printable ASCII except ":" and space; the value may be empty.
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]*[^\r\n]*$")
_KNOWN_HEADERS = {b"from", b"to", b"subject", b"date", b"mime-version", b"received", b"cc"}
_HEADER_BLOCK_WITHIN = 64 * 1024
# Control characters other than tab, line feed, carriage return and form feed. A regex over the
# bytes, because a per-character loop takes seconds on a 25 MB file.
_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_TEXT_CONTROL_SHARE = 0.05


def sniff(data: bytes) -> str | None:
    """The content type of `data`, or None when it is none of the SUPPORTED types."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    if b"%PDF-" in data[:_PDF_HEADER_WITHIN]:
        return PDF
    start = _strip_bom(data)[:_HEADER_BLOCK_WITHIN]
    if _HTML_START.match(start.lstrip()):
        return HTML
    if _is_email(start):
        return EMAIL
    if _is_text(data):
        return TEXT
    return None


def _strip_bom(data: bytes) -> bytes:
    for bom in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :]
    return data


def _is_email(start: bytes) -> bool:
    """A header block (field lines and folded continuations) closed by a blank line.

    Two of the usual headers are required: "Name: x" lines alone are common in plain-text
    forms ("Claim: 42"), and taking those for e-mail would hide their text behind a header view.
    """
    head, blank, _ = start.replace(b"\r\n", b"\n").partition(b"\n\n")
    if not blank:
        return False
    known, fields = set(), 0
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            continue  # a folded continuation of the previous field
        if not _HEADER_LINE.match(line):
            return False
        fields += 1
        known.add(line.split(b":", 1)[0].lower())
    return fields >= 2 and len(known & _KNOWN_HEADERS) >= 2


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(_CONTROL.findall(data)) <= _TEXT_CONTROL_SHARE * len(data)
