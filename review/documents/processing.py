"""Processing: a stored file into what reviewers see (pages, sanitised HTML) and its text.

See review/documents/__init__.py for the contract. review.tasks.document_process runs this and
owns retries; everything here is deterministic except storage, whose OSError it lets through.
"""

from __future__ import annotations

import email
import html
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from functools import partial
from typing import cast

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageChops, ImageOps, ImageSequence

from accountability.audit import Actor, audit_log
from review.documents import sniff
from review.documents.markup import html_decode, html_sanitise, html_visible_text
from review.models import Document, DocumentPage

logger = logging.getLogger(__name__)

# Wide enough to read small print on a large screen; beyond it PNGs grow and nobody sees more.
MAX_PAGE_WIDTH = 1700
# Char boxes are stored in ten-thousandths of the page's width and height.
UNIT = 10_000
ACTOR = Actor.system("document-processing")
# PNG can hold these as they are; anything else (CMYK, YCbCr, 16-bit) becomes RGB.
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}
# What Pillow raises for a file it cannot decode (UnidentifiedImageError and truncation are
# OSErrors). Caught only around decoding, so that storage's OSError still reaches the task.
_UNREADABLE_IMAGE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass
class Content:
    """What a document shows besides its pages; `text` is ignored for paged documents."""

    text: str = ""
    html: str = ""
    flags: list[str] = field(default_factory=list)
    error: str = ""


