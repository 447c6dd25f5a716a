"""Demo source files: claim forms and invoices as PDFs, discharge summaries as scans.

The generators lay out what accountability.demo already wrote as text, with the same labels and
values, so an agent's quote that is in the text version is in the PDF's text layer too (after
folding whitespace), and an invented one is in neither. Output is deterministic: a fixed creation
date, and any randomness seeded from the content. The same content gives the same bytes, so a
rerun of seed_demo finds its files stored already and its items replay.

Text uses fpdf2's core fonts, which hold Windows-1252 only: demo content must stay within it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Fixed, so that the same form renders to the same bytes on every run.
CREATED = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
INK = (20, 20, 20)
GREY = (110, 110, 110)
NAVY = (18, 52, 96)
RED = (170, 20, 20)
A4_WIDTH = 210
MARGIN = 15
WIDTH = A4_WIDTH - 2 * MARGIN


@dataclass(frozen=True)
class ClaimForm:
    """A first notice of loss as accountability.demo generates it; values as printed."""

    reference: str
    reported: str
    channel: str
    claimant: str
    address: str
    phone: str
    policy: str
    claim_type: str
    loss_date: str
    description: str
    currency: str
    costs: tuple[tuple[str, float], ...]
    total: float
    duplicate_of: str | None = None
    reported_by: str | None = None  # "Name (relation)" when someone else reported it


@dataclass(frozen=True)
class InvoiceForm:
    """A supplier invoice as accountability.demo generates it; dates and amounts as printed."""

    supplier: str
    supplier_address: str
    tax_id: str  # the whole line, "VAT no.: ..." or "EIN: ..."
    title: str
    number: str
    issued: str
    delivered: str | None
    due: str
    order: str
    buyer: str
    buyer_address: str
    buyer_vat: str
    rows: tuple[tuple[str, int, float, float], ...]  # description, quantity, unit, amount
    subtotal: str
    tax_label: str
    tax: str
    total: str


@dataclass(frozen=True)
class Scan:
    """A scanned page and, per input line, where it ended up: [x0, y0, x1, y1] as fractions of
    the page (top-left origin), or None for a blank line."""

    data: bytes
    boxes: list[list[float] | None]


# --- PDF helpers -------------------------------------------------------------------------------


def _pdf(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # for the euro sign; Latin-1 lacks it
    pdf.set_creation_date(CREATED)
    pdf.set_title(title)
    pdf.set_author("Accountability demo")
    pdf.set_margins(MARGIN, MARGIN)
    pdf.set_auto_page_break(False)  # every layout here places its own page breaks
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.25)
    return pdf


def _font(pdf: FPDF, size: float, style: str = "", colour: tuple[int, int, int] = INK) -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.set_text_color(*colour)


def _box(pdf: FPDF, x: float, y: float, w: float, label: str, value: str, h: float = 12) -> None:
    """A form box: a small label at the top, the value below it.

    The label is written just before its value, so the text layer reads "Label: value" the
    way an agent quotes it.
    """
    pdf.rect(x, y, w, h)
    _font(pdf, 7, colour=GREY)
    pdf.set_xy(x + 1, y + 1)
    pdf.cell(w - 2, 3.5, label)
    _font(pdf, 10.5)
    pdf.set_xy(x + 1, y + 5)
    pdf.cell(w - 2, 6, value)


def _section(pdf: FPDF, y: float, title: str) -> float:
    pdf.set_fill_color(*NAVY)
    pdf.rect(MARGIN, y, WIDTH, 6.5, style="F")
    _font(pdf, 9.5, "B", (255, 255, 255))
    pdf.set_xy(MARGIN + 2, y + 0.5)
    pdf.cell(WIDTH - 4, 5.5, title)
    return y + 8.5


def _footer(pdf: FPDF, left: str, page: int, pages: int) -> None:
    _font(pdf, 7, colour=GREY)
    pdf.set_xy(MARGIN, 285)
    pdf.cell(WIDTH / 2, 4, left)
    pdf.cell(WIDTH / 2, 4, f"Page {page} of {pages}", align="R")


# --- Claim form --------------------------------------------------------------------------------


def claim_form_pdf(claim: ClaimForm) -> bytes:
    """Two A4 pages: claimant and loss on the first, costs and declaration on the second."""
    pdf = _pdf(f"First Notice of Loss {claim.reference}")
    pdf.add_page()
    y = _claim_heading(pdf, claim)
    y = _section(pdf, y, "POLICYHOLDER / CLAIMANT")
    _box(pdf, MARGIN, y, 110, "Name:", claim.claimant)
    _box(pdf, MARGIN + 110, y, 70, "Policy number:", claim.policy)
    _box(pdf, MARGIN, y + 12, WIDTH, "Address:", claim.address)
    _box(pdf, MARGIN, y + 24, 90, "Phone:", claim.phone)
    y = _section(pdf, y + 42, "LOSS")
    _box(pdf, MARGIN, y, 110, "Type of claim:", claim.claim_type)
    _box(pdf, MARGIN + 110, y, 70, "Date of loss:", claim.loss_date)
    _description(pdf, y + 12, claim.description)
    _footer(pdf, "NM-FNOL-01 (rev. 03/2026)", 1, 2)

    pdf.add_page()
    _font(pdf, 9, "B", NAVY)
    pdf.set_xy(MARGIN, MARGIN)
    pdf.cell(WIDTH, 5, f"First Notice of Loss (FNOL), continued - {claim.reference}")
    y = _claim_costs(pdf, _section(pdf, MARGIN + 9, "COSTS CLAIMED"), claim)
    if claim.reported_by:
        _font(pdf, 10)
        pdf.set_xy(MARGIN, y)
        pdf.cell(WIDTH, 6, f"Reported by: {claim.reported_by}")
        y += 9
    _claim_declaration(pdf, _section(pdf, y + 3, "DECLARATION"), claim)
    _footer(pdf, "NM-FNOL-01 (rev. 03/2026)", 2, 2)
    return bytes(pdf.output())


def _claim_heading(pdf: FPDF, claim: ClaimForm) -> float:
    # A drawn logo (no text), so the text layer holds only what the text version says.
    pdf.set_fill_color(*NAVY)
    pdf.rect(MARGIN, MARGIN, 12, 12, style="F")
    pdf.set_fill_color(255, 255, 255)
    pdf.polygon(
        [(MARGIN + 2, MARGIN + 10), (MARGIN + 6, MARGIN + 3), (MARGIN + 10, MARGIN + 10)],
        style="F",
    )
    _font(pdf, 14, "B", NAVY)
    pdf.set_xy(MARGIN + 15, MARGIN)
    pdf.cell(100, 7, "NORTHSEA MUTUAL INSURANCE")
    _font(pdf, 12, "B")
    pdf.set_xy(MARGIN + 15, MARGIN + 6.5)
    pdf.cell(100, 6, "First Notice of Loss (FNOL)")
    y = MARGIN + 16
    if claim.duplicate_of:
        pdf.set_draw_color(*RED)
        _font(pdf, 9.5, "B", RED)
        pdf.set_xy(MARGIN, y)
        notice = f"DUPLICATE NOTIFICATION - this loss was already reported as {claim.duplicate_of}"
        pdf.cell(WIDTH, 7, f"*** {notice} ***", border=1, align="C")
        pdf.set_draw_color(*GREY)
        y += 9
    _box(pdf, MARGIN, y, 70, "Claim reference:", claim.reference)
    _box(pdf, MARGIN + 70, y, 70, "Date reported:", claim.reported)
    _box(pdf, MARGIN + 140, y, 40, "Channel:", claim.channel)
    return y + 16


def _description(pdf: FPDF, y: float, description: str) -> None:
    _font(pdf, 7, colour=GREY)
    pdf.set_xy(MARGIN + 1, y + 1)
    pdf.cell(WIDTH - 2, 3.5, "Description:")
    _font(pdf, 10.5)
    pdf.set_xy(MARGIN + 1, y + 5)
    pdf.multi_cell(WIDTH - 2, 5.5, description, align="L")
    pdf.rect(MARGIN, y, WIDTH, max(pdf.get_y() - y + 2, 30))


def _claim_costs(pdf: FPDF, y: float, claim: ClaimForm) -> float:
    pdf.set_fill_color(232, 236, 242)
    _font(pdf, 8.5, "B")
    pdf.set_xy(MARGIN, y)
    for text, w, align in (("Description", 120, "L"), ("Currency", 25, "C"), ("Amount", 35, "R")):
        pdf.cell(w, 7, text, border=1, align=align, fill=True)
    rows = [(label, amount, "") for label, amount in claim.costs]
    for label, amount, style in [*rows, ("Total claimed", claim.total, "B")]:
        y += 7
        _font(pdf, 10, style)
        pdf.set_xy(MARGIN, y)
        pdf.cell(120, 7, label, border=1)
        pdf.cell(25, 7, claim.currency, border=1, align="C")
        pdf.cell(35, 7, f"{amount:,.2f}", border=1, align="R")
    return y + 11


def _claim_declaration(pdf: FPDF, y: float, claim: ClaimForm) -> None:
    _font(pdf, 10)
    pdf.set_xy(MARGIN, y)
    pdf.cell(WIDTH, 6, "I declare that the information above is true and complete.")
    y += 8
    pdf.rect(MARGIN, y, 110, 18)
    _font(pdf, 7, colour=GREY)
    pdf.set_xy(MARGIN + 1, y + 1)
    pdf.cell(30, 3.5, "Signed:")
    pdf.set_font("Times", "I", 18)  # reads like a signature
    pdf.set_text_color(25, 45, 120)
    pdf.set_xy(MARGIN + 8, y + 6)
    pdf.cell(100, 9, claim.claimant)
    _box(pdf, MARGIN + 110, y, 70, "Date:", claim.reported, h=18)
    y += 26
    pdf.set_fill_color(242, 242, 242)
    pdf.rect(MARGIN, y, WIDTH, 30, style="DF")
    _font(pdf, 8, "B", GREY)
    pdf.set_xy(MARGIN + 2, y + 2)
    pdf.cell(WIDTH, 4, "FOR OFFICE USE ONLY")
    for i, label in enumerate(("Handler", "Reserve", "Fraud screening")):
        _box(pdf, MARGIN + 2 + i * 59, y + 9, 57, label, "", h=16)


# --- Invoice -----------------------------------------------------------------------------------

# Description, quantity, unit price, amount: widths in mm and alignment.
INVOICE_COLUMNS = (("Description", 95, "L"), ("Qty", 15, "R"), ("Unit price", 35, "R"),
                   ("Amount", 35, "R"))  # fmt: skip


def invoice_pdf(invoice: InvoiceForm) -> bytes:
    """One A4 page: letterhead, invoice details, bill-to, a line-item table and totals."""
    pdf = _pdf(f"Invoice {invoice.number}")
    pdf.add_page()
    _invoice_letterhead(pdf, invoice)
    y = _invoice_details(pdf, invoice)
    y = _invoice_table(pdf, y, invoice)
    _invoice_totals(pdf, y, invoice)
    _font(pdf, 9)
    pdf.set_xy(MARGIN, 262)
    pdf.cell(WIDTH, 5, "Please pay by bank transfer and quote the invoice number.")
    _font(pdf, 7, colour=GREY)
    pdf.set_xy(MARGIN, 270)
    pdf.cell(WIDTH, 4, f"{invoice.supplier} - {invoice.supplier_address}", align="C")
    _footer(pdf, "", 1, 1)
    return bytes(pdf.output())


def _invoice_letterhead(pdf: FPDF, invoice: InvoiceForm) -> None:
    _font(pdf, 15, "B", NAVY)
    pdf.set_xy(MARGIN, MARGIN)
    pdf.cell(115, 8, invoice.supplier)
    _font(pdf, 9, colour=GREY)
    pdf.set_xy(MARGIN, MARGIN + 8)
    pdf.multi_cell(100, 4.5, invoice.supplier_address, align="L")
    pdf.set_x(MARGIN)
    pdf.cell(100, 4.5, invoice.tax_id)
    if invoice.title == "INVOICE":
        _font(pdf, 22, "B", NAVY)
        pdf.set_xy(MARGIN + 110, MARGIN)
        pdf.cell(70, 10, invoice.title, align="R")
    else:  # the pro forma warning, loud and across the page
        _font(pdf, 11, "B", RED)
        pdf.set_xy(MARGIN, MARGIN + 23)
        pdf.cell(WIDTH, 7, invoice.title, border=1, align="C")


def _invoice_details(pdf: FPDF, invoice: InvoiceForm) -> float:
    """Bill-to on the left, the invoice's numbers and dates on the right; returns the y below."""
    y = MARGIN + 34
    _font(pdf, 8, "B", GREY)
    pdf.set_xy(MARGIN, y)
    pdf.cell(80, 5, "Bill to:", new_x="LMARGIN", new_y="NEXT")
    for line in (invoice.buyer, invoice.buyer_address, f"VAT no.: {invoice.buyer_vat}"):
        _font(pdf, 10, "B" if line == invoice.buyer else "")
        pdf.set_x(MARGIN)
        pdf.multi_cell(85, 5, line, align="L")
    details = [
        ("Invoice number:", invoice.number),
        ("Invoice date:", invoice.issued),
        ("Delivery date:", invoice.delivered),
        ("Due date:", invoice.due),
        ("Your order:", invoice.order),
    ]
    row = y
    for label, value in details:
        if value is None:
            continue
        _font(pdf, 9, colour=GREY)
        pdf.set_xy(MARGIN + 105, row)
        pdf.cell(32, 5.5, label)
        _font(pdf, 10, "B")
        pdf.cell(43, 5.5, value, align="R")
        row += 5.5
    return max(pdf.get_y(), row) + 10


