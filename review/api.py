"""Read endpoints for agents and people, and the reviewer API (claim, release, decide)."""

from __future__ import annotations

import uuid

from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability import db
from agents.authentication import AgentPrincipal
from agents.models import Agent
from agents.permissions import IsPerson
from review import selectors, services
from review.models import (
    CorrectionReason,
    Document,
    Item,
    ItemDocument,
    ItemField,
    Lease,
    Queue,
    Reason,
    Review,
    Verdict,
)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    field = serializers.CharField(source="field_name")
    message = serializers.CharField()
    blocking = serializers.BooleanField()


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()
    confidence = serializers.FloatField(allow_null=True)
    evidence = serializers.JSONField()
    alternatives = serializers.JSONField()
    rationale = serializers.CharField()
    verdict = serializers.CharField(help_text="Blank until decided.")
    final_value = serializers.JSONField(
        help_text="The value after review (null if not determinable)."
    )


class DocumentSerializer(serializers.Serializer):
    key = serializers.CharField()
    content_type = serializers.CharField(source="document.content_type")
    sha256 = serializers.CharField(source="document.sha256")
    text = serializers.CharField(source="document.text")


class DecisionSerializer(serializers.Serializer):
    decision = serializers.CharField()
    reason = serializers.CharField()
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()
    queue = serializers.CharField(source="queue.slug")
    agent = serializers.CharField(source="agent.slug")
    agent_version = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    rationale = serializers.CharField()
    metadata = serializers.JSONField()
    reasons = ReasonSerializer(many=True)
    fields = FieldSerializer(many=True)
    documents = DocumentSerializer(many=True, source="item_documents")
    decision = serializers.SerializerMethodField()

    # An item waiting for review may be waiting for its blind second review, or for rework:
    # whoever claims it must not see what the first reviewer decided. Blank until decided.
    WAITING = frozenset({Item.Status.ASSESSING, Item.Status.PENDING})

    def get_decision(self, item: Item) -> dict | None:
        if item.status in self.WAITING:
            return None
        latest = item.reviews.order_by("-decided_at", "-id").first()
        return DecisionSerializer(latest).data if latest else None

    def to_representation(self, item: Item) -> dict:
        data = super().to_representation(item)
        if item.status in self.WAITING:
            for field in data["fields"]:
                field["verdict"], field["final_value"] = "", None
        return data


def item_data(item_id: int) -> dict:
    """ItemSerializer's answer for an item, read in one statement on PostgreSQL.

    The reviewer's hot path (every claim and every decision answers with the item) spent more
    on four queries and the serializer's field machinery than on the claim itself. PostgreSQL
    aggregates the fields, reasons and documents into JSON in the same statement that reads
    the item; Python formats the rest exactly as ItemSerializer does (a test compares both).
    Elsewhere, and for the schema, ItemSerializer itself.
    """
    if connection.vendor != "postgresql":
        return ItemSerializer(selectors.item_for_api(Item.objects.filter(pk=item_id)).get()).data
    with connection.cursor() as cursor:
        cursor.execute(*item_statement(item_id))
        row = cursor.fetchone()
    if row is None:
        raise Item.DoesNotExist(item_id)
    return _item_answer(row)


def item_statement(item_id: int) -> db.Statement:
    """item_data's statement (PostgreSQL), for db.reads_at_commit."""
    return _ITEM_SQL, {"item": item_id}


def leased_item_statement(token: uuid.UUID) -> db.Statement:
    """item_data's statement for the item of the lease with this token (PostgreSQL)."""
    return _LEASED_ITEM_SQL, {"token": token}


def item_answer(reads: db.Reads, item_id: int) -> dict:
    """item_data, from the rows of item_statement (or leased_item_statement) when they came
    with the commit; read now when they did not."""
    if reads.rows and reads.rows[0]:
        return _item_answer(reads.rows[0][0])
    return item_data(item_id)


