"""Each check of the assessment pipeline, and routing, on plain submissions (no database)."""

from __future__ import annotations

import random

from review.assessment import FieldSubmission, Submission, assess, route
from review.models import Item, Queue
from tests.factories import CLAIM_TEXT, DEFAULT_SCHEMA


def _queue(**overrides: object) -> Queue:
    values = {
        "field_schema": [dict(s) for s in DEFAULT_SCHEMA],
        "default_threshold": 0.85,
        "qa_sample_rate": 0.0,
        "alternative_margin": 0.1,
    }
    values.update(overrides)
    return Queue(slug="claims", name="Claims", **values)


def _fields(**changes: dict) -> list[FieldSubmission]:
    base = {
        "policy_number": {
            "value": "PN-4471-0923",
            "confidence": 0.99,
            "evidence": [{"document": "form", "quote": "PN-4471-0923"}],
        },
        "loss_date": {"value": "2024-03-02", "confidence": 0.97},
        "amount": {"value": 1250.0, "confidence": 0.93},
        "claim_type": {"value": "auto", "confidence": 0.95},
    }
    for name, change in changes.items():
        if change is None:
            base.pop(name)
        else:
            base.setdefault(name, {}).update(change)
    return [FieldSubmission(name=name, **spec) for name, spec in base.items()]


def _codes(queue: Queue, fields: list[FieldSubmission]) -> list[tuple[str, str]]:
    reasons = assess(queue, Submission(fields=fields, documents={"form": CLAIM_TEXT}))
    return [(r.code, r.field_name) for r in reasons]


def test_clean_submission_has_no_reasons():
    assert _codes(_queue(), _fields()) == []


def test_field_threshold_overrides_the_queue_default():
    # policy_number needs 0.95; 0.9 clears the default 0.85 but not its own threshold.
    assert _codes(_queue(), _fields(policy_number={"confidence": 0.9})) == [
        ("low_confidence", "policy_number")
    ]
    assert _codes(_queue(), _fields(amount={"confidence": 0.9})) == []


def test_missing_confidence_is_low_confidence():
    assert _codes(_queue(), _fields(amount={"confidence": None})) == [("low_confidence", "amount")]


def test_required_field_missing_or_empty():
    assert ("missing_field", "loss_date") in _codes(_queue(), _fields(loss_date=None))
    assert ("missing_field", "amount") in _codes(_queue(), _fields(amount={"value": None}))


def test_values_are_checked_against_the_schema():
    codes = _codes(
        _queue(),
        _fields(
            loss_date={"value": "03/02/2024"},
            amount={"value": "1250"},
            claim_type={"value": "boat"},
        ),
    )
    assert codes == [
        ("invalid_value", "loss_date"),
        ("invalid_value", "amount"),
        ("invalid_value", "claim_type"),
    ]


def test_datetime_integer_boolean_and_pattern_types():
    schema = [
        {"name": "at", "type": "datetime"},
        {"name": "n", "type": "integer"},
        {"name": "ok", "type": "boolean"},
        {"name": "code", "type": "string", "pattern": r"[A-Z]\d{2}"},
    ]
    queue = _queue(field_schema=schema, default_threshold=0.0)
    good = [
        FieldSubmission("at", "2024-03-02T10:00:00+00:00", 1.0),
        FieldSubmission("n", 3, 1.0),
        FieldSubmission("ok", False, 1.0),
        FieldSubmission("code", "E11", 1.0),
    ]
    bad = [
        FieldSubmission("at", "yesterday", 1.0),
        FieldSubmission("n", 3.5, 1.0),
        FieldSubmission("ok", "yes", 1.0),
        FieldSubmission("code", "e11.9", 1.0),
    ]
    assert _codes(queue, good) == []
    assert [c for c, _ in _codes(queue, bad)] == ["invalid_value"] * 4


