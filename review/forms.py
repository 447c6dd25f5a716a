"""Reading the review workspace's form: text inputs to typed values, errors keyed by field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from review.models import Item, ItemField, Verdict
from review.services import FieldVerdictIn

ACTIONS = {"approve", "reject", "escalate", "skip"}


@dataclass
class DecisionForm:
    """What the reviewer submitted, parsed; errors keyed like the service's (fields[2].value)."""

    action: str
    lease: str
    fields: list[FieldVerdictIn]
    reason: str
    comment: str
    active_seconds: float | None
    stop_after: bool
    errors: dict[str, list[str]] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # to redisplay what was typed
    positions: list[int] = field(default_factory=list)  # verdict number -> field index


def input_type(spec: dict | None, current: Any) -> str:
    """The HTML input for a field: typed from the queue schema, else from the agent's value."""
    kind = (spec or {}).get("type") or ("number" if isinstance(current, int | float) else "string")
    if spec and spec.get("enum"):
        return "select"
    return {"number": "number", "integer": "integer", "boolean": "boolean", "date": "date",
            "datetime": "datetime"}.get(kind, "text")  # fmt: skip


def parse_value(raw: str, spec: dict | None, current: Any) -> Any:
    """Turn what was typed into the JSON value; ValueError with a sentence if it cannot be."""
    kind = input_type(spec, current)
    raw = raw.strip()
    if raw == "":
        raise ValueError("type the corrected value")
    if kind == "number":
        try:
            number = float(raw.replace(",", ""))
        except ValueError:
            raise ValueError("must be a number") from None
        return int(number) if number.is_integer() and isinstance(current, int) else number
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == "boolean":
        if raw not in {"true", "false"}:
            raise ValueError("choose yes or no")
        return raw == "true"
    if kind == "date":
        try:
            dt.date.fromisoformat(raw)
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if kind == "select":
        enum = spec["enum"]
        matches = [option for option in enum if str(option) == raw]
        if not matches:
            raise ValueError(f"choose one of {', '.join(map(str, enum))}")
        return matches[0]
    return raw


def read_decision(post: QueryDict, item: Item, fields: list[ItemField]) -> DecisionForm:
    action = post.get("action", "")
    errors: dict[str, list[str]] = {}
    if action not in ACTIONS:
        errors["action"] = ["choose approve, reject, escalate or skip"]
    verdicts = []
    for index, f in enumerate(fields):
        verdict = post.get(f"f{index}-verdict", "")
        if not verdict:
            continue
        entry = {"name": f.name, "verdict": verdict}
        if verdict == Verdict.CORRECTED:
            entry["correction_reason"] = post.get(f"f{index}-reason", "")
            entry["note"] = post.get(f"f{index}-note", "")
            try:
                entry["value"] = parse_value(
                    post.get(f"f{index}-value", ""), item.queue.field_spec(f.name), f.value
                )
            except ValueError as problem:
                errors[f"fields[{index}].value"] = [str(problem)]
                continue
        verdicts.append((index, FieldVerdictIn(**entry)))
    reason = post.get(f"{action}_reason", "") if action in {"reject", "escalate", "skip"} else ""
    try:
        active_seconds = float(post["active_seconds"]) if post.get("active_seconds") else None
    except ValueError:
        active_seconds = None
    form = DecisionForm(
        action=action,
        lease=post.get("lease", ""),
        fields=[verdict for _, verdict in verdicts],
        reason=reason,
        comment=post.get(f"{action}_comment", post.get("comment", "")),
        active_seconds=active_seconds,
        stop_after=post.get("stop_after") == "on",
        errors=errors,
        raw=dict(post.items()),
        positions=[index for index, _ in verdicts],
    )
    return form


def field_errors(form: DecisionForm, service_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Re-key the service's errors (fields[i] counts submitted verdicts) by form field index."""
    errors = dict(form.errors)
    for key, messages in service_errors.items():
        if key.startswith("fields[") and "]" in key:
            submitted, rest = key[len("fields[") :].split("]", 1)
            key = f"fields[{form.positions[int(submitted)]}]{rest}"
        errors.setdefault(key, []).extend(messages)
    return errors
