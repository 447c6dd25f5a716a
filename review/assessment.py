"""Assessment: the system's own view of an output's risk, as a pipeline of small checks.

Each check looks at a submission under its queue's policy and yields Reasons. Checks are pure
(no database), so ingest can assess a batch of 500 items without a query per field. Routing then
turns the reasons into a status and a priority. Add a check by appending to CHECKS.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from review import schema
from review.documents.locate import locate_quote, value_near
from review.models import Item, Queue


@dataclass(frozen=True)
class FieldSubmission:
    name: str
    value: Any
    confidence: float | None
    evidence: list[dict] = field(default_factory=list)
    alternatives: list[dict] = field(default_factory=list)
    rationale: str = ""


@dataclass(frozen=True)
class Submission:
    fields: list[FieldSubmission]
    documents: dict[str, str]  # key -> text
    confidence: float | None = None
    unreadable: dict[str, str] = field(default_factory=dict)  # key -> why it cannot be read
    # field name -> the agent's confidence mapped through its calibrator (agents.calibration);
    # routing uses it in place of the stated confidence where there is one.
    calibrated: dict[str, float] = field(default_factory=dict)

    def confidence_of(self, f: FieldSubmission) -> float | None:
        """The confidence routing goes by: the calibrated one if any, else the agent's own."""
        return self.calibrated.get(f.name, f.confidence)


@dataclass(frozen=True)
class ReasonDraft:
    code: str
    field_name: str
    message: str
    blocking: bool
    details: dict = field(default_factory=dict)

    def row(self, item_id: int) -> dict:
        """The review.Reason row this draft becomes for an item."""
        return {
            "item_id": item_id,
            "code": self.code,
            "field_name": self.field_name,
            "message": self.message,
            "blocking": self.blocking,
            "details": self.details,
        }


Check = Callable[[Queue, Submission], Iterable[ReasonDraft]]

# Reasons a reviewer is never shown: QA samples are reviewed blind, like any other item.
HIDDEN_REASONS = {"qa_sample"}


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def check_schema(queue: Queue, submission: Submission) -> Iterator[ReasonDraft]:
    given = {f.name: f for f in submission.fields}
    for spec in queue.field_schema:
        name = spec["name"]
        submitted = given.get(name)
        if spec.get("required") and (submitted is None or submitted.value in (None, "")):
            yield ReasonDraft(
                "missing_field",
                name,
                f"The agent gave no value for {name}, which this queue requires.",
                True,
            )
        elif submitted is not None and (problem := schema.value_error(spec, submitted.value)):
            yield ReasonDraft(
                "invalid_value",
                name,
                f"The value of {name} {problem}.",
                True,
                {"value": submitted.value},
            )


def check_confidence(queue: Queue, submission: Submission) -> Iterator[ReasonDraft]:
    """The agent's own confidence is under the threshold (and so is its calibrated one)."""
    for f in submission.fields:
        threshold = queue.threshold_for(f.name)
        if f.confidence is None:
            yield ReasonDraft(
                "low_confidence",
                f.name,
                f"The agent gave no confidence for {f.name}.",
                True,
                {"threshold": threshold},
            )
        elif f.confidence < threshold and submission.confidence_of(f) < threshold:
            details = {"confidence": f.confidence, "threshold": threshold}
            if f.name in submission.calibrated:
                details["calibrated"] = submission.calibrated[f.name]
            yield ReasonDraft(
                "low_confidence",
                f.name,
                f"The agent is {_percent(f.confidence)} sure of {f.name}; "
                f"this queue accepts {_percent(threshold)} or more without review.",
                True,
                details,
            )


