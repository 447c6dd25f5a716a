"""Parsing the ingest payload: fast, and naming each bad part by its path.

Why not a DRF serializer here: measured on this machine, DRF validates an item with 8 fields in
1.1 ms and jsonschema in 0.6 ms, while the ingest budget for a whole item (parse, assess, write)
is 0.4 ms in a batch. agents.serializers.ItemInSerializer documents the same shape for OpenAPI,
and tests/agents/test_payload.py feeds both the same payloads so they cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from review.assessment import FieldSubmission

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
INLINE_CONTENT_TYPES = ("text/plain",)
MAX_DOCUMENTS, MAX_FIELDS, MAX_EVIDENCE, MAX_ALTERNATIVES = 20, 200, 50, 20


@dataclass
class DocumentIn:
    """One source document of an item: inline text, a file sent inline, or an earlier upload."""

    key: str
    content_type: str = "text/plain"
    text: str | None = None  # inline text
    data: bytes | None = None  # a file sent inline as base64 (its type is sniffed on storing)
    filename: str = ""
    document_id: int | None = None  # a document uploaded before (POST /api/v1/documents)


@dataclass
class ItemIn:
    queue: str
    external_id: str
    agent_version: str
    documents: list[DocumentIn]
    fields: list[FieldSubmission]
    confidence: float | None
    rationale: str
    metadata: dict
    raw: dict = field(repr=False)  # the payload as sent, for the idempotency hash


class PayloadErrors:
    """Collects `path -> [messages]` in the order problems are found."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.by_path.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_path)


def _at(parent: str, key: str) -> str:
    """The path of key inside parent ("" at the top), as the client would write it.

    Paths are built only for an error: a 500-item batch has some 60,000 places to check."""
    return f"{parent}.{key}" if parent else key


def _string(
    errors: PayloadErrors,
    data: dict,
    key: str,
    parent: str,
    *,
    required: bool,
    max_length: int,
    allow_blank: bool = False,
    default: str = "",
) -> str:
    value = data.get(key)
    if value is None:
        if required:
            errors.add(_at(parent, key), "is required")
        return default
    if not isinstance(value, str):
        errors.add(_at(parent, key), f"must be a string, got {type(value).__name__}")
        return default
    if not allow_blank and not value.strip():
        errors.add(_at(parent, key), "must not be blank")
    elif len(value) > max_length:
        errors.add(_at(parent, key), f"must be at most {max_length} characters (got {len(value)})")
    return value


