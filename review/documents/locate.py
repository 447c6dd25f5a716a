"""Where a field's evidence sits in a document: a text span, and boxes on the pages.

Each piece of evidence is placed once, in this order:

- a character span (`start`/`end`) is used as given (match "span");
- a `quote` is found exactly ("exact"), then ignoring case, runs of whitespace and the usual
  typographic stand-ins for dashes and quotes ("normalised"), then tolerating OCR noise with
  rapidfuzz ("tolerant", with its score: "P0L-4342221" for "POL-4342221" scores 91);
  given a `page`, that page is searched first, so a repeated quote lands where the agent looked;
- otherwise a `page` + `bbox` is drawn as the agent gave it ("bbox"). The bbox is
  [x0, y0, x1, y1] as fractions 0..1 of the page's width and height, top-left origin, the
  same frame as PageBox; values outside 0..1 are clamped.

A text span on a paged document becomes boxes: one rectangle per line per page, from the
pages' char_boxes (see review.models.DocumentPage). The agent's bbox is only drawn when the
text itself cannot be placed (an image without a text layer, a quote not found): what the
text layer says beats what the agent says about where it looked.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, Protocol

from rapidfuzz import fuzz

Match = Literal["exact", "normalised", "tolerant", "span", "bbox"]

# A tolerant match must score at least this (rapidfuzz's 0..100, Indel-based): about one
# misread character in seven. Shorter quotes are not matched tolerantly at all: one wrong
# character in "auto" is a different word, not OCR noise.
TOLERANT_MIN_SCORE = 85.0
TOLERANT_MIN_LENGTH = 6
# Nor longer ones: the alignment's cost grows with the quote's length times the text's (a
# 2,000-character quote took 0.1 s over a 600-page-sized text, 10,000 characters 9 s).
TOLERANT_MAX_LENGTH = 300
# The aligned text may be this much shorter or longer than the quote (dropped or doubled
# characters); beyond that the alignment ran off the text's end and is not a real match.
TOLERANT_LENGTH_SLACK = 0.2
# Evidence is placed on every page view; past this much time spent on one document's
# normalised and tolerant searches, the rest of its quotes are only looked up exactly, so
# that an item with thousands of stray quotes cannot stall the page.
FALLBACK_SECONDS = 1.0
BOX_SCALE = 10_000  # DocumentPage.char_boxes are in ten-thousandths of the page


@dataclass(frozen=True)
class PageBox:
    """A rectangle on a page (numbered from 1), as fractions 0..1 of it, top-left origin."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Highlight:
    field: str
    evidence_index: int
    match: Match
    score: float | None  # rapidfuzz's 0..100 for "tolerant", 100 when found; None if not checked
    start: int | None  # the span in Document.text; None for a bbox drawn as given
    end: int | None
    boxes: list[PageBox] = field(default_factory=list)

    @property
    def approximate(self) -> bool:
        """Placed without the text confirming it: a tolerant match or the agent's own bbox."""
        return self.match in {"tolerant", "bbox"}


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    match: Match
    score: float


class PageLike(Protocol):
    number: int
    text_offset: int
    text_length: int
    char_boxes: list[int]


class FieldLike(Protocol):
    name: str
    evidence: list[dict]


# --- Quotes -----------------------------------------------------------------------------------

# Characters an agent and a text layer often disagree on: typographic dashes and quotes.
_EQUIVALENT = {
    "-": "-\u2010\u2011\u2012\u2013\u2014\u2212",
    "'": "'\u2018\u2019\u02bc",
    '"': '"\u201c\u201d\u00ab\u00bb',
}
_CANONICAL = {c: key for key, chars in _EQUIVALENT.items() for c in chars}


def locate_quote(
    text: str,
    quote: str,
    *,
    first: tuple[int, int] | None = None,
    deadline: float | None = None,
) -> Found | None:
    """Where quote occurs in text; `first` is a (start, end) range of text to search first.

    After `deadline` (a time.perf_counter() value) only an exact match is looked for.
    """
    if not quote.strip():
        return None
    ranges = [first, None] if first else [None]
    for finder in (_exact, _normalised, _tolerant):
        if finder is not _exact and deadline is not None and time.perf_counter() > deadline:
            return None
        for within in ranges:
            found = finder(text, quote, within or (0, len(text)))
            if found:
                return found
    return None