def test_quote_must_occur_in_the_document_after_normalising_space_and_case():
    found = _fields(
        loss_date={"evidence": [{"document": "form", "quote": "date  of\nLOSS: 2024-03-02"}]}
    )
    assert _codes(_queue(), found) == []
    invented = _fields(
        loss_date={"evidence": [{"document": "form", "quote": "Date of loss: 2024-02-03"}]}
    )
    assert _codes(_queue(), invented) == [("evidence_not_found", "loss_date")]


def test_close_alternative_raises_doubt_but_a_distant_one_does_not():
    close = _fields(claim_type={"alternatives": [{"value": "home", "confidence": 0.9}]})
    assert _codes(_queue(), close) == [("close_alternative", "claim_type")]
    distant = _fields(claim_type={"alternatives": [{"value": "home", "confidence": 0.2}]})
    assert _codes(_queue(), distant) == []


def test_blocking_reason_routes_to_review_with_higher_priority_for_more_risk():
    queue = _queue()
    submission = Submission(
        fields=_fields(amount={"confidence": 0.5}), documents={"form": CLAIM_TEXT}
    )
    worse = Submission(
        fields=_fields(amount={"confidence": 0.2}, loss_date=None), documents={"form": CLAIM_TEXT}
    )
    mild = route(queue, submission, assess(queue, submission))
    severe = route(queue, worse, assess(queue, worse))
    assert mild.status == severe.status == Item.Status.PENDING
    assert severe.priority > mild.priority


def test_qa_sampling_sends_the_configured_share_of_clean_items_to_people():
    queue = _queue(qa_sample_rate=0.1)
    submission = Submission(fields=_fields(), documents={"form": CLAIM_TEXT})
    rng = random.Random(7)
    routes = [route(queue, submission, [], rng) for _ in range(5000)]
    sampled = [r for r in routes if r.is_qa_sample]
    assert 400 < len(sampled) < 600
    assert all(
        r.status == Item.Status.PENDING and r.reasons[-1].code == "qa_sample" for r in sampled
    )
    assert all(r.status == Item.Status.AUTO_ACCEPTED for r in routes if not r.is_qa_sample)


def test_a_quote_that_does_not_hold_the_value_is_a_mismatch():
    # The quote is in the document, but the agent's value is not in or near it.
    wrong = _fields(
        amount={"value": 980.0, "evidence": [{"document": "form", "quote": "EUR 1,250.00"}]}
    )
    assert _codes(_queue(), wrong) == [("evidence_mismatch", "amount")]
    right = _fields(amount={"evidence": [{"document": "form", "quote": "EUR 1,250.00"}]})
    assert _codes(_queue(), right) == []  # 1250.0 is written 1,250.00 in the source


def test_a_span_must_hold_the_value():
    start = CLAIM_TEXT.index("PN-4471-0923")
    span = {"document": "form", "start": start, "end": start + 12}
    assert _codes(_queue(), _fields(policy_number={"evidence": [span]})) == []
    moved = {"document": "form", "start": 0, "end": 20}
    far = _fields(policy_number={"value": "PN-9999-0000", "evidence": [moved]})
    assert ("evidence_mismatch", "policy_number") in _codes(_queue(), far)


def test_ocr_noise_is_tolerated_and_said_but_other_digits_are_not():
    noisy = _fields(
        policy_number={"evidence": [{"document": "form", "quote": "P0licy nunber: PN-4471-0923"}]}
    )
    queue = _queue()
    reasons = assess(queue, Submission(fields=noisy, documents={"form": CLAIM_TEXT}))
    assert [(r.code, r.blocking) for r in reasons] == [("evidence_approximate", False)]
    assert "only approximately" in reasons[0].message
    swapped = _fields(
        policy_number={"evidence": [{"document": "form", "quote": "Policy number: PN-4471-0932"}]}
    )
    assert ("evidence_not_found", "policy_number") in _codes(queue, swapped)


def test_an_enum_code_need_not_appear_in_its_evidence():
    described = _fields(
        claim_type={"evidence": [{"document": "form", "quote": "Rear-end collision"}]}
    )
    assert _codes(_queue(), described) == []