def _item_answer(row: tuple) -> dict:
    (pk, external_id, queue, agent, agent_version, status, priority, due_at, created_at,
     decided_at, confidence, rationale, metadata, reasons, fields, documents,
     decision, reason, comment, review_decided_at) = row  # fmt: skip
    waiting = status in ItemSerializer.WAITING
    if waiting:
        for field in fields:
            field["verdict"], field["final_value"] = "", None
    return {
        "id": pk,
        "external_id": external_id,
        "queue": queue,
        "agent": agent,
        "agent_version": agent_version,
        "status": status,
        "priority": priority,
        "due_at": _DATETIME.to_representation(due_at),
        "created_at": _DATETIME.to_representation(created_at),
        "decided_at": decided_at and _DATETIME.to_representation(decided_at),
        "confidence": confidence,
        "rationale": rationale,
        "metadata": metadata,
        "reasons": reasons,
        "fields": fields,
        "documents": documents,
        "decision": None
        if waiting or decision is None
        else {
            "decision": decision,
            "reason": reason,
            "comment": comment,
            "decided_at": _DATETIME.to_representation(review_decided_at),
        },
    }


_DATETIME = serializers.DateTimeField()
# Children in the order their models' Meta.ordering gives (what prefetch_related reads).
# metadata::json: Django reads jsonb as text for JSONField to decode; psycopg parses json.
_ITEM_SELECT = f"""
SELECT i.id, i.external_id, q.slug, a.slug, i.agent_version, i.status, i.priority, i.due_at,
       i.created_at, i.decided_at, i.confidence, i.rationale, i.metadata::json,
       (SELECT COALESCE(json_agg(json_build_object('code', r.code, 'field', r.field_name,
                        'message', r.message, 'blocking', r.blocking) ORDER BY r.id), '[]')
          FROM {Reason._meta.db_table} r WHERE r.item_id = i.id),
       (SELECT COALESCE(json_agg(json_build_object('name', f.name, 'value', f.value,
                        'confidence', f.confidence, 'evidence', f.evidence,
                        'alternatives', f.alternatives, 'rationale', f.rationale,
                        'verdict', f.verdict, 'final_value', f.final_value)
                        ORDER BY f.position), '[]')
          FROM {ItemField._meta.db_table} f WHERE f.item_id = i.id),
       (SELECT COALESCE(json_agg(json_build_object('key', d.key, 'content_type', doc.content_type,
                        'sha256', doc.sha256, 'text', doc.text) ORDER BY d.position), '[]')
          FROM {ItemDocument._meta.db_table} d
          JOIN {Document._meta.db_table} doc ON doc.id = d.document_id
         WHERE d.item_id = i.id),
       latest.decision, latest.reason, latest.comment, latest.decided_at
  FROM {Item._meta.db_table} i
  JOIN {Queue._meta.db_table} q ON q.id = i.queue_id
  JOIN {Agent._meta.db_table} a ON a.id = i.agent_id
  LEFT JOIN LATERAL (
       SELECT decision, reason, comment, decided_at FROM {Review._meta.db_table}
        WHERE item_id = i.id ORDER BY decided_at DESC, id DESC LIMIT 1) latest ON TRUE
"""  # noqa: S608 (table names only)
_ITEM_SQL = _ITEM_SELECT + " WHERE i.id = %(item)s"
_LEASED_ITEM_SQL = (
    _ITEM_SELECT
    + f" WHERE i.id = (SELECT item_id FROM {Lease._meta.db_table} WHERE token = %(token)s)"  # noqa: S608
)


def lease_data(lease: Lease, item: dict | None = None) -> dict:
    """LeaseSerializer's answer, without its field machinery (every claim answers with it).
    item: the leased item's item_data, when read already."""
    return {
        "token": str(lease.token),
        "expires_at": _DATETIME.to_representation(lease.expires_at),
        "item": item or item_data(lease.item_id),
    }


class LeaseSerializer(serializers.Serializer):
    token = serializers.UUIDField()
    expires_at = serializers.DateTimeField()
    item = serializers.SerializerMethodField()

    @extend_schema_field(ItemSerializer)
    def get_item(self, lease: Lease) -> dict:
        return item_data(lease.item_id)


class QueueSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    fields = serializers.JSONField(source="field_schema")
    default_threshold = serializers.FloatField()
    sla_minutes = serializers.IntegerField()


class QueueListApi(APIView):
    @extend_schema(
        responses=QueueSerializer(many=True), summary="Queues this token or person may use"
    )
    def get(self, request: Request) -> Response:
        if isinstance(request.user, AgentPrincipal):
            queues = selectors.queues_for_agent(request.user.agent)
        else:
            queues = Queue.objects.visible_to(request.user)
        return Response(QueueSerializer(queues, many=True).data)


