"""Reading the review workspace's form: text inputs to typed values, errors keyed by field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.http import QueryDict

from accountability.nul import NUL_MESSAGE, holding_nul
from review.models import CorrectionReason, Item, ItemField, Verdict
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


# The workspace's inputs for a field's correction, f<index>-<input>, by the key of its error.
_FIELD_INPUTS = {"value": "value", "reason": "correction_reason", "note": "note"}


def _nul_errors(post: QueryDict) -> dict[str, list[str]]:
    """An error next to each input holding the NUL character (no database column takes it)."""
    errors: dict[str, list[str]] = {}
    for name in holding_nul(post.lists()):
        index, _, which = name[1:].partition("-")
        if name.startswith("f") and index.isdigit() and which in _FIELD_INPUTS:
            key = f"fields[{index}].{_FIELD_INPUTS[which]}"
        elif name.endswith(("_comment", "_reason")):  # reject_comment: the panel's comment
            key = name.rpartition("_")[2]
        else:
            key = name
        errors[key] = [NUL_MESSAGE]
    return errors


def read_decision(post: QueryDict, item: Item, fields: list[ItemField]) -> DecisionForm:
    action = post.get("action", "")
    errors = _nul_errors(post)
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


def read_override_fields(post: QueryDict, fields: list[ItemField], reason: str) -> list:
    """A lead's override form: a typed value for each field to correct; blank keeps the field.

    Raises ValidationError keyed value-<name> for a value that cannot be read.
    """
    given, errors = [], {}
    for f in fields:
        raw = post.get(f"value-{f.name}", "").strip()
        if not raw:
            continue
        try:
            value = parse_value(raw, f.item.queue.field_spec(f.name), f.value)
        except ValueError as problem:
            errors[f"value-{f.name}"] = [str(problem)]
            continue
        correction = post.get(f"correction-{f.name}", "")
        # "Other" needs a note: the lead's reason says what it was.
        note = reason if correction == CorrectionReason.OTHER else ""
        verdict = Verdict.CORRECT if value == f.value else Verdict.CORRECTED
        given.append(FieldVerdictIn(f.name, verdict, value, correction, note))
    if errors:
        raise ValidationError(errors)
    return given


def override_errors(service_errors: dict[str, list[str]], given: list) -> dict[str, list[str]]:
    """Re-key the service's errors on fields[i] (i counts given verdicts) by input name."""
    errors: dict[str, list[str]] = {}
    for key, messages in service_errors.items():
        if key.startswith("fields[") and "]" in key:
            index = int(key[len("fields[") :].split("]", 1)[0])
            key = f"value-{given[index].name}"
        errors.setdefault(key, []).extend(messages)
    return errors


@dataclass
class LeadActions:
    """The lead's forms on the item page, with what was typed and errors by input name."""

    item: Item
    action: str  # the form that was submitted: reassign, send-back or override
    errors: dict[str, list[str]]
    submitted: dict[str, str]
    correction_reasons = CorrectionReason.choices

    def errors_for(self, action: str) -> dict[str, list[str]]:
        return self.errors if action == self.action else {}

    @property
    def reassign_errors(self) -> dict[str, list[str]]:
        return self.errors_for("reassign")

    @property
    def send_back_errors(self) -> dict[str, list[str]]:
        return self.errors_for("send-back")

    @property
    def override_errors(self) -> dict[str, list[str]]:
        return self.errors_for("override")

    @property
    def can_reassign(self) -> bool:
        return self.item.status in {Item.Status.PENDING, Item.Status.ESCALATED}

    @property
    def can_send_back(self) -> bool:
        return self.item.status in {Item.Status.APPROVED, Item.Status.REJECTED}

    @property
    def can_override(self) -> bool:
        return self.item.is_decided

    @property
    def reviewers(self) -> list:
        return list(self.item.queue.reviewers.order_by("username"))

    @property
    def fields(self) -> list[tuple[ItemField, list[str], str]]:
        """Each field with its errors and what was typed for it."""
        errors = self.override_errors
        typed = self.submitted if self.action == "override" else {}
        return [
            (f, errors.get(f"value-{f.name}", []), typed.get(f"value-{f.name}", ""))
            for f in self.item.fields.all()
        ]