def check_calibration(queue: Queue, submission: Submission) -> Iterator[ReasonDraft]:
    """The agent's confidence clears the threshold, but its track record on the field does not:
    the calibrated confidence is what the threshold applies to."""
    for f in submission.fields:
        calibrated = submission.calibrated.get(f.name)
        threshold = queue.threshold_for(f.name)
        if calibrated is None or f.confidence is None or f.confidence < threshold:
            continue
        if calibrated < threshold:
            yield ReasonDraft(
                "calibrated_low_confidence",
                f.name,
                f"The agent says {_percent(f.confidence)} for {f.name}, but its history on this "
                f"field says {_percent(calibrated)}; this queue accepts {_percent(threshold)} "
                "or more without review.",
                True,
                {"confidence": f.confidence, "calibrated": calibrated, "threshold": threshold},
            )


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Whitespace runs to one space, case folded: the simplest way two texts can agree."""
    return _SPACE.sub(" ", text).strip().casefold()


# A quote search that has not finished after this long settles for exact matches only.
EVIDENCE_SEARCH_SECONDS = 1.0


def check_evidence(queue: Queue, submission: Submission) -> Iterator[ReasonDraft]:
    """Each quote must occur in its document (exactly, normalised, or tolerating OCR noise),
    and the field's value must appear in or near it; a span must hold the value."""
    deadline = time.perf_counter() + EVIDENCE_SEARCH_SECONDS
    for f in submission.fields:
        for index, evidence in enumerate(f.evidence):
            key = evidence.get("document")
            text = submission.documents.get(key)
            if text is None or key in submission.unreadable:
                continue
            # An enum value is a category code ("auto"), not text the source must contain.
            literal = not (queue.field_spec(f.name) or {}).get("enum")
            yield from _evidence_reasons(f, index, evidence, text, deadline, literal=literal)


def _evidence_reasons(
    f: FieldSubmission, index: int, evidence: dict, text: str, deadline: float, *, literal: bool
) -> Iterator[ReasonDraft]:
    key, quote = evidence["document"], evidence.get("quote")
    details = {"evidence_index": index, "document": key}
    if quote:
        found = locate_quote(text, quote, deadline=deadline)
        if (
            found
            and found.match == "tolerant"
            and _digits(quote) != _digits(text[found.start : found.end])
        ):
            found = None  # "alike" with other digits is another number, not OCR noise
        if found is None:
            yield ReasonDraft(
                "evidence_not_found",
                f.name,
                f"The agent quotes “{_shorten(quote)}” as evidence for {f.name}, "
                f"but that text is not in the document “{key}”.",
                True,
                {**details, "quote": quote},
            )
            return
        span, how = (found.start, found.end), found.match
    elif isinstance(evidence.get("start"), int):
        span, how = (evidence["start"], evidence["end"]), "span"
    else:
        return  # a bbox on a page: nothing in the text to compare with
    if literal and not _value_in(f.value, quote, text, span):
        yield ReasonDraft(
            "evidence_mismatch",
            f.name,
            f"The value {f.value!r} does not appear in or near the evidence the agent gives for "
            f"{f.name} (“{_shorten(text[span[0] : span[1]])}” in “{key}”).",
            True,
            {**details, "start": span[0], "end": span[1], "match": how},
        )
    elif how == "tolerant":
        yield ReasonDraft(
            "evidence_approximate",
            f.name,
            f"The quote for {f.name} matches the document “{key}” only approximately "
            f"({round(found.score)}% alike, as with OCR noise): "
            f"“{_shorten(text[span[0] : span[1]])}”.",
            False,
            {**details, "start": span[0], "end": span[1], "score": found.score},
        )


# What OCR confuses with digits; read as digits, a quote and its match must agree.
_AS_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "S": "5", "B": "8"})
_NOT_DIGITS = re.compile(r"\D+")


def _digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text.translate(_AS_DIGITS))


def _value_in(value: Any, quote: str | None, text: str, span: tuple[int, int]) -> bool:
    # Most quotes contain the value verbatim: spare value_near's formats for the rest.
    if isinstance(value, str) and value and quote and value in quote:
        return True
    return value_near(text, span[0], span[1], value)


