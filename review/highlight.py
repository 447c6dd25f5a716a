"""Where each field's evidence sits in a text document, and the text cut into marked segments.

A quote is located exactly first, then ignoring case, then ignoring differences in whitespace;
a character span given by the agent is used as given when it is inside the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    field: str
    evidence_index: int


@dataclass
class Segment:
    text: str
    fields: list[str] = field(default_factory=list)
    anchor: str = ""  # an id for the first segment of a piece of evidence, to scroll to


def locate_quote(text: str, quote: str) -> tuple[int, int] | None:
    if not quote:
        return None
    start = text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    start = text.casefold().find(quote.casefold())
    if start >= 0 and len(text.casefold()) == len(text):  # casefold kept offsets aligned
        return start, start + len(quote)
    words = quote.split()
    if not words:
        return None
    match = re.search(r"\s+".join(map(re.escape, words)), text, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def evidence_marks(text: str, key: str, fields: list) -> list[Mark]:  # fields: ItemField-like
    """Marks in document `key` for every piece of evidence that can be placed in it."""
    marks = []
    for f in fields:
        for index, evidence in enumerate(f.evidence or []):
            if evidence.get("document") != key:
                continue
            span = None
            start, end = evidence.get("start"), evidence.get("end")
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
                span = (start, end)
            elif evidence.get("quote"):
                span = locate_quote(text, evidence["quote"])
            if span:
                marks.append(Mark(span[0], span[1], f.name, index))
    return marks


def segments(text: str, marks: list[Mark]) -> list[Segment]:
    """Cut text at every mark boundary; each piece lists the fields whose evidence covers it."""
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        covering = [m for m in marks if m.start <= start and end <= m.end]
        anchor = next(
            (f"ev-{m.field}-{m.evidence_index}" for m in covering if m.start == start), ""
        )
        pieces.append(Segment(text[start:end], sorted({m.field for m in covering}), anchor))
    return pieces
