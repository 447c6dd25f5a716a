"""Request ids for tracing, and the API body limit."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    """Take the caller's X-Request-ID (agents pass their trace id) or make one; echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")[:64]
        request_id = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ApiBodyLimitMiddleware:
    """Refuse oversized API bodies with a clear 413 before anything parses them.

    DRF reads the stream itself and would bypass DATA_UPLOAD_MAX_MEMORY_SIZE, so the limit is
    enforced here from Content-Length.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            limit = _body_limit(request.path)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
            if length > limit:
                return JsonResponse(
                    {"detail": f"Request body is {length} bytes; the limit is {limit} bytes."},
                    status=413,
                )
        return self.get_response(request)


def _body_limit(path: str) -> int:
    """A document upload may carry a whole document, base64 in JSON: 4/3 of it, plus the rest."""
    if path == _document_upload_path():
        upload = settings.DOCUMENT_MAX_BYTES * 4 // 3 + 64 * 1024
        return max(settings.API_MAX_BODY_BYTES, upload)
    return settings.API_MAX_BODY_BYTES


@functools.cache
def _document_upload_path() -> str:
    return reverse("api:document-upload")