class Pages:
    """Page images go to storage as they are made (memory stays flat over 200 pages); their
    rows are written at the end, in one transaction with the document."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.rows: list[DocumentPage] = []
        self.texts: list[str] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, image: Image.Image, text: str = "", boxes: list[int] | None = None) -> None:
        buffer = io.BytesIO()
        _grey_if_grey(image).save(buffer, "PNG")
        page = DocumentPage(
            document=self.document,
            number=len(self.rows) + 1,
            width=image.width,
            height=image.height,
            text_length=len(text),
            char_boxes=boxes or [],
        )
        name = f"{self.document.sha256}-{page.number}.png"
        page.image.save(name, ContentFile(buffer.getvalue()), save=False)
        self.rows.append(page)
        self.texts.append(text)


def _grey_if_grey(image: Image.Image) -> Image.Image:
    """Most pages are black on white: as greyscale their PNG is a third the size and quicker."""
    if image.mode != "RGB":
        return image
    red, green, blue = image.split()
    if ImageChops.difference(red, green).getbbox() or ImageChops.difference(green, blue).getbbox():
        return image
    return red


def document_process(document: Document) -> None:
    """Render, extract and sanitise `document`'s file, then mark it READY.

    Safe to call twice: pages from an earlier run are replaced. A damaged or encrypted file is
    not an error: it ends READY with a flag and a sentence in `error` for the reviewer.
    Storage failures raise OSError, for the caller to retry.
    """
    if not document.file:
        raise ValueError(f"Document {document.pk} has no file to process.")
    with document.file.open("rb") as stored:
        data = stored.read()
    pages = Pages(document)
    content = HANDLERS[document.content_type](data, pages)
    _save(document, content, pages)


def document_process_failed(*, document_id: int, exc: BaseException, final: bool) -> None:
    """Record a failed attempt; after the last one the document is FAILED for good.

    Only a document still PROCESSING is touched, so a late failure never undoes a success.
    The sentence names the exception's type only: its message can hold storage paths, and the
    log has the whole traceback.
    """
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return
    kind, attempts = type(exc).__name__, document.attempts
    if final:
        error = f"Processing failed ({kind}) after {attempts} attempt(s); send the file again."
    else:
        error = f"Attempt {attempts} failed ({kind}); it will be retried."
    status = Document.Status.FAILED if final else Document.Status.PENDING
    with transaction.atomic():
        running = Document.objects.filter(pk=document_id, status=Document.Status.PROCESSING)
        updated = running.update(error=error, status=status)
        if updated and final:
            audit_log(
                obj=document,
                action="review.document.failed",
                actor=ACTOR,
                data={"error": error, "attempts": attempts},
            )


def _save(document: Document, content: Content, pages: Pages) -> None:
    offset = 0
    for page, text in zip(pages.rows, pages.texts, strict=True):
        page.text_offset = offset
        offset += len(text) + 1  # the "\f" between pages
    document.text = _db_safe("\f".join(pages.texts) if pages.rows else content.text)
    document.html = _db_safe(content.html)
    document.flags = content.flags
    document.error = content.error
    document.page_count = len(pages)
    document.status = Document.Status.READY
    document.processed_at = timezone.now()
    with transaction.atomic():
        old = list(document.pages.all())
        document.pages.all().delete()
        DocumentPage.objects.bulk_create(pages.rows)
        document.save(
            update_fields=["text", "html", "flags", "error", "page_count", "status", "processed_at"]
        )
        audit_log(
            obj=document,
            action="review.document.processed",
            actor=ACTOR,
            data={"page_count": document.page_count, "flags": document.flags},
        )
        if old:
            transaction.on_commit(partial(_delete_images, old))


def _db_safe(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL


def _delete_images(pages: list[DocumentPage]) -> None:
    for page in pages:
        page.image.delete(save=False)


# --- PDF ------------------------------------------------------------------------------------


def _pdf(data: bytes, pages: Pages) -> Content:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            return Content(
                flags=["encrypted"], error="The PDF is encrypted; its pages cannot be shown."
            )
        return Content(flags=["corrupt"], error="The PDF is damaged; its pages cannot be shown.")
    try:
        return _pdf_pages(pdf, pages)
    finally:
        pdf.close()


def _pdf_pages(pdf: pdfium.PdfDocument, pages: Pages) -> Content:
    limit, total = settings.DOCUMENT_MAX_PAGES, len(pdf)
    pdf.init_forms()  # so that filled-in form fields are drawn (must precede loading pages)
    content = Content()
    try:
        for index in range(min(total, limit)):
            _pdf_page(pdf, index, pages)
    except pdfium.PdfiumError:
        logger.warning("PDF page %d of document %s failed", len(pages) + 1, pages.document.pk)
        content.flags.append("corrupt")
        content.error = f"The PDF is damaged; only its first {len(pages)} page(s) can be shown."
    if total > limit:
        content.flags.append("truncated")
        content.error = content.error or f"Only the first {limit} of {total} pages are shown."
    if not any(pages.texts):
        content.flags.append("no_text_layer")  # a scan: evidence can't be boxed on its pages
    return content


def _pdf_page(pdf: pdfium.PdfDocument, index: int, pages: Pages) -> None:
    page = pdf[index]
    try:
        scale = min(settings.DOCUMENT_RENDER_DPI / 72, MAX_PAGE_WIDTH / max(page.get_width(), 1))
        image = page.render(scale=scale).to_pil()
        textpage = page.get_textpage()
        try:
            text, boxes = _text_and_boxes(page, textpage)
        finally:
            textpage.close()
    finally:
        page.close()
    pages.add(image, text, boxes)


def _text_and_boxes(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> tuple[str, list[int]]:
    """The page's text and one box per character, aligned one to one.

    Read character by character rather than with get_text_range(), whose result may skip or
    add characters relative to the boxes, and which is limited to UCS-2. pdfium ends lines with
    a generated "\\r\\n"; the "\\r" is dropped so the text reads like any other.
    """
    to_unit = _page_to_unit(page)
    count = textpage.count_chars()
    codes = [pdfium_c.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
    chars: list[str] = []
    boxes: list[int] = []
    for index, code in enumerate(codes):
        if code == 0x0D and index + 1 < count and codes[index + 1] == 0x0A:
            continue
        chars.append(_char(code))
        if pdfium_c.FPDFText_IsGenerated(textpage.raw, index):
            boxes.extend((0, 0, 0, 0))  # inserted by pdfium, drawn nowhere
        else:
            boxes.extend(to_unit(*textpage.get_charbox(index)))
    return "".join(chars), boxes


def _char(code: int) -> str:
    if code == 0x0D:
        return "\n"
    if code == 0x0C:
        return " "  # "\f" separates pages in Document.text
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return "\ufffd"  # not storable as UTF-8 text
    return chr(code)


def _page_to_unit(page: pdfium.PdfPage) -> Callable[[float, float, float, float], list[int]]:
    """A function from a box in PDF points (bottom-left origin) to ten-thousandths of the
    rendered page (top-left origin).

    pdfium's own page-to-device mapping is sampled once at three points, so the crop box's
    origin and the page's /Rotate are handled exactly as the renderer handles them.
    """
    conv = pdfium.PdfPosConv(page, (0, 0, UNIT, UNIT, 0))
    (ox, oy), (xx, xy), (yx, yy) = (conv.to_bitmap(*p) for p in ((0, 0), (1000, 0), (0, 1000)))
    a, b, c, d = (xx - ox) / 1000, (yx - ox) / 1000, (xy - oy) / 1000, (yy - oy) / 1000

    def to_unit(left: float, bottom: float, right: float, top: float) -> list[int]:
        xs = (ox + a * left + b * bottom, ox + a * right + b * top)
        ys = (oy + c * left + d * bottom, oy + c * right + d * top)
        return [_clamp(min(xs)), _clamp(min(ys)), _clamp(max(xs)), _clamp(max(ys))]

    return to_unit


def _clamp(value: float) -> int:
    return min(max(round(value), 0), UNIT)


# --- Images ---------------------------------------------------------------------------------


def _image(data: bytes, pages: Pages) -> Content:
    """One page per frame (TIFF), no text layer."""
    content = Content(flags=["no_text_layer"])
    frames = _frames(data)
    while len(pages) < settings.DOCUMENT_MAX_PAGES:
        try:
            frame = next(frames, None)
        except _UNREADABLE_IMAGE:
            content.flags.append("corrupt")
            content.error = "The image could not be decoded; it may be damaged or too large."
            return content
        if frame is None:
            return content
        pages.add(frame)  # outside the try: a storage OSError must reach the task
    if next(frames, None) is not None:
        content.flags.append("truncated")
        content.error = f"Only the first {len(pages)} pages are shown."
    return content


def _frames(data: bytes) -> Iterator[Image.Image]:
    """Each frame decoded (load() here, so that decoding errors surface here), upright, in a
    mode PNG holds, at most MAX_PAGE_WIDTH wide."""
    with Image.open(io.BytesIO(data)) as image:
        for frame in ImageSequence.Iterator(image):
            frame.load()
            yield _fit(ImageOps.exif_transpose(frame))  # phone photos carry their rotation


def _fit(image: Image.Image) -> Image.Image:
    if image.mode not in _PNG_MODES:
        image = image.convert("RGB")
    if image.width <= MAX_PAGE_WIDTH:
        return image
    if image.mode in {"1", "P"}:  # resampling needs grey levels or true colour
        image = image.convert("L" if image.mode == "1" else "RGBA")
    height = max(1, round(image.height * MAX_PAGE_WIDTH / image.width))
    return image.resize((MAX_PAGE_WIDTH, height), Image.Resampling.LANCZOS)


# --- Text, HTML and e-mail ------------------------------------------------------------------


def _text(data: bytes, pages: Pages) -> Content:
    return Content(text=data.decode("utf-8-sig", errors="replace"))


def _html(data: bytes, pages: Pages) -> Content:
    clean = html_sanitise(html_decode(data))
    return Content(html=clean, text=html_visible_text(clean))


EMAIL_HEADERS = ("From", "To", "Cc", "Subject", "Date")


def _email(data: bytes, pages: Pages) -> Content:
    """Headers, then the HTML body (sanitised) or else the text body; attachments by name only."""
    message = cast(EmailMessage, email.message_from_bytes(data, policy=policy.default))
    headers = [(name, str(message[name])) for name in EMAIL_HEADERS if message[name]]
    body_html, body_text = _email_body(message)
    attachments = [part.get_filename() or "(unnamed)" for part in message.iter_attachments()]
    markup = (
        "".join(f"<p><b>{name}:</b> {html.escape(value)}</p>" for name, value in headers)
        + f"<hr>{body_html}"
    )
    text = "".join(f"{name}: {value}\n" for name, value in headers) + f"\n{body_text}"
    if attachments:
        listed = ", ".join(attachments)
        markup += f"<hr><p><b>Attachments (not shown):</b> {html.escape(listed)}</p>"
        text += f"\n\nAttachments (not shown): {listed}"
    return Content(html=markup, text=text)


def _email_body(message: EmailMessage) -> tuple[str, str]:
    """(html, text) of the preferred body part: HTML if there is one, else plain text."""
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "", ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        clean = html_sanitise(content)
        return clean, html_visible_text(clean)
    return f"<pre>{html.escape(content)}</pre>", content


HANDLERS: dict[str, Callable[[bytes, Pages], Content]] = {
    sniff.PDF: _pdf,
    sniff.PNG: _image,
    sniff.JPEG: _image,
    sniff.TIFF: _image,
    sniff.HTML: _html,
    sniff.EMAIL: _email,
    sniff.TEXT: _text,
}
