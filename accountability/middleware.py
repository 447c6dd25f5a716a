"""Request ids for tracing, the API body limit, and the NUL character refused."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from accountability.nul import NUL_MESSAGE, nul_errors

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


class NulCharacterMiddleware:
    """The NUL character (accountability.nul) in a request's address is refused with a 400 naming
    the parameter, before the view reads it (a queue filter looked up by it failed with a 500).
    Bodies are checked where they are read, naming the input; should a value get past them, the
    write's failure is answered as the 400 it is, its transaction rolled back, not as a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable, args: object, kwargs: object
    ) -> HttpResponse | None:
        query = request.META.get("QUERY_STRING", "")
        if ("%00" in query or "\x00" in query) and (errors := nul_errors(request.GET)):
            return _refusal(request, errors)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError) and _NUL_FAILURE.search(str(exception)):
            return _refusal(request, {"body": [f"some value {NUL_MESSAGE}"]})
        return None


# What PostgreSQL says of the NUL character in a text value, and in a JSON one.
_NUL_FAILURE = re.compile(r"cannot contain NUL|unsupported Unicode escape sequence")


def _refusal(request: HttpRequest, errors: dict[str, list[str]]) -> HttpResponse:
    detail = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "errors": errors}, status=400)
    return render(request, "bad_request.html", {"errors": errors}, status=400)