def _invoice_table(pdf: FPDF, y: float, invoice: InvoiceForm) -> float:
    pdf.set_fill_color(*NAVY)
    _font(pdf, 9, "B", (255, 255, 255))
    pdf.set_xy(MARGIN, y)
    for title, w, align in INVOICE_COLUMNS:
        pdf.cell(w, 7, title, align=align, fill=True)
    pdf.set_fill_color(240, 243, 247)
    for n, (description, quantity, unit, amount) in enumerate(invoice.rows):
        y += 7
        _font(pdf, 10)
        pdf.set_xy(MARGIN, y)
        values = (description, str(quantity), f"{unit:,.2f}", f"{amount:,.2f}")
        for (_, w, align), value in zip(INVOICE_COLUMNS, values, strict=True):
            pdf.cell(w, 7, value, border="B", align=align, fill=n % 2 == 1)
    return y + 10


def _invoice_totals(pdf: FPDF, y: float, invoice: InvoiceForm) -> None:
    lines = [
        ("Subtotal", invoice.subtotal, ""),
        (invoice.tax_label, invoice.tax, ""),
        ("Total due", invoice.total, "B"),
    ]
    for label, value, style in lines:
        _font(pdf, 11 if style else 10, style)
        pdf.set_xy(MARGIN + 95, y)
        pdf.cell(50, 7, label, align="R", border="T" if style else 0)
        pdf.cell(35, 7, value, align="R", border="T" if style else 0)
        y += 7


