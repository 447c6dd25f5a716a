"""A queue's field schema: the shape of its definition, and checking values against it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from review.models import FieldType

SPEC_KEYS = {"name", "type", "required", "threshold", "enum", "pattern", "label", "help"}


def spec_errors(spec: Any) -> dict[str, str]:
    """Problems with one field definition, keyed by the attribute at fault."""
    if not isinstance(spec, dict):
        return {"": "must be a mapping with at least name and type"}
    errors: dict[str, str] = {}
    for key in sorted(map(str, set(spec) - SPEC_KEYS)):
        errors[key] = f"unknown attribute; allowed: {', '.join(sorted(SPEC_KEYS))}"
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}", name):
        errors["name"] = "must be an identifier such as policy_number"
    if spec.get("type", FieldType.STRING) not in FieldType.values:
        errors["type"] = f"must be one of {', '.join(FieldType.values)}"
    if "required" in spec and not isinstance(spec["required"], bool):
        errors["required"] = "must be true or false"
    threshold = spec.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        errors["threshold"] = "must be a number between 0 and 1"
    enum = spec.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum):
        errors["enum"] = "must be a non-empty list of allowed values"
    pattern = spec.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            errors["pattern"] = f"is not a valid regular expression ({exc})"
    return errors


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _parse_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_TYPE_CHECKS = {
    FieldType.STRING: (lambda v: isinstance(v, str), "a string"),
    FieldType.NUMBER: (_is_number, "a number"),
    FieldType.INTEGER: (lambda v: _is_number(v) and float(v).is_integer(), "a whole number"),
    FieldType.BOOLEAN: (lambda v: isinstance(v, bool), "true or false"),
    FieldType.DATE: (lambda v: isinstance(v, str) and _parse_date(v), "a date as YYYY-MM-DD"),
    FieldType.DATETIME: (
        lambda v: isinstance(v, str) and _parse_datetime(v),
        "a date and time in ISO 8601 (2024-05-01T14:30:00Z)",
    ),
}


def value_error(spec: dict, value: Any) -> str | None:
    """Why value does not fit spec, as a phrase ("must be a date as YYYY-MM-DD"), or None."""
    if value is None:
        return None  # absence is judged by `required`, not by the type
    check, described = _TYPE_CHECKS[FieldType(spec.get("type", FieldType.STRING))]
    if not check(value):
        return f"must be {described}, got {value!r}"
    enum = spec.get("enum")
    if enum is not None and value not in enum:
        return f"must be one of {', '.join(map(str, enum))}, got {value!r}"
    pattern = spec.get("pattern")
    if pattern is not None and isinstance(value, str) and not re.fullmatch(pattern, value):
        return f"must match the pattern {pattern}, got {value!r}"
    return None
