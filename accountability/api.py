"""Project-wide API error shape.

Every error is `{"detail": "<one readable sentence>", "errors": {"<path>": ["<message>"]}}` where
path names the bad part exactly as the client sent it: `fields[2].confidence`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class WorkflowError(Exception):
    """A workflow rule was broken (lease lost, item already decided). Safe to show; maps to 409."""

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into {"fields[2].confidence": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                path = prefix or "body"
            elif isinstance(key, int):  # DRF keys list entries by index in some errors
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub_path, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(entry, dict | list) for entry in detail):
            flat[prefix or "body"] = [str(entry) for entry in detail]
        else:
            for index, entry in enumerate(detail):
                if entry:  # DRF puts {} for the list entries that were fine
                    for sub_path, messages in flatten_errors(entry, f"{prefix}[{index}]").items():
                        flat.setdefault(sub_path, []).extend(messages)
    else:
        flat[prefix or "body"] = [str(detail)]
    return flat


def error_summary(errors: dict[str, list[str]]) -> str:
    """One sentence naming every bad part: `fields[2].confidence: must be between 0 and 1`."""
    return "; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items())


def validation_error_response(detail: Any) -> Response:
    errors = flatten_errors(detail)
    return Response(
        {"detail": error_summary(errors), "errors": errors}, status=status.HTTP_400_BAD_REQUEST
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, WorkflowError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
        )
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.ValidationError):
        return validation_error_response(exc.detail)
    return drf_exception_handler(exc, context)