# --- A long document, for the benchmark ---------------------------------------------------------

CLAUSES = (
    "We will pay for loss of or damage to the buildings caused by the events listed in this "
    "section, up to the sum insured shown in your schedule.",
    "You must take all reasonable steps to prevent loss or damage and keep the buildings in a "
    "good state of repair.",
    "We will not pay for damage caused by wear and tear, gradual deterioration, insects or "
    "vermin, or any process of cleaning, dyeing or restoring.",
    "If the home is left unoccupied for more than 60 consecutive days, cover for escape of water "
    "and theft is suspended until it is lived in again.",
    "The excess shown in your schedule is the first part of any claim that you must pay.",
    "We may, at our option, repair, reinstate or replace the damaged property or pay the cost "
    "of doing so, less an amount for wear and tear where stated.",
    "Alternative accommodation is covered for up to 12 months while the home cannot be lived in "
    "following damage insured under this section.",
    "Accidental damage to fixed glass, sanitary ware and ceramic hobs is covered whether or not "
    "accidental damage cover is shown in the schedule.",
    "You must tell us within 30 days of any change in the information you gave when the policy "
    "was taken out; failure to do so may invalidate it.",
    "Claims for theft must be reported to the police within 48 hours and a crime reference "
    "number obtained.",
)
SECTION_TITLES = (
    "Buildings",
    "Contents",
    "Personal possessions",
    "Legal expenses",
    "Home emergency",
    "General conditions",
    "General exclusions",
    "Claims",
)


