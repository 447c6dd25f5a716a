"""The agent owner's webhook API: settings, secret rotation, deliveries, redelivery.

For the agent's owner (session or personal token) and staff; everyone else gets 404, agent
tokens 403. Input errors are 400s naming the field (accountability.api).
"""

from __future__ import annotations

import json

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.audit import Actor
from agents.models import Agent, WebhookDelivery, WebhookEndpoint, WebhookEvent
from agents.permissions import IsPerson
from agents.webhooks import selectors, services


class EndpointSerializer(serializers.Serializer):
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    enabled = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(help_text="Why it is disabled: by whom, or a 410.")
    secret_hint = serializers.SerializerMethodField(help_text="The secret's first characters.")
    previous_secret_valid_until = serializers.DateTimeField(
        source="previous_secret_expires_at", allow_null=True
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_secret_hint(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.secret[:10] + "…"


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField()
    error = serializers.CharField()
    manual = serializers.BooleanField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook_id = serializers.CharField()
    event_type = serializers.CharField()
    item_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    payload = serializers.SerializerMethodField()
    attempts = AttemptSerializer(many=True, source="attempts.all")

    def get_payload(self, delivery: WebhookDelivery) -> dict:
        return json.loads(delivery.body)


def _agent(request: Request, agent_id: int) -> Agent:
    return get_object_or_404(selectors.agents_managed_by(request.user), pk=agent_id)


class AgentWebhookApi(APIView):
    permission_classes = [IsPerson]

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=2000)
        events = serializers.ListField(
            child=serializers.CharField(), default=lambda: list(WebhookEvent.values)
        )
        enabled = serializers.BooleanField(default=True)

    @extend_schema(
        responses={200: EndpointSerializer, 404: OpenApiResponse(description="No webhook yet.")},
        summary="The agent's webhook settings",
    )
    def get(self, request: Request, agent_id: int) -> Response:
        endpoint = selectors.webhook_endpoint_for(_agent(request, agent_id))
        if endpoint is None:
            raise NotFound("This agent has no webhook yet; PUT one.")
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: EndpointSerializer,
            201: OpenApiResponse(
                EndpointSerializer, description="Created; the body also has `secret`, once."
            ),
            400: OpenApiResponse(description="`errors` names the bad field."),
        },
        summary="Set the agent's webhook URL, events and whether it is enabled",
    )
    def put(self, request: Request, agent_id: int) -> Response:
        agent = _agent(request, agent_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_save(
            agent=agent, actor=Actor.user(request.user), **data.validated_data
        )
        body = EndpointSerializer(endpoint).data
        if secret is None:
            return Response(body)
        return Response({**body, "secret": secret}, status=201)


class AgentWebhookSecretApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        request=None,
        responses=EndpointSerializer,
        summary="Rotate the webhook secret; the new one is in `secret`, shown this once",
    )
    def post(self, request: Request, agent_id: int) -> Response:
        agent = _agent(request, agent_id)
        endpoint, secret = services.webhook_secret_rotate(
            agent=agent, actor=Actor.user(request.user)
        )
        return Response({**EndpointSerializer(endpoint).data, "secret": secret})


class DeliveryPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class AgentWebhookDeliveriesApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        responses=DeliverySerializer(many=True),
        summary="The agent's webhook deliveries, newest first, with every attempt",
    )
    def get(self, request: Request, agent_id: int) -> Response:
        deliveries = selectors.webhook_deliveries_for(_agent(request, agent_id))
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


class WebhookDeliveryRedeliverApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        request=None,
        responses={
            202: DeliverySerializer,
            409: OpenApiResponse(description="The webhook is disabled."),
        },
        summary="Send a delivery again now, under the same webhook-id",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = selectors.webhook_delivery_managed_by(request.user, delivery_id)
        if delivery is None:
            raise NotFound()
        services.webhook_delivery_redeliver(delivery=delivery, actor=Actor.user(request.user))
        # As it stands after the attempt when tasks run in process, else as queued.
        delivery = selectors.webhook_deliveries_for(delivery.endpoint.agent).get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=202)


urlpatterns = [
    path("agents/<int:agent_id>/webhook", AgentWebhookApi.as_view(), name="agent-webhook"),
    path(
        "agents/<int:agent_id>/webhook/secret",
        AgentWebhookSecretApi.as_view(),
        name="agent-webhook-secret",
    ),
    path(
        "agents/<int:agent_id>/webhook/deliveries",
        AgentWebhookDeliveriesApi.as_view(),
        name="agent-webhook-deliveries",
    ),
    path(
        "webhook-deliveries/<int:delivery_id>/redeliver",
        WebhookDeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