class ItemDetailApi(APIView):
    @extend_schema(
        responses=ItemSerializer, summary="An item: status, reasons, and once decided the verdicts"
    )
    def get(self, request: Request, item_id: int) -> Response:
        if isinstance(request.user, AgentPrincipal):
            items = selectors.items_of_agent(request.user.agent)
        else:
            items = selectors.items_visible_to_person(request.user)
        if not items.filter(pk=item_id).exists():
            raise Http404
        return Response(item_data(item_id))


class QueueClaimApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        request=None,
        responses={200: LeaseSerializer, 204: OpenApiResponse(description="Nothing is waiting.")},
        summary="Lease the next item of a queue",
    )
    def post(self, request: Request, slug: str) -> Response:
        # The item goes out with the claim's COMMIT (a round trip fewer), found by the new
        # lease's token; a lease the reviewer held already is read afterwards.
        token = uuid.uuid4()
        with db.reads_at_commit([leased_item_statement(token)]) as leased:
            queue, lease = services.lease_claim_next_in(
                slug=slug, reviewer=request.user, token=token
            )
        if queue is None:
            raise Http404
        if lease is None:
            return Response(status=204)
        fresh = lease.token == token
        response = Response(
            lease_data(lease, item_answer(leased, lease.item_id) if fresh else None)
        )
        response["Location"] = reverse("api:item-detail", args=[lease.item_id])
        return response


class ItemReleaseApi(APIView):
    permission_classes = [IsPerson]

    class InputSerializer(serializers.Serializer):
        lease = serializers.UUIDField()
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        request=InputSerializer, responses={200: ItemSerializer}, summary="Give an item back"
    )
    def post(self, request: Request, item_id: int) -> Response:
        get_object_or_404(selectors.items_visible_to_person(request.user), pk=item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lease_release(
            item_id=item_id,
            reviewer=request.user,
            lease_token=data.validated_data["lease"],
            reason=data.validated_data["reason"],
        )
        return Response(item_data(item_id))


class ItemDecisionApi(APIView):
    permission_classes = [IsPerson]

    class FieldVerdictSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        verdict = serializers.ChoiceField(choices=Verdict.choices)
        value = serializers.JSONField(required=False, allow_null=True)
        correction_reason = serializers.ChoiceField(
            choices=CorrectionReason.choices, required=False, help_text="Required with corrected."
        )
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    class InputSerializer(serializers.Serializer):
        lease = serializers.UUIDField()
        decision = serializers.ChoiceField(choices=Review.Decision.choices)
        fields = serializers.ListField(required=False, default=list)
        reason = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
        comment = serializers.CharField(
            max_length=10_000, required=False, allow_blank=True, default=""
        )
        active_seconds = serializers.FloatField(
            min_value=0,
            required=False,
            allow_null=True,
            help_text="Active seconds since the last heartbeat; omitted, the server estimates.",
        )

        def validate_fields(self, value: list[dict]) -> list[dict]:
            # Validated here rather than as a nested field so that "value" stays absent (not None)
            # when the client did not send it: absent means "no correction given". One shared
            # FieldVerdictSerializer validates each entry as many=True would (errors as a list, one
            # per entry): building and deep-copying a fresh one took 4 % of a claim-and-decide
            # cycle. run_validation keeps no state on the serializer.
            entries, errors = [], []
            for entry in value:
                try:
                    entries.append(dict(_FIELD_VERDICT.run_validation(entry)))
                    errors.append({})
                except serializers.ValidationError as exc:
                    errors.append(exc.detail)
            if any(errors):
                raise serializers.ValidationError(errors)
            return entries

    @extend_schema(
        request=InputSerializer, responses={200: ItemSerializer}, summary="Decide an item you hold"
    )
    def post(self, request: Request, item_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            # An item out of the person's queues is not found, whatever the body says.
            if not Queue.objects.holds_item(request.user, item_id):
                raise Http404
            raise serializers.ValidationError(data.errors)
        values = data.validated_data
        try:
            with db.reads_at_commit([item_statement(item_id)]) as decided:  # with the COMMIT
                services.item_decide(
                    item_id=item_id,
                    reviewer=request.user,
                    lease_token=values["lease"],
                    decision=values["decision"],
                    fields=[services.FieldVerdictIn(**entry) for entry in values["fields"]],
                    reason=values["reason"],
                    comment=values["comment"],
                    active_seconds=values.get("active_seconds"),
                    visible_to=request.user,  # checked in the decision's first round trip
                )
        except Item.DoesNotExist as exc:
            raise Http404 from exc
        return Response(item_answer(decided, item_id))


_FIELD_VERDICT = ItemDecisionApi.FieldVerdictSerializer()