def long_pdf(pages: int = 20, variant: int = 0) -> bytes:
    """A policy wording of `pages` full pages of text, about 4,000 characters each.

    Each `variant` draws other clauses: the same length and layout, but other bytes.
    """
    rng = random.Random(f"policy-wording/{pages}/{variant}")
    pdf = _pdf("Household policy wording")
    for page in range(1, pages + 1):
        pdf.add_page()
        _font(pdf, 8, colour=GREY)
        pdf.set_xy(MARGIN, MARGIN)
        pdf.cell(WIDTH, 4, "Northsea Mutual Insurance - Household insurance policy wording")
        _font(pdf, 13, "B", NAVY)
        pdf.set_xy(MARGIN, MARGIN + 8)
        pdf.cell(WIDTH, 7, f"Section {page}: {rng.choice(SECTION_TITLES)}")
        _font(pdf, 10)
        y = MARGIN + 25.0
        while True:
            paragraph = f"{page}.{rng.randint(1, 99)} " + " ".join(rng.sample(CLAUSES, 3))
            lines = _wrap_pdf(pdf, paragraph, WIDTH)
            if y + 5 * len(lines) > 280:
                break
            for line in lines:
                pdf.text(MARGIN, y, line)
                y += 5
            y += 2
        _footer(pdf, "NM-HH-PW (2026)", page, pages)
    return bytes(pdf.output())