def _exact(text: str, quote: str, within: tuple[int, int]) -> Found | None:
    start = text.find(quote, *within)
    return Found(start, start + len(quote), "exact", 100.0) if start >= 0 else None


def _normalised(text: str, quote: str, within: tuple[int, int]) -> Found | None:
    # A regex over the original text keeps its offsets: nothing to map back.
    found = _quote_pattern(quote).search(text, *within)
    return Found(found.start(), found.end(), "normalised", 100.0) if found else None


@lru_cache(maxsize=256)
def _quote_pattern(quote: str) -> re.Pattern[str]:
    words = [_word_pattern(word) for word in quote.split()]
    return re.compile(r"\s+".join(words), re.IGNORECASE)


def _word_pattern(word: str) -> str:
    return "".join(
        f"[{re.escape(_EQUIVALENT[_CANONICAL[c]])}]" if c in _CANONICAL else re.escape(c)
        for c in word
    )


def _tolerant(text: str, quote: str, within: tuple[int, int]) -> Found | None:
    quote = quote.strip()
    lo, hi = within
    if not TOLERANT_MIN_LENGTH <= len(quote) <= TOLERANT_MAX_LENGTH or hi - lo < len(quote):
        return None
    haystack = _fold(text[lo:hi])
    aligned = fuzz.partial_ratio_alignment(_fold(quote), haystack, score_cutoff=TOLERANT_MIN_SCORE)
    if aligned is None:
        return None
    start, end = _trim(haystack, aligned.dest_start, aligned.dest_end)
    if abs((end - start) - len(quote)) > TOLERANT_LENGTH_SLACK * len(quote):
        return None
    return Found(lo + start, lo + end, "tolerant", round(aligned.score, 1))


@lru_cache(maxsize=8)  # the same document's text is folded for each of its quotes
def _fold(text: str) -> str:
    """Case-folded with its length kept, so that offsets still point into the original."""
    for folded in (text.casefold(), text.lower()):
        if len(folded) == len(text):
            return folded
    return text  # a rare character that changes length when folded: compare case and all


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- Evidence -> highlights -----------------------------------------------------------------


def document_highlights(
    text: str, pages: Sequence[PageLike], key: str, fields: Iterable[FieldLike]
) -> list[Highlight]:
    """A highlight for each piece of evidence in document `key` that can be placed in it.

    The boxes of text spans need the pages' char_boxes; see `text_spans` and `with_boxes`
    to place the spans first and load char_boxes only for the pages that carry one.
    """
    return with_boxes(text_spans(text, pages, key, fields), pages)


def text_spans(
    text: str, pages: Sequence[PageLike], key: str, fields: Iterable[FieldLike]
) -> list[Highlight]:
    """Highlights without boxes for text spans yet (bbox-only evidence has its box)."""
    placed = []
    deadline = time.perf_counter() + FALLBACK_SECONDS
    for f in fields:
        for index, evidence in enumerate(f.evidence or []):
            if evidence.get("document") == key:
                highlight = _place(text, pages, evidence, f.name, index, deadline)
                if highlight:
                    placed.append(highlight)
    return placed


def _place(
    text: str, pages: Sequence[PageLike], evidence: dict, name: str, index: int, deadline: float
) -> Highlight | None:
    start, end = evidence.get("start"), evidence.get("end")
    if _is_int(start) and _is_int(end) and 0 <= start < end <= len(text):
        return Highlight(name, index, "span", None, start, end)
    quote = evidence.get("quote")
    if isinstance(quote, str):
        first = _page_range(pages, evidence.get("page"))
        found = locate_quote(text, quote, first=first, deadline=deadline)
        if found:
            return Highlight(name, index, found.match, found.score, found.start, found.end)
    box = _given_box(evidence, len(pages))
    return Highlight(name, index, "bbox", None, None, None, [box]) if box else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _page_range(pages: Sequence[PageLike], number: Any) -> tuple[int, int] | None:
    page = next((p for p in pages if p.number == number), None)
    return (page.text_offset, page.text_offset + page.text_length) if page else None


