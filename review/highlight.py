"""A document's text cut into segments, each marked with the fields whose evidence covers it.

Where the evidence sits is review.documents.locate's business; this only renders its spans.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from review.documents.locate import FieldLike, Highlight, Match, text_spans


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    field: str
    evidence_index: int
    match: Match = "exact"

    @property
    def approximate(self) -> bool:
        return self.match == "tolerant"


@dataclass
class Segment:
    text: str
    fields: list[str] = field(default_factory=list)
    anchor: str = ""  # an id for the first segment of a piece of evidence, to scroll to
    approximate: bool = False  # some evidence over it was matched only tolerantly (OCR noise)


def marks(highlights: Iterable[Highlight]) -> list[Mark]:
    """The highlights that have a place in the text (not a bbox alone) as marks."""
    return [
        Mark(h.start, h.end, h.field, h.evidence_index, h.match)
        for h in highlights
        if h.start is not None and h.end is not None
    ]


def evidence_marks(text: str, key: str, fields: Iterable[FieldLike]) -> list[Mark]:
    """Marks in document `key` for every piece of evidence that can be placed in its text."""
    return marks(text_spans(text, [], key, fields))


def segments(text: str, marks: list[Mark]) -> list[Segment]:
    """Cut text at every mark boundary; each piece lists the fields whose evidence covers it."""
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    pieces = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        covering = [m for m in marks if m.start <= start and end <= m.end]
        anchor = next(
            (f"ev-{m.field}-{m.evidence_index}" for m in covering if m.start == start), ""
        )
        pieces.append(
            Segment(
                text[start:end],
                sorted({m.field for m in covering}),
                anchor,
                any(m.approximate for m in covering),
            )
        )
    return pieces