def check_alternatives(queue: Queue, submission: Submission) -> Iterator[ReasonDraft]:
    for f in submission.fields:
        if f.confidence is None:
            continue
        for alternative in f.alternatives:
            other = alternative.get("confidence")
            if other is None or alternative.get("value") == f.value:
                continue
            if f.confidence - other <= queue.alternative_margin:
                yield ReasonDraft(
                    "close_alternative",
                    f.name,
                    f"The agent nearly chose {alternative.get('value')!r} for {f.name} "
                    f"({_percent(other)} against {_percent(f.confidence)} for {f.value!r}).",
                    True,
                    {"alternative": alternative.get("value"), "confidence": other},
                )
                break


def check_documents(queue: Queue, submission: Submission) -> Iterator[ReasonDraft]:
    for key, why in submission.unreadable.items():
        yield ReasonDraft(
            "document_unreadable",
            "",
            f"The document “{key}” cannot be read ({why}): check the output against the original.",
            True,
            {"document": key},
        )


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


CHECKS: list[Check] = [
    check_documents,
    check_schema,
    check_confidence,
    check_calibration,
    check_evidence,
    check_alternatives,
]

# How much each kind of doubt adds to an item's risk (its priority in the queue).
RISK_WEIGHTS = {
    "document_unreadable": 40,
    "missing_field": 40,
    "invalid_value": 40,
    "evidence_not_found": 30,
    "close_alternative": 20,
    "evidence_mismatch": 30,
    "low_confidence": 10,
    "calibrated_low_confidence": 10,
    "automation_stopped": 0,
}


def assess(queue: Queue, submission: Submission) -> list[ReasonDraft]:
    return [reason for check in CHECKS for reason in check(queue, submission)]


@dataclass(frozen=True)
class Routing:
    status: str
    is_qa_sample: bool
    priority: int
    reasons: list[ReasonDraft]


def automation_stopped(queue: Queue, agent: Any) -> str:
    """Why auto-acceptance is off for this queue or agent, or "" when it is on."""
    if queue.automation_stopped_at:
        return f"queue {queue.slug}: {queue.automation_stop_reason}"
    if agent.automation_stopped_at:
        return f"agent {agent.slug}: {agent.automation_stop_reason}"
    return ""


def risk_score(reasons: list[ReasonDraft], submission: Submission) -> int:
    score = sum(RISK_WEIGHTS.get(reason.code, 10) for reason in reasons if reason.blocking)
    confidences = [c for f in submission.fields if (c := submission.confidence_of(f)) is not None]
    if confidences:
        score += round((1 - min(confidences)) * 100)
    return min(score, 1000)


def route(
    queue: Queue,
    submission: Submission,
    reasons: list[ReasonDraft],
    rng: random.Random | None = None,
    *,
    stopped: str = "",
) -> Routing:
    """Auto-accept when nothing blocks, except a QA sample at the queue's rate; else queue it.

    `stopped` says why automation is switched off for this queue or agent: then every output
    goes to a person, whatever its reasons.
    """
    if stopped:
        reasons = [
            *reasons,
            ReasonDraft(
                "automation_stopped",
                "",
                f"Auto-acceptance is stopped ({stopped}): every output goes to a person.",
                True,
            ),
        ]
    priority = risk_score(reasons, submission)
    if any(reason.blocking for reason in reasons):
        return Routing(Item.Status.PENDING, False, priority, reasons)
    draw = (rng or random).random()
    if draw < queue.qa_sample_rate:
        sample = ReasonDraft(
            "qa_sample",
            "",
            "Sampled for quality control: it would otherwise have been accepted without review.",
            False,
            {"rate": queue.qa_sample_rate},
        )
        return Routing(Item.Status.PENDING, True, priority, [*reasons, sample])
    return Routing(Item.Status.AUTO_ACCEPTED, False, priority, reasons)