def _wrap_pdf(pdf: FPDF, text: str, width: float) -> list[str]:
    """Lines of at most `width` mm in the current font.

    Done here rather than with multi_cell(), whose line breaking costs time quadratic in the
    line's length: 20 pages took 3 s that way, a few milliseconds this way.
    """
    space = pdf.get_string_width(" ")
    lines, current, used = [], [], 0.0
    for word in text.split():
        needed = pdf.get_string_width(word)
        if current and used + space + needed > width:
            lines.append(" ".join(current))
            current, used = [], 0.0
        used += (space if current else 0) + needed
        current.append(word)
    return [*lines, " ".join(current)] if current else lines


# --- A scanned page ------------------------------------------------------------------------------

# A4 at 100 dpi: what an office scanner set to "document" produces.
SCAN_SIZE = (827, 1170)
SCAN_MARGIN = 70
SCAN_FONT_SIZE = 15
SCAN_LINE_HEIGHT = 21


def scanned_image(text_lines: Sequence[str]) -> bytes:
    """A JPEG that looks scanned: the lines printed on one page, skewed, noisy, compressed."""
    return scan(text_lines).data


def scan(text_lines: Sequence[str]) -> Scan:
    """scanned_image(), with where each line landed on the page (for page+bbox evidence)."""
    rng = random.Random(hashlib.sha256("\n".join(text_lines).encode()).hexdigest())
    page = Image.new("L", SCAN_SIZE, 255)
    boxes = _print_lines(ImageDraw.Draw(page), text_lines)
    angle = rng.uniform(-1.2, 1.2)  # degrees, anticlockwise: a sheet fed a little crooked
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    page = _age(page, rng).filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=rng.randint(45, 60))
    turned = [_turned(box, angle) if box else None for box in boxes]
    return Scan(buffer.getvalue(), turned)


def _print_lines(draw: ImageDraw.ImageDraw, text_lines: Sequence[str]) -> list[list[int] | None]:
    """Draw the lines, wrapped to the page; return each input line's box in pixels."""
    font = ImageFont.load_default(size=SCAN_FONT_SIZE)  # Pillow's own scalable font
    width = SCAN_SIZE[0] - 2 * SCAN_MARGIN
    y, boxes = SCAN_MARGIN, []
    for line in text_lines:
        if not line.strip():
            boxes.append(None)
            y += SCAN_LINE_HEIGHT
            continue
        top, right = y, SCAN_MARGIN
        for part in _wrap(line.rstrip(), font, width):
            draw.text((SCAN_MARGIN, y), part, fill=30, font=font)
            right = max(right, SCAN_MARGIN + round(font.getlength(part)))
            y += SCAN_LINE_HEIGHT
        boxes.append([SCAN_MARGIN, top, right, y - 2])
    return boxes


def _wrap(line: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    parts, current = [], ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            parts.append(current)
            current = word
        else:
            current = candidate
    return [*parts, current]


def _age(page: Image.Image, rng: random.Random) -> Image.Image:
    """Grey paper, sensor noise, a few specks of dust and the scanner lid's shadow."""
    noise = np.random.default_rng(rng.getrandbits(64))
    pixels = np.asarray(page, dtype=np.float32) * 0.9 + 12  # white is never quite white
    pixels += noise.normal(0, 7, pixels.shape)
    for _ in range(rng.randint(20, 60)):
        x, y = rng.randrange(page.width - 3), rng.randrange(page.height - 3)
        pixels[y : y + rng.randint(1, 3), x : x + rng.randint(1, 3)] -= rng.uniform(60, 140)
    shadow = np.linspace(-70, 0, 24, dtype=np.float32)  # darker towards the left edge
    pixels[:, :24] += shadow
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _turned(box: list[int], angle: float) -> list[float]:
    """The box after the page turned `angle` degrees anticlockwise about its centre, as
    fractions of the page: the bounding box of its turned corners, with a little room."""
    width, height = SCAN_SIZE
    cx, cy = width / 2, height / 2
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    x0, y0, x1, y1 = box
    xs, ys = [], []
    for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        dx, dy = x - cx, y - cy
        # Anticlockwise on screen, where y grows downwards.
        xs.append(cx + dx * cos + dy * sin)
        ys.append(cy - dx * sin + dy * cos)
    pad = 4
    return [
        round(max(min(xs) - pad, 0) / width, 4),
        round(max(min(ys) - pad, 0) / height, 4),
        round(min(max(xs) + pad, width) / width, 4),
        round(min(max(ys) + pad, height) / height, 4),
    ]