def _given_box(evidence: dict, page_count: int) -> PageBox | None:
    bbox, number = evidence.get("bbox"), evidence.get("page", 1)
    if not (isinstance(bbox, list) and len(bbox) == 4 and _is_int(number)):
        return None
    if not 1 <= number <= page_count:
        return None
    try:
        x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in bbox)
    except (TypeError, ValueError):
        return None
    x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    return PageBox(number, x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def pages_spanned(highlights: Iterable[Highlight], pages: Sequence[PageLike]) -> set[int]:
    """The numbers of the pages whose text a highlight's span touches."""
    spans = [(h.start, h.end) for h in highlights if h.start is not None and h.end is not None]
    return {
        p.number
        for p in pages
        for start, end in spans
        if start < p.text_offset + p.text_length and p.text_offset < end
    }


def with_boxes(highlights: list[Highlight], pages: Sequence[PageLike]) -> list[Highlight]:
    """The highlights, those with a text span now carrying their boxes on the pages."""
    return [_boxed(h, pages) for h in highlights]


def _boxed(highlight: Highlight, pages: Sequence[PageLike]) -> Highlight:
    if highlight.start is None or highlight.end is None or not pages:
        return highlight
    boxes = span_boxes(pages, highlight.start, highlight.end)
    return replace(highlight, boxes=boxes) if boxes else highlight


def span_boxes(pages: Sequence[PageLike], start: int, end: int) -> list[PageBox]:
    """Document.text[start:end] as rectangles, one per line on each page it crosses."""
    boxes = []
    for page in pages:
        lo = max(start, page.text_offset) - page.text_offset
        hi = min(end, page.text_offset + page.text_length) - page.text_offset
        if lo < hi:
            chars = _char_boxes(page.char_boxes or [], lo, hi)
            boxes.extend(
                PageBox(page.number, *(v / BOX_SCALE for v in line)) for line in line_rects(chars)
            )
    return boxes


def _char_boxes(flat: list[int], lo: int, hi: int) -> Iterator[tuple[int, int, int, int]]:
    for i in range(lo, min(hi, len(flat) // 4)):
        x0, y0, x1, y1 = flat[4 * i : 4 * i + 4]
        if x1 > x0 and y1 > y0:  # spaces and line breaks the text layer made up have no box
            yield x0, y0, x1, y1


def line_rects(
    chars: Iterable[tuple[int, int, int, int]],
) -> list[tuple[int, int, int, int]]:
    """Consecutive character boxes on one line merged into one rectangle per line.

    The next character is on the same line when it sits to the right of the previous one
    and overlaps the line vertically by at least 30 % of the shorter of the two (a comma
    hangs below the baseline, so half is too strict); otherwise a new line (or column)
    starts. Right-to-left text comes out as a box per character.
    """
    lines: list[list[int]] = []
    last_x0 = -1
    for x0, y0, x1, y1 in chars:
        line = lines[-1] if lines else None
        overlap = min(y1, line[3]) - max(y0, line[1]) if line else 0
        if line and x0 >= last_x0 and overlap * 10 >= 3 * min(y1 - y0, line[3] - line[1]):
            line[0], line[1] = min(line[0], x0), min(line[1], y0)
            line[2], line[3] = max(line[2], x1), max(line[3], y1)
        else:
            lines.append([x0, y0, x1, y1])
        last_x0 = x0
    return [(x0, y0, x1, y1) for x0, y0, x1, y1 in lines]


# --- Does the value appear near its evidence? ----------------------------------------------

VALUE_NEAR_CHARS = 80  # how far around the quote a value may sit: a label and its value
_NOT_WORD = re.compile(r"[\W_]+")
_NOT_DIGIT = re.compile(r"\D+")
# Runs of digits with the separators numbers are written with: 1,250.50 / 1.250,50 / 1 250,50.
_NUMBER = re.compile(r"\d(?:[\d.,'\u00a0\u202f ]*\d)?")
_NUMBER_FORMATS = [
    re.compile(r"\d+(?:\.\d+)?"),  # 1250.50
    re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"),  # 1,250.50
    re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?"),  # 1.250,50
    re.compile(r"\d+,\d+"),  # 1250,50
    re.compile(r"\d{1,3}(?:['\u00a0\u202f ]\d{3})+(?:[.,]\d+)?"),  # 1 250,50 / 1'250.50
]
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def value_near(text: str, start: int, end: int, value: Any) -> bool:
    """Whether the field's value appears in text[start:end] or within VALUE_NEAR_CHARS of it.

    Strings compare case-folded and ignoring punctuation and spaces ("PN 4471/0923" holds
    "pn-4471-0923"); numbers compare by value in the usual formats (1250.5 is "1,250.50",
    "1.250,50" or "1 250,50"); an ISO date also matches its common written forms
    (2024-03-02: "02/03/2024", "March 2, 2024", "2 Mar 2024"...). Values with no text form
    to look for (booleans, null, lists, objects) count as near: there is nothing to contradict.
    """
    window = text[max(0, start - VALUE_NEAR_CHARS) : end + VALUE_NEAR_CHARS]
    if value is None or isinstance(value, bool | list | dict):
        return True
    if isinstance(value, int | float):
        return _number_in(window, float(value))
    if not isinstance(value, str):
        return True
    wanted = _squash(value)
    if not wanted:
        return value.strip() in window
    squashed = _squash(window)
    if wanted in squashed:
        return True
    number = _as_number(value.strip())
    if number is not None and _number_in(window, number):
        return True
    return any(form in squashed for form in _date_forms(value.strip()))


def _squash(text: str) -> str:
    return _NOT_WORD.sub("", text.casefold())


def _number_in(window: str, value: float) -> bool:
    target = abs(value)
    key = _digit_key(target)
    return any(
        math.isclose(reading, target, rel_tol=1e-9, abs_tol=1e-9)
        for token in _NUMBER.findall(window)
        # Parsing is the slow part: only tokens holding the value's digits can be it.
        if key is None or key in _NOT_DIGIT.sub("", token)
        for reading in _readings(token)
    )


def _digit_key(value: float) -> str | None:
    """The digits any written form of value contains: 1250.5 -> "12505", 0.05 -> "5"."""
    text = repr(value)
    if not text.replace(".", "").isdigit():  # 1e-05, inf, nan: no plain digits to require
        return None
    whole, _, fraction = text.partition(".")
    return (whole + fraction.rstrip("0")).lstrip("0") or "0"


def _readings(token: str) -> Iterator[float]:
    """Every number a token can be read as: 1,250 is 1250 (grouped) or 1.25 (decimal comma).

    A token spanning spaces may be one grouped number ("1 250,50") or several ("2 of 3").
    """
    for part in {token, *token.split()}:
        if any(fmt.fullmatch(part) for fmt in _NUMBER_FORMATS):
            yield from _parse(part)


def _parse(number: str) -> Iterator[float]:
    digits = re.sub(r"['\u00a0\u202f ]", "", number)
    if "," in digits and "." in digits:  # the later one is the decimal mark
        group, decimal = (",", ".") if digits.rfind(".") > digits.rfind(",") else (".", ",")
        yield float(digits.replace(group, "").replace(decimal, "."))
        return
    for reading in (digits.replace(",", ""), digits.replace(".", ""), digits.replace(",", ".")):
        try:
            yield float(reading)
        except ValueError:
            continue


def _as_number(value: str) -> float | None:
    if not _NUMBER.fullmatch(value):
        return None
    return next(_parse(value), None)


@lru_cache(maxsize=1024)
def _date_forms(value: str) -> tuple[str, ...]:
    """An ISO date's common written forms, squashed as _squash leaves them."""
    found = _ISO_DATE.fullmatch(value)
    if not found:
        return ()
    try:
        day = dt.date(*(int(part) for part in found.groups()))
    except ValueError:
        return ()
    y, m, d = f"{day.year}", [f"{day.month}", f"{day.month:02}"], [f"{day.day}", f"{day.day:02}"]
    months = [day.strftime("%B").casefold(), day.strftime("%b").casefold()]
    numeric = [(a, b) for a in d for b in m]
    forms = {a + b + y for a, b in numeric} | {b + a + y for a, b in numeric}
    forms |= {a + mon + y for a in d for mon in months} | {mon + a + y for a in d for mon in months}
    return tuple(forms)
