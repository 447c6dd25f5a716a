"""The agent-facing ingest API."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.api import error_summary, validation_error_response
from agents.payload import parse_item
from agents.permissions import IsAgent
from agents.serializers import ItemInSerializer, ReasonOutSerializer
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
        [result] = items_ingest(agent=request.user.agent, payloads=[payload])
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
                items_ingest(agent=request.user.agent, payloads=[payload for _, payload in valid]),
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
