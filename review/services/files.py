"""The files an item's documents point at: uploaded before (by id) or sent inline (base64)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from accountability.audit import Actor
from review.models import Document

if TYPE_CHECKING:
    from agents.models import Agent
    from agents.payload import ItemIn

# Documents an item must wait for before it can be assessed.
WAITING_DOCUMENT = {Document.Status.PENDING, Document.Status.PROCESSING}
UNREADABLE_FLAGS = {"encrypted": "it is encrypted", "corrupt": "the file is damaged"}


class _HasFiles(Protocol):
    index: int
    payload: ItemIn
    files: dict[str, Document]


@dataclass
class FileRefusal:
    index: int
    kind: str  # an IngestOutcome value: invalid, too_large, unsupported
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""


def resolve_files(agent: Agent, pending: list[Any]) -> tuple[list[Any], list[FileRefusal]]:
    """Find or store every file document of each pending item; refuse items whose files fail.

    Referenced documents must have been uploaded by this agent. Inline files are stored (once
    per content) even if the item is refused later: storing is idempotent.
    """
    wanted = {doc.document_id for p in pending for doc in p.payload.documents if doc.document_id}
    known = (
        {d.pk: d for d in Document.objects.filter(pk__in=wanted, agents=agent)} if wanted else {}
    )
    accepted, refusals = [], []
    for p in pending:
        refusal = _resolve_one(agent, p, known)
        if refusal:
            refusals.append(refusal)
        else:
            accepted.append(p)
    return accepted, refusals


def _resolve_one(agent: Agent, p: _HasFiles, known: dict[int, Document]) -> FileRefusal | None:
    for index, doc in enumerate(p.payload.documents):
        at = f"documents[{index}]"
        if doc.document_id is not None:
            if doc.document_id not in known:
                message = f"no document {doc.document_id} was uploaded by this agent"
                return FileRefusal(p.index, "invalid", {f"{at}.document_id": [message]})
            p.files[doc.key] = known[doc.document_id]
        elif doc.data is not None:
            # Imported here: intake schedules the processing task, which imports the services.
            from review.documents.intake import (
                DocumentTooLarge,
                UnsupportedDocument,
                document_store,
            )

            try:
                p.files[doc.key], _ = document_store(
                    data=doc.data, filename=doc.filename, agent=agent, actor=Actor.agent(agent)
                )
            except DocumentTooLarge as refused:
                return FileRefusal(p.index, "too_large", message=f"{at}: {refused}")
            except UnsupportedDocument as refused:
                return FileRefusal(p.index, "unsupported", message=f"{at}: {refused}")
    return None


def unreadable_documents(files: dict[str, Document]) -> dict[str, str]:
    """key -> why, for files a reviewer will have to check against the original."""
    unreadable = {}
    for key, document in files.items():
        if document.status == Document.Status.FAILED:
            unreadable[key] = "processing failed"
        for flag, why in UNREADABLE_FLAGS.items():
            if flag in document.flags:
                unreadable[key] = why
    return unreadable
