"""The agent-facing ingest API."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import IO, Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.api import error_summary, validation_error_response
from accountability.audit import Actor
from agents.payload import parse_item
from agents.permissions import IsAgent
from agents.serializers import ItemInSerializer, ReasonOutSerializer
from review.documents.intake import DocumentTooLarge, UnsupportedDocument, document_store
from review.models import Document
from review.services import IngestOutcome, IngestResult, items_ingest

STATUS_CODES = {
    IngestOutcome.CREATED: 201,
    IngestOutcome.REPLAYED: 200,
    IngestOutcome.CONFLICT: 409,
    IngestOutcome.INVALID: 400,
    IngestOutcome.FORBIDDEN: 403,
    IngestOutcome.TOO_LARGE: 413,
    IngestOutcome.UNSUPPORTED: 415,
}

ItemResultSerializer = inline_serializer(
    "IngestResult",
    {
        "id": serializers.IntegerField(),
        "external_id": serializers.CharField(),
        "status": serializers.ChoiceField(
            choices=["assessing", "auto_accepted", "pending_review", "approved", "rejected"],
            help_text="assessing: waits for its files to be processed, then is routed.",
        ),
        "reasons": ReasonOutSerializer(many=True),
        "url": serializers.URLField(),
    },
)


def item_url_maker(request: Request) -> Callable[[int], str]:
    """Absolute item URLs without a reverse() per item: a 500-item batch would spend 10 ms on it."""
    marker = "987654321987654321"
    template = request.build_absolute_uri(reverse("api:item-detail", args=[int(marker)]))
    prefix, suffix = template.split(marker)
    return lambda pk: f"{prefix}{pk}{suffix}"


def result_body(result: IngestResult, item_url: Callable[[int], str]) -> dict:
    """The JSON body for one ingest result (also one entry of a batch answer)."""
    if result.outcome in (IngestOutcome.CREATED, IngestOutcome.REPLAYED):
        item = result.item
        return {
            "id": item.pk,
            "external_id": item.external_id,
            "status": item.status,
            "reasons": [
                {
                    "code": r.code,
                    "field": r.field_name,
                    "message": r.message,
                    "blocking": r.blocking,
                }
                for r in result.reasons
            ],
            "url": item_url(item.pk),
        }
    if result.outcome == IngestOutcome.INVALID:
        return {"detail": error_summary(result.errors), "errors": result.errors}
    body: dict = {"detail": result.message}
    if result.outcome == IngestOutcome.CONFLICT:
        body["id"] = result.item.pk
    return body


class ItemSubmitApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=ItemInSerializer,
        responses={
            201: ItemResultSerializer,
            200: OpenApiResponse(
                ItemResultSerializer, description="A repeat of an earlier request."
            ),
            400: OpenApiResponse(
                description="Malformed: `errors` maps each bad part's path to messages."
            ),
            403: OpenApiResponse(description="The agent may not post to this queue."),
            409: OpenApiResponse(description="external_id already used with a different payload."),
            413: OpenApiResponse(description="Body too large."),
        },
        summary="Submit one agent output for assessment and, if needed, human review",
    )
    def post(self, request: Request) -> Response:
        payload, errors = parse_item(request.data)
        if errors:
            return validation_error_response(errors)
        [result] = items_ingest(
            agent=request.user.agent, payloads=[payload], postable=request.user.queues
        )
        body = result_body(result, item_url_maker(request))
        return Response(body, status=STATUS_CODES[result.outcome])


class ItemBatchSubmitApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=inline_serializer("IngestBatch", {"items": ItemInSerializer(many=True)}),
        responses={
            200: inline_serializer(
                "IngestBatchResult",
                {
                    "results": inline_serializer(
                        "IngestBatchEntry",
                        {
                            "index": serializers.IntegerField(),
                            "status_code": serializers.IntegerField(
                                help_text="What the single endpoint answers."
                            ),
                            "id": serializers.IntegerField(required=False),
                            "status": serializers.CharField(required=False),
                            "detail": serializers.CharField(required=False),
                        },
                        many=True,
                    )
                },
            )
        },
        summary="Submit up to INGEST_BATCH_MAX_ITEMS outputs; each succeeds or fails on its own",
    )
    def post(self, request: Request) -> Response:
        data = request.data
        limit = settings.INGEST_BATCH_MAX_ITEMS
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return validation_error_response({"items": ["must be a list of items"]})
        if not 1 <= len(data["items"]) <= limit:
            return validation_error_response(
                {"items": [f"must hold 1 to {limit} items (got {len(data['items'])})"]}
            )
        parsed = [parse_item(raw) for raw in data["items"]]
        valid = [(index, payload) for index, (payload, errors) in enumerate(parsed) if not errors]
        ingested = dict(
            zip(
                [index for index, _ in valid],
                items_ingest(
                    agent=request.user.agent,
                    payloads=[payload for _, payload in valid],
                    postable=request.user.queues,
                ),
                strict=True,
            )
        )
        results = []
        item_url = item_url_maker(request)
        for index, (_, errors) in enumerate(parsed):
            if errors:
                results.append(
                    {
                        "index": index,
                        "status_code": 400,
                        "detail": error_summary(errors),
                        "errors": errors,
                    }
                )
            else:
                result = ingested[index]
                entry = {"index": index, "status_code": STATUS_CODES[result.outcome]}
                entry.update(result_body(result, item_url))
                results.append(entry)
        return Response({"results": results})


class DocumentOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField(help_text="Sniffed from the content.")
    status = serializers.ChoiceField(choices=Document.Status.choices)
    page_count = serializers.IntegerField()
    flags = serializers.ListField(
        child=serializers.CharField(),
        help_text="encrypted, corrupt, no_text_layer, truncated: shown to reviewers as notices.",
    )


class StreamJSONParser(BaseParser):
    """JSON read from the request stream rather than request.body.

    DRF hands JSONParser request.body, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE
    (= API_MAX_BODY_BYTES); a base64 document may be larger by design, and
    ApiBodyLimitMiddleware has already checked its Content-Length against the upload limit.
    """

    media_type = "application/json"

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        try:
            return json.load(stream)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class DocumentUploadApi(APIView):
    permission_classes = [IsAgent]
    parser_classes = [MultiPartParser, StreamJSONParser]

    class JsonInSerializer(serializers.Serializer):
        filename = serializers.CharField(required=False, allow_blank=True)
        content_base64 = serializers.CharField(help_text="The file's bytes, base64-encoded.")

    class MultipartInSerializer(serializers.Serializer):
        file = serializers.FileField()
        filename = serializers.CharField(
            required=False, help_text="Defaults to the file part's name; display only."
        )

    @extend_schema(
        request={
            "multipart/form-data": MultipartInSerializer,
            "application/json": JsonInSerializer,
        },
        responses={
            201: DocumentOutSerializer,
            200: OpenApiResponse(
                DocumentOutSerializer, description="These bytes were stored before."
            ),
            400: OpenApiResponse(description="No file part, or content_base64 is not base64."),
            413: OpenApiResponse(description="Over DOCUMENT_MAX_BYTES or DOCUMENT_MAX_PAGES."),
            415: OpenApiResponse(description="Not PDF, PNG, JPEG, TIFF, HTML, e-mail or text."),
        },
        summary="Upload a source document (stored once per content) to refer to from items",
    )
    def post(self, request: Request) -> Response:
        data, filename, errors = _upload_content(request)
        if errors:
            return validation_error_response(errors)
        agent = request.user.agent
        try:
            document, created = document_store(
                data=data, filename=filename, agent=agent, actor=Actor.agent(agent)
            )
        except DocumentTooLarge as exc:
            return Response({"detail": exc.message}, status=413)
        except UnsupportedDocument as exc:
            return Response({"detail": exc.message}, status=415)
        document.refresh_from_db()  # processing may have run on commit (eager Celery)
        return Response(DocumentOutSerializer(document).data, status=201 if created else 200)


def _upload_content(request: Request) -> tuple[bytes, str, dict[str, list[str]]]:
    """(bytes, filename, errors) from a multipart `file` part or JSON `content_base64`."""
    if not isinstance(request.data, dict):  # a QueryDict for multipart, a dict for JSON
        return b"", "", {"body": ["must be multipart/form-data or a JSON object"]}
    upload = request.FILES.get("file")
    filename = request.data.get("filename") or ""
    if not isinstance(filename, str):
        return b"", "", {"filename": ["must be a string"]}
    if upload is not None:
        return upload.read(), filename or upload.name or "", {}
    encoded = request.data.get("content_base64")
    if not isinstance(encoded, str):
        return b"", "", {"file": ["send a multipart `file` part, or JSON with content_base64"]}
    try:
        # Line breaks are allowed: common encoders wrap base64 at 76 characters.
        return base64.b64decode("".join(encoded.split()), validate=True), filename, {}
    except binascii.Error:
        return b"", "", {"content_base64": ["is not valid base64"]}


class DocumentDetailSerializer(DocumentOutSerializer):
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField()
    error = serializers.CharField(help_text="Why processing failed, or what a reviewer is told.")
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)


class DocumentDetailApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        responses={200: DocumentDetailSerializer, 404: OpenApiResponse(description="Not yours.")},
        summary="A document this agent uploaded: processing status, flags and pages",
    )
    def get(self, request: Request, document_id: int) -> Response:
        # Only documents the agent sent itself: sharing a sha256 must not reveal others' files.
        document = get_object_or_404(request.user.agent.documents.all(), pk=document_id)
        return Response(DocumentDetailSerializer(document).data)
