"""The feedback API: pages of records, streamed exports, and the documents records point at."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.api import validation_error_response
from agents.feedback import export, selectors
from agents.feedback.forms import (
    LIMIT_DEFAULT,
    LIMIT_MAX,
    FeedbackExportForm,
    FeedbackFilterForm,
    FeedbackPageForm,
    cursor_encode,
)
from agents.feedback.selectors import Scope
from review.models import Document, ItemDocument

NOT_ALLOWED = "Feedback is for agents (their own items), queue leads, agent owners and staff."


class FormatIsNotARenderer(DefaultContentNegotiation):
    """Here `?format=` names an export format, not one of DRF's renderers (DRF would answer an
    unknown one with 404): errors and pages are always JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def scope_of(request: Request) -> Scope:
    scope = selectors.feedback_scope(request.user)
    if scope is None:
        raise PermissionDenied(NOT_ALLOWED)
    return scope


def invalid(form: FeedbackFilterForm, query: Any) -> Response | None:
    """A 400 naming every bad or unknown parameter (a mistyped filter must not export all).
    Reading form.errors validates the form."""
    errors = {name: list(messages) for name, messages in form.errors.items()}
    for name in query:
        if name not in form.fields:
            errors[name] = [f"unknown parameter; use {', '.join(form.fields)}"]
    return validation_error_response(errors) if errors else None


FILTERS = [
    OpenApiParameter("queue", str, description="A queue's slug."),
    OpenApiParameter("agent", int, description="An agent's id."),
    OpenApiParameter("agent_version", str),
    OpenApiParameter(
        "since",
        OpenApiTypes.DATETIME,
        description="Decided at or after (ISO 8601; UTC if no offset; a + in a URL is %2B).",
    ),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Decided before (ISO 8601)."),
    OpenApiParameter(
        "verdict",
        str,
        enum=["correct", "corrected", "undeterminable"],
        description="Items with at least one field of this verdict.",
    ),
    OpenApiParameter("decision", str, enum=["approved", "rejected", "auto_accepted"]),
]


class FeedbackListApi(APIView):
    content_negotiation_class = FormatIsNotARenderer

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter(
                "limit", int, description=f"1..{LIMIT_MAX}, {LIMIT_DEFAULT} if absent."
            ),
            OpenApiParameter("cursor", str, description="From `next` or `cursor` of a page."),
        ],
        responses={
            200: OpenApiResponse(
                description='{"results": [record, ...], "next": URL or null, "cursor": str}'
            )
        },
        summary="Labeled feedback: decided items, oldest decision first, a page at a time",
    )
    def get(self, request: Request) -> HttpResponse:
        scope = scope_of(request)
        form = FeedbackPageForm(request.query_params, scope=scope)
        if refused := invalid(form, request.query_params):
            return refused
        filters = form.filters()
        page = export.read_page(
            principal=request.user,
            items=selectors.feedback_items(scope, filters),
            filters=filters,
            after=form.cleaned_data["cursor"],
            limit=form.cleaned_data["limit"],
            records=export.ItemRecords(export.document_url_maker(request)),
        )
        cursor = cursor_encode(page.last) if page.last else None
        body = {
            "results": page.records,
            "next": _next_url(request, cursor) if page.more else None,
            # Where to continue later, even after the last page: later decisions come after it.
            "cursor": cursor,
        }
        return HttpResponse(export.dumps_line(body), content_type="application/json")


def _next_url(request: Request, cursor: str) -> str:
    query = request.query_params.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class FeedbackExportApi(APIView):
    content_negotiation_class = FormatIsNotARenderer

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter(
                "format", str, enum=list(export.FORMATS), description="jsonl if absent."
            ),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="JSON lines, streamed."
            ),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One row per field, streamed."
            ),
        },
        summary="Download all matching labeled feedback as one streamed file",
    )
    def get(self, request: Request) -> HttpResponse:
        scope = scope_of(request)
        query = request.query_params.copy()
        query.setdefault("format", "jsonl")
        form = FeedbackExportForm(query, scope=scope, formats=list(export.FORMATS))
        if refused := invalid(form, query):
            return refused
        filters = form.filters()
        return export.download(
            request,
            principal=request.user,
            items=selectors.feedback_items(scope, filters),
            fmt=export.FORMATS[form.cleaned_data["format"]],
            filters=filters,
        )


class FeedbackDocumentApi(APIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The document's bytes, as an attachment."
            )
        },
        summary="A source document of an item in your feedback: the original file, or its text",
    )
    def get(self, request: Request, document_id: int) -> HttpResponse:
        scope = scope_of(request)
        used = ItemDocument.objects.filter(document_id=document_id, item__in=scope.items)
        document = get_object_or_404(
            Document.objects.filter(pk__in=used.values("document_id")), pk=document_id
        )
        if document.file:
            response: HttpResponse = FileResponse(
                document.file.open("rb"),
                as_attachment=True,
                filename=document.filename or f"document-{document.pk}",
                content_type=document.content_type,
            )
        else:
            response = HttpResponse(document.text, content_type="text/plain; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="document-{document.pk}.txt"'
        # Agents' files (HTML, e-mail) must never run as a page of this site.
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        return response