def _probability(errors: PayloadErrors, data: dict, key: str, parent: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.add(_at(parent, key), "must be a number between 0 and 1")
        return None
    if not 0 <= value <= 1:
        errors.add(_at(parent, key), "must be between 0 and 1")
        return None
    return float(value)


def _list(
    errors: PayloadErrors,
    data: dict,
    key: str,
    parent: str,
    *,
    max_items: int,
    min_items: int = 0,
) -> list:
    value = data.get(key)
    if value is None:
        if min_items:
            errors.add(_at(parent, key), "is required")
        return []
    if not isinstance(value, list):
        errors.add(_at(parent, key), f"must be a list, got {type(value).__name__}")
        return []
    if len(value) < min_items:
        errors.add(_at(parent, key), f"must have at least {min_items} entry")
    if len(value) > max_items:
        errors.add(_at(parent, key), f"must have at most {max_items} entries (got {len(value)})")
        return []
    return value


def _object(errors: PayloadErrors, value: Any, path: str) -> bool:
    if not isinstance(value, dict):
        errors.add(path, f"must be an object, got {type(value).__name__}")
        return False
    return True


def _unknown_keys(errors: PayloadErrors, data: dict, allowed: frozenset[str], path: str) -> None:
    if allowed.issuperset(data):
        return
    for key in data.keys() - allowed:
        errors.add(_at(path, key), f"is not a known attribute ({', '.join(sorted(allowed))})")


ITEM_KEYS = frozenset(
    {
        "queue",
        "external_id",
        "agent_version",
        "documents",
        "fields",
        "confidence",
        "rationale",
        "metadata",
    }
)
DOCUMENT_KEYS = frozenset(
    {"key", "content_type", "text", "content_base64", "filename", "document_id"}
)
FIELD_KEYS = frozenset({"name", "value", "confidence", "evidence", "alternatives", "rationale"})
EVIDENCE_KEYS = frozenset({"document", "quote", "start", "end", "page", "bbox"})
ALTERNATIVE_KEYS = frozenset({"value", "confidence"})


def parse_item(data: Any, prefix: str = "") -> tuple[ItemIn | None, dict[str, list[str]]]:
    """Return the parsed item, or None and every problem found, keyed by path."""
    errors = PayloadErrors()
    if not _object(errors, data, prefix or "body"):
        return None, errors.by_path
    _unknown_keys(errors, data, ITEM_KEYS, prefix)
    queue = _string(errors, data, "queue", prefix, required=True, max_length=80)
    if queue and not SLUG.match(queue):
        errors.add(_at(prefix, "queue"), "must be a queue slug (letters, digits, - and _)")
    external_id = _string(errors, data, "external_id", prefix, required=True, max_length=200)
    agent_version = _string(
        errors, data, "agent_version", prefix, required=False, max_length=80, allow_blank=True
    )
    documents = _documents(errors, data, prefix)
    # None: a file, whose text is known only once it is processed.
    texts = {doc.key: doc.text for doc in documents}
    fields = _fields(errors, data, prefix, texts)
    confidence = _probability(errors, data, "confidence", prefix)
    rationale = _string(
        errors, data, "rationale", prefix, required=False, max_length=20_000, allow_blank=True
    )
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        errors.add(_at(prefix, "metadata"), f"must be an object, got {type(metadata).__name__}")
    if errors:
        return None, errors.by_path
    return ItemIn(
        queue, external_id, agent_version, documents, fields, confidence, rationale, metadata, data
    ), {}


def _documents(errors: PayloadErrors, data: dict, parent: str) -> list[DocumentIn]:
    documents: list[DocumentIn] = []
    seen: set[str] = set()
    path = _at(parent, "documents")
    for index, raw in enumerate(_list(errors, data, "documents", parent, max_items=MAX_DOCUMENTS)):
        here = f"{path}[{index}]"
        if not _object(errors, raw, here):
            continue
        _unknown_keys(errors, raw, DOCUMENT_KEYS, here)
        key = _string(errors, raw, "key", here, required=True, max_length=100)
        if key in seen:
            errors.add(f"{here}.key", f"{key!r} is used by an earlier document")
        seen.add(key)
        sources = [name for name in ("text", "content_base64", "document_id") if name in raw]
        if len(sources) != 1:
            errors.add(here, "give exactly one of text, content_base64 or document_id")
            continue
        documents.append(_document(errors, raw, here, key, sources[0]))
    return documents


def _document(errors: PayloadErrors, raw: dict, here: str, key: str, source: str) -> DocumentIn:
    filename = _string(errors, raw, "filename", here, required=False, max_length=255)
    if source == "document_id":
        document_id = raw["document_id"]
        if isinstance(document_id, bool) or not isinstance(document_id, int) or document_id < 1:
            errors.add(f"{here}.document_id", "must be the id of a document you uploaded")
            document_id = None
        return DocumentIn(key, document_id=document_id)
    if source == "content_base64":
        encoded = _string(
            errors,
            raw,
            "content_base64",
            here,
            required=True,
            max_length=4 * settings.INLINE_DOCUMENT_MAX_BYTES // 3 + 4,
        )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            errors.add(f"{here}.content_base64", "is not valid base64")
            data = b""
        return DocumentIn(key, content_type="", data=data, filename=filename)
    content_type = raw.get("content_type", "text/plain")
    if content_type not in INLINE_CONTENT_TYPES:
        errors.add(
            f"{here}.content_type",
            f"only text/plain can be sent as text, not {content_type!r}; send files as "
            "content_base64 or upload them to /api/v1/documents",
        )
    text = _string(errors, raw, "text", here, required=True, max_length=5_000_000, allow_blank=True)
    return DocumentIn(key, content_type, text=text, filename=filename)


def _fields(
    errors: PayloadErrors, data: dict, parent: str, texts: dict[str, str | None]
) -> list[FieldSubmission]:
    fields: list[FieldSubmission] = []
    seen: set[str] = set()
    path = _at(parent, "fields")
    for index, raw in enumerate(
        _list(errors, data, "fields", parent, max_items=MAX_FIELDS, min_items=1)
    ):
        here = f"{path}[{index}]"
        if not _object(errors, raw, here):
            continue
        _unknown_keys(errors, raw, FIELD_KEYS, here)
        name = _string(errors, raw, "name", here, required=True, max_length=100)
        if name and not FIELD_NAME.match(name):
            errors.add(f"{here}.name", "must be an identifier such as policy_number")
        elif name in seen:
            errors.add(f"{here}.name", f"{name!r} appears twice")
        seen.add(name)
        if "value" not in raw:
            errors.add(f"{here}.value", "is required (send null for no value)")
        confidence = _probability(errors, raw, "confidence", here)
        evidence = [
            ev
            for i, ev in enumerate(_list(errors, raw, "evidence", here, max_items=MAX_EVIDENCE))
            if _evidence_ok(errors, ev, f"{here}.evidence[{i}]", texts)
        ]
        alternatives = [
            alt
            for i, alt in enumerate(
                _list(errors, raw, "alternatives", here, max_items=MAX_ALTERNATIVES)
            )
            if _alternative_ok(errors, alt, f"{here}.alternatives[{i}]")
        ]
        rationale = _string(
            errors, raw, "rationale", here, required=False, max_length=10_000, allow_blank=True
        )
        fields.append(
            FieldSubmission(name, raw.get("value"), confidence, evidence, alternatives, rationale)
        )
    return fields


def _non_negative_int(
    errors: PayloadErrors, data: dict, key: str, parent: str, minimum: int = 0
) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.add(_at(parent, key), f"must be a whole number of at least {minimum}")
        return None
    return value


def _evidence_ok(
    errors: PayloadErrors, evidence: Any, path: str, texts: dict[str, str | None]
) -> bool:
    if not _object(errors, evidence, path):
        return False
    before = len(errors.by_path)
    _unknown_keys(errors, evidence, EVIDENCE_KEYS, path)
    key = _string(errors, evidence, "document", path, required=True, max_length=100)
    if key and key not in texts:
        known = ", ".join(texts) or "none were sent"
        errors.add(f"{path}.document", f"no document with key {key!r} in this item (keys: {known})")
    if "quote" in evidence:
        _string(errors, evidence, "quote", path, required=True, max_length=10_000)
    has_start, has_end = "start" in evidence, "end" in evidence
    start = _non_negative_int(errors, evidence, "start", path) if has_start else None
    end = _non_negative_int(errors, evidence, "end", path) if has_end else None
    if "page" in evidence:
        _non_negative_int(errors, evidence, "page", path, minimum=1)
    if has_start != has_end:
        errors.add(f"{path}.end", "start and end go together")
    elif start is not None and end is not None:
        if end < start:
            errors.add(f"{path}.end", "must not be before start")
        elif texts.get(key) is not None and end > len(texts[key]):
            errors.add(
                f"{path}.end", f"is past the end of document {key!r} ({len(texts[key])} characters)"
            )
    if "bbox" in evidence:
        box = evidence["bbox"]
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
            errors.add(f"{path}.bbox", "must be four numbers [x0, y0, x1, y1]")
    if "quote" not in evidence and not has_start and "bbox" not in evidence:
        errors.add(path, "give a quote, a start/end span or a page bbox")
    return len(errors.by_path) == before


def _alternative_ok(errors: PayloadErrors, alternative: Any, path: str) -> bool:
    if not _object(errors, alternative, path):
        return False
    before = len(errors.by_path)
    _unknown_keys(errors, alternative, ALTERNATIVE_KEYS, path)
    if "value" not in alternative:
        errors.add(f"{path}.value", "is required")
    _probability(errors, alternative, "confidence", path)
    return len(errors.by_path) == before


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
