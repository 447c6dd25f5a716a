"""What the review workspace shows, built from an item: a view model, no rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from review.forms import input_type
from review.highlight import Segment, evidence_marks, segments
from review.models import (
    CorrectionReason,
    EscalateReason,
    Item,
    ItemField,
    Lease,
    Reason,
    RejectReason,
    SkipReason,
)

# Reasons a reviewer is never shown: QA samples are reviewed blind, like any other item.
HIDDEN_REASONS = {"qa_sample"}


def confidence_words(confidence: float | None) -> str:
    """The agent's confidence in words a reviewer with no ML background reads right."""
    if confidence is None:
        return "no confidence given"
    if confidence < 0.5:
        return "likely wrong"
    if confidence < 0.9:
        return "uncertain"
    return "likely right"


def confidence_level(confidence: float | None) -> str:
    return {"likely wrong": "low", "uncertain": "mid", "likely right": "high"}.get(
        confidence_words(confidence), "none"
    )


@dataclass
class FieldView:
    index: int
    field: ItemField
    spec: dict | None
    input: str  # text, number, integer, boolean, date, datetime, select
    reasons: list[Reason]
    confidence_words: str
    confidence_level: str
    confidence_percent: int | None
    has_evidence: bool
    submitted: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return (self.spec or {}).get("label") or self.field.name.replace("_", " ").capitalize()

    @property
    def enum(self) -> list:
        return (self.spec or {}).get("enum") or []


@dataclass
class DocumentView:
    key: str
    content_type: str
    segments: list[Segment]


@dataclass
class Workspace:
    item: Item
    lease: Lease | None
    fields: list[FieldView]
    documents: list[DocumentView]
    item_reasons: list[Reason]
    blind: bool
    errors: dict[str, list[str]]
    submitted: dict[str, str]
    correction_reasons = CorrectionReason.choices
    reject_reasons = RejectReason.choices
    escalate_reasons = EscalateReason.choices
    skip_reasons = SkipReason.choices

    @property
    def submitted_reason(self) -> str:
        """The reason code picked in the panel of the action that was submitted."""
        return self.submitted.get(f"{self.submitted.get('action', '')}_reason", "")


def build_workspace(
    item: Item,
    lease: Lease | None,
    *,
    errors: dict[str, list[str]] | None = None,
    submitted: dict[str, str] | None = None,
) -> Workspace:
    """item must come from selectors.item_with_details (fields, reasons, documents prefetched)."""
    errors, submitted = errors or {}, submitted or {}
    fields = list(item.fields.all())
    reasons = [r for r in item.reasons.all() if r.code not in HIDDEN_REASONS]
    documents = [
        DocumentView(
            link.key,
            link.document.content_type,
            segments(link.document.text, evidence_marks(link.document.text, link.key, fields)),
        )
        for link in item.item_documents.all()
    ]
    views = []
    for index, f in enumerate(fields):
        spec = item.queue.field_spec(f.name)
        prefix = f"f{index}-"
        views.append(
            FieldView(
                index=index,
                field=f,
                spec=spec,
                input=input_type(spec, f.value),
                reasons=[r for r in reasons if r.field_name == f.name],
                confidence_words=confidence_words(f.confidence),
                confidence_level=confidence_level(f.confidence),
                confidence_percent=None if f.confidence is None else round(f.confidence * 100),
                has_evidence=bool(f.evidence),
                submitted={
                    k[len(prefix) :]: v for k, v in submitted.items() if k.startswith(prefix)
                },
                errors={
                    key.split("].", 1)[1]: messages
                    for key, messages in errors.items()
                    if key.startswith(f"fields[{index}].")
                },
            )
        )
    return Workspace(
        item=item,
        lease=lease,
        fields=views,
        documents=documents,
        item_reasons=[r for r in reasons if not r.field_name],
        blind=item.queue.blind_review,
        errors={k: v for k, v in errors.items() if not k.startswith("fields[")},
        submitted=submitted,
    )
