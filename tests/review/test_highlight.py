from __future__ import annotations

from dataclasses import dataclass, field

from review.highlight import evidence_marks, segments

TEXT = "Policy number: PN-4471-0923\nDate of  loss:\n2024-03-02\nAmount: EUR 1,250.00"


@dataclass
class F:
    name: str
    evidence: list = field(default_factory=list)


def test_quotes_are_marked_where_locate_places_them():
    # The matching rules themselves are tested in tests/review/documents/test_locate.py.
    fields = [
        F("policy_number", [{"document": "form", "quote": "PN-4471-0923"}]),
        F("loss_date", [{"document": "form", "quote": "date of loss: 2024-03-02"}]),
        F("misread", [{"document": "form", "quote": "PN-4471-O923"}]),
        F("absent", [{"document": "form", "quote": "nothing like it at all"}]),
    ]
    marks = {m.field: m for m in evidence_marks(TEXT, "form", fields)}
    assert set(marks) == {"policy_number", "loss_date", "misread"}
    assert TEXT[marks["loss_date"].start : marks["loss_date"].end] == "Date of  loss:\n2024-03-02"
    assert (marks["misread"].start, marks["misread"].match) == (15, "tolerant")
    pieces = segments(TEXT, [marks["misread"]])
    assert [p.approximate for p in pieces if p.fields] == [True]


def test_spans_are_used_as_given_and_segments_carry_every_covering_field():
    fields = [
        F("policy_number", [{"document": "form", "quote": "PN-4471-0923"}]),
        F("policy_line", [{"document": "form", "start": 0, "end": 27}]),
        F("elsewhere", [{"document": "scan", "quote": "PN"}]),
    ]
    pieces = segments(TEXT, evidence_marks(TEXT, "form", fields))
    assert "".join(p.text for p in pieces) == TEXT
    number = next(p for p in pieces if p.text == "PN-4471-0923")
    assert number.fields == ["policy_line", "policy_number"]
    assert number.anchor == "ev-policy_number-0"
    assert pieces[0].fields == ["policy_line"] and pieces[0].anchor == "ev-policy_line-0"
    assert pieces[-1].fields == []
