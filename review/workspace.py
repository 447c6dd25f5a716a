"""What the review workspace shows, built from an item: a view model, no rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from review import selectors
from review.assessment import HIDDEN_REASONS
from review.documents.locate import (
    Highlight,
    PageBox,
    pages_spanned,
    text_spans,
    with_boxes,
)
from review.forms import input_type
from review.highlight import Segment, marks, segments
from review.models import (
    CorrectionReason,
    Document,
    DocumentPage,
    EscalateReason,
    Item,
    ItemDocument,
    ItemField,
    Lease,
    Reason,
    RejectReason,
    SkipReason,
)


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
    # The agent's confidence through its calibrator: what its history says (None: no calibrator).
    calibrated_percent: int | None = None
    calibrated_words: str = ""
    calibrated_level: str = ""

    @property
    def label(self) -> str:
        return (self.spec or {}).get("label") or self.field.name.replace("_", " ").capitalize()

    @property
    def enum(self) -> list:
        return (self.spec or {}).get("enum") or []


HTML_TYPES = {"text/html", "message/rfc822"}
# What each flag on a document means for the person reviewing it (Document.flags).
FLAG_NOTICES = {
    "encrypted": "Password-protected: this PDF could not be opened, so neither its pages nor "
    "its evidence can be shown. Judge from the other documents or mark fields not determinable.",
    "corrupt": "Damaged file: it could only be read in part, if at all. What is shown may be "
    "incomplete.",
    "no_text_layer": "Scanned image without a text layer: the agent's quotes cannot be checked "
    "against it. Read the values off the image; boxes are where the agent says it looked.",
    "truncated": "Longer than the page limit: only the first pages are shown, so evidence on "
    "later pages cannot be.",
}
MATCH_WORDS = {
    "exact": "exact quote",
    "normalised": "quote, ignoring case and spacing",
    "tolerant": "approximate match",
    "span": "characters the agent pointed to",
    "bbox": "where the agent says it looked; not checked against the text",
}


@dataclass
class BoxView:
    """One evidence rectangle over a page image, in percent of the page."""

    field: str
    match: str
    score: float | None
    box: PageBox

    @property
    def style(self) -> str:
        # Formatted here, not in the template, where floats would follow the active locale.
        b = self.box
        return (
            f"left: {b.x0 * 100:.3f}%; top: {b.y0 * 100:.3f}%; "
            f"width: {(b.x1 - b.x0) * 100:.3f}%; height: {(b.y1 - b.y0) * 100:.3f}%"
        )

    @property
    def title(self) -> str:
        score = f" ({self.score:.0f} %)" if self.match == "tolerant" and self.score else ""
        return f"Evidence for {self.field}: {MATCH_WORDS[self.match]}{score}"


@dataclass
class PageView:
    number: int
    url: str
    width: int
    height: int
    boxes: list[BoxView]


@dataclass
class DocumentView:
    key: str
    content_type: str
    segments: list[Segment]
    kind: str = "text"  # "text" | "paged" (page images with boxes) | "html" (sandboxed + text)
    document_id: int | None = None
    filename: str = ""
    status: str = Document.Status.READY
    status_label: str = ""
    flags: list[str] = field(default_factory=list)  # Document.flags, as processing set them
    notices: list[str] = field(default_factory=list)  # what the flags mean for the reviewer
    pages: list[PageView] = field(default_factory=list)
    html_url: str = ""

    @property
    def ready(self) -> bool:
        return self.status == Document.Status.READY

    @property
    def processing(self) -> bool:
        return self.status in {Document.Status.PENDING, Document.Status.PROCESSING}


def document_kind(document: Document, pages: list[DocumentPage]) -> str:
    if document.content_type in HTML_TYPES:
        return "html"
    if pages or document.content_type == "application/pdf":
        return "paged"
    return "paged" if document.content_type.startswith("image/") else "text"


def document_views(links: list[ItemDocument], fields: list[ItemField]) -> list[DocumentView]:
    """Each document with its evidence placed: marks in text, boxes on pages.

    Spans are placed first, then the char_boxes of just the pages they touch are read in one
    query: a long PDF's boxes would otherwise be loaded on every page view.
    """
    pages = {link.pk: list(link.document.pages.all()) for link in links}
    spans = {
        link.pk: text_spans(link.document.text, pages[link.pk], link.key, fields) for link in links
    }
    needed = []
    for link in links:
        if document_kind(link.document, pages[link.pk]) == "paged":
            numbers = pages_spanned(spans[link.pk], pages[link.pk])
            needed += [page for page in pages[link.pk] if page.number in numbers]
    boxes = selectors.page_char_boxes(page.pk for page in needed) if needed else {}
    for page in needed:
        page.char_boxes = boxes.get(page.pk, [])
    return [_document_view(link, pages[link.pk], spans[link.pk], needed) for link in links]


def _document_view(
    link: ItemDocument,
    pages: list[DocumentPage],
    spans: list[Highlight],
    loaded: list[DocumentPage],
) -> DocumentView:
    document, kind = link.document, document_kind(link.document, pages)
    view = DocumentView(
        key=link.key,
        content_type=document.content_type,
        segments=[],
        kind=kind,
        document_id=document.pk,
        filename=document.filename,
        status=document.status,
        status_label=document.get_status_display(),
        flags=list(document.flags),
        notices=[FLAG_NOTICES[flag] for flag in document.flags if flag in FLAG_NOTICES],
    )
    if document.status == Document.Status.FAILED:
        view.notices.append(
            "This document could not be processed, so it cannot be shown. Judge the fields "
            "from the other documents, or mark them not determinable."
        )
    if kind == "paged":
        # Only the pages whose char_boxes were loaded: touching another's would query it.
        loaded_ids = {page.pk for page in loaded}
        with_text = [page for page in pages if page.pk in loaded_ids]
        view.pages = _page_views(document, pages, with_boxes(spans, with_text))
    else:
        view.segments = segments(document.text, marks(spans))
    if kind == "html" and document.html:
        view.html_url = reverse("review:document-html", args=[document.pk])
    return view


def _page_views(
    document: Document, pages: list[DocumentPage], highlights: list[Highlight]
) -> list[PageView]:
    boxes: dict[int, list[BoxView]] = {}
    for h in highlights:
        for box in h.boxes:
            boxes.setdefault(box.page, []).append(BoxView(h.field, h.match, h.score, box))
    return [
        PageView(
            number=page.number,
            url=reverse("review:document-page", args=[document.pk, page.number]),
            width=page.width,
            height=page.height,
            boxes=boxes.get(page.number, []),
        )
        for page in pages
    ]


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
    def tabbed(self) -> bool:
        return len(self.documents) > 1

    @property
    def submitted_reason(self) -> str:
        """The reason code picked in the panel of the action that was submitted."""
        return self.submitted.get(f"{self.submitted.get('action', '')}_reason", "")


def _calibrated(calibrated: float | None) -> dict:
    if calibrated is None:
        return {}
    return {
        "calibrated_percent": round(calibrated * 100),
        "calibrated_words": confidence_words(calibrated),
        "calibrated_level": confidence_level(calibrated),
    }


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
    documents = document_views(list(item.item_documents.all()), fields)
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
                **_calibrated(f.calibrated_confidence),
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
