"""Placing evidence in documents: quotes, spans, bboxes, boxes per line and page, value_near."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from review.documents.locate import (
    PageBox,
    document_highlights,
    line_rects,
    locate_quote,
    pages_spanned,
    span_boxes,
    text_spans,
    value_near,
)

TEXT = "Policy number: PN-4471-0923\nDate of  loss:\n2024-03-02\nAmount: EUR 1,250.00"


@dataclass
class Page:
    number: int
    text_offset: int
    text_length: int
    char_boxes: list[int] = field(default_factory=list)


@dataclass
class F:
    name: str
    evidence: list = field(default_factory=list)


def paged(*pages: list[str]) -> tuple[str, list[Page]]:
    """A document of pages of lines set in a grid: each character 100 wide, lines 300 apart
    (ten-thousandths of the page), line breaks without a box, as a text layer gives them."""
    texts, result, offset = [], [], 0
    for number, lines in enumerate(pages, start=1):
        boxes: list[int] = []
        for row, line in enumerate(lines):
            top = 1000 + row * 300
            for col in range(len(line)):
                boxes += [500 + col * 100, top, 600 + col * 100, top + 200]
            if row < len(lines) - 1:
                boxes += [0, 0, 0, 0]  # the "\n"
        text = "\n".join(lines)
        result.append(Page(number, offset, len(text), boxes))
        texts.append(text)
        offset += len(text) + 1  # the "\f" between pages
    return "\f".join(texts), result


def test_a_quote_is_found_exactly_first():
    found = locate_quote(TEXT, "PN-4471-0923")
    assert (found.start, found.end, found.match, found.score) == (15, 27, "exact", 100.0)


def test_case_whitespace_and_typographic_dashes_are_normalised_to_original_offsets():
    found = locate_quote(TEXT, "date of LOSS: 2024\u201303\u201302")
    assert found.match == "normalised"
    assert TEXT[found.start : found.end] == "Date of  loss:\n2024-03-02"


def test_ocr_noise_is_tolerated_and_scored():
    text = "CLAIM FORM\nPolicy: P0L-4342221  Insured: J. Smith"
    found = locate_quote(text, "POL-4342221")
    assert found.match == "tolerant"
    assert text[found.start : found.end] == "P0L-4342221"
    assert 85 <= found.score < 100


def test_tolerance_has_limits():
    assert locate_quote(TEXT, "auto") is None  # too short to be tolerant about
    assert locate_quote(TEXT, "XZ-9999-1111") is None
    assert locate_quote(TEXT, "   ") is None


def test_past_the_deadline_only_exact_quotes_are_found():
    assert locate_quote(TEXT, "PN-4471-0923", deadline=0).match == "exact"
    assert locate_quote(TEXT, "policy NUMBER", deadline=0) is None


def test_long_quotes_are_not_matched_tolerantly():
    text = "x" * 50 + "a" * 400
    assert locate_quote(text, "a" * 200 + "b").match == "tolerant"
    assert locate_quote(text, "a" * 350 + "b") is None


def test_a_quote_on_the_named_page_wins_over_an_earlier_one():
    text, pages = paged(["Total: 100.00"], ["Total: 100.00"])
    [highlight] = text_spans(text, pages, "inv", [F("total", [evidence(quote="100.00", page=2)])])
    assert highlight.start > pages[1].text_offset


def evidence(**given: object) -> dict:
    return {"document": "inv", **given}


def test_a_span_is_used_as_given_and_one_out_of_range_is_not():
    fields = [
        F("a", [evidence(start=0, end=6)]),
        F("b", [evidence(start=5, end=500)]),
    ]
    text, pages = paged(["Policy PN-1"])
    [a] = text_spans(text, pages, "inv", fields)
    assert (a.field, a.match, a.start, a.end, a.score) == ("a", "span", 0, 6, None)


def test_a_bbox_is_drawn_as_given_clamped_and_only_on_an_existing_page():
    text, pages = paged(["one"], ["two"])
    fields = [
        F("a", [evidence(page=2, bbox=[0.5, 0.2, 0.1, 1.3])]),
        F("b", [evidence(page=3, bbox=[0.1, 0.1, 0.2, 0.2])]),
        F("c", [evidence(quote="nowhere to be seen", bbox=[0.1, 0.1, 0.2, 0.2])]),
    ]
    a, c = document_highlights(text, pages, "inv", fields)
    assert (a.match, a.start, a.boxes) == ("bbox", None, [PageBox(2, 0.1, 0.2, 0.5, 1.0)])
    assert (c.field, c.boxes) == ("c", [PageBox(1, 0.1, 0.1, 0.2, 0.2)])
    assert a.approximate and c.approximate


def test_text_found_beats_the_agents_bbox():
    text, pages = paged(["Policy PN-1"])
    [h] = document_highlights(
        text, pages, "inv", [F("a", [evidence(quote="PN-1", bbox=[0, 0, 1, 1])])]
    )
    assert h.match == "exact" and h.boxes == [PageBox(1, 0.12, 0.1, 0.16, 0.12)]


def test_a_span_over_two_lines_gives_one_box_per_line():
    text, pages = paged(["Name: Jane", "Doe Smith"])
    start = text.index("Jane")
    boxes = span_boxes(pages, start, start + len("Jane\nDoe"))
    assert boxes == [PageBox(1, 0.11, 0.1, 0.15, 0.12), PageBox(1, 0.05, 0.13, 0.08, 0.15)]


def test_a_span_across_a_page_break_gives_boxes_on_both_pages():
    text, pages = paged(["first page", "ends here"], ["next page starts", "here"])
    start, end = text.index("ends"), text.index("next page") + len("next page")
    boxes = span_boxes(pages, start, end)
    assert [b.page for b in boxes] == [1, 2]
    assert boxes[0] == PageBox(1, 0.05, 0.13, 0.14, 0.15)
    assert boxes[1] == PageBox(2, 0.05, 0.1, 0.14, 0.12)


def test_pages_spanned_names_only_the_pages_a_span_touches():
    text, pages = paged(["a quote here"], ["nothing"], ["another quote"])
    spans = text_spans(text, pages, "inv", [F("x", [evidence(quote="another quote")])])
    assert pages_spanned(spans, pages) == {3}


def test_punctuation_below_the_baseline_stays_on_its_line():
    # From a real text layer: "1,2" where the comma hangs below the digits.
    chars = [(2952, 438, 3013, 555), (3080, 537, 3104, 579), (3131, 438, 3244, 555)]
    assert line_rects(chars) == [(2952, 438, 3244, 579)]


def test_characters_going_back_left_start_a_new_line_even_when_they_overlap():
    # Two lines so tight that they overlap vertically: x going back to the left is what tells.
    chars = [(0, 0, 10, 20), (10, 0, 20, 20), (0, 12, 10, 32)]
    assert line_rects(chars) == [(0, 0, 20, 20), (0, 12, 10, 32)]


def test_a_document_without_a_text_layer_gets_no_boxes_from_text():
    pages = [Page(1, 0, 0, [])]
    assert span_boxes(pages, 0, 0) == []


@pytest.mark.parametrize(
    ("window", "value"),
    [
        ("Amount: EUR 1,250.50 incl. tax", 1250.5),
        ("Betrag: 1.250,50 EUR", 1250.5),
        ("Montant : 1 250,50 €", 1250.5),
        ("Amount: 1'250.50 CHF", "1250.50"),
        ("Amount: 1250", 1250),
        ("Refund: -12.00", -12),
        ("Rate: 0,05 per day", 0.05),
        ("Policy: PN 4471/0923", "pn-4471-0923"),
        ("Date of loss: March 2, 2024", "2024-03-02"),
        ("Date of loss: 02/03/2024", "2024-03-02"),
        ("Date of loss: 2 Mar 2024", "2024-03-02"),
        ("Insured: yes", True),
        ("anything", None),
    ],
)
def test_value_near_finds_the_value_in_its_usual_forms(window: str, value: object) -> None:
    text = "x" * 300 + window + "y" * 300
    assert value_near(text, 300, 303, value)  # the quote is the window's first 3 characters


@pytest.mark.parametrize(
    ("window", "value"),
    [
        ("Amount: EUR 1,250.50", 1205.5),
        ("Amount: EUR 1,250.50", 125.05),
        ("Policy: PN-4471-0923", "PN-4471-0932"),
        ("Date of loss: 2024-03-02", "2024-02-03"),
    ],
)
def test_value_near_says_no_for_a_different_value(window: str, value: object) -> None:
    assert not value_near(window, 0, 6, value)


def test_value_near_looks_only_about_80_characters_around_the_quote():
    text = "Amount:" + " " * 100 + "1,250.50"
    assert not value_near(text, 0, 7, 1250.5)
    assert value_near(text, 0, 7 + 30, 1250.5)


def test_value_near_is_fast():
    import timeit

    text = "Claimed amount: EUR 1,250.00 paid on 2024-03-02 to PN-4471-0923 " * 50
    calls = 2000
    seconds = timeit.timeit(lambda: value_near(text, 500, 520, 1250.0), number=calls)
    assert seconds / calls < 50e-6
