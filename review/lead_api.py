"""The lead's API: reassign, send back, override, and the stop switch. The same services as the
item page's forms, so the rules, the reasons required and the audit events are the same."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.audit import Actor
from agents.models import Agent
from agents.permissions import IsPerson
from review import selectors, services
from review.api import ItemDecisionApi, ItemSerializer, item_data
from review.models import Item, Queue, Review

User = get_user_model()


def _led_item(request: Request, item_id: int) -> Item:
    """Items of queues the person leads; anything else is 404, as if it did not exist."""
    return get_object_or_404(
        selectors.items_led_by(request.user).select_related("queue"), pk=item_id
    )


def _item_response(item_id: int) -> Response:
    return Response(item_data(item_id))


class ItemReassignApi(APIView):
    permission_classes = [IsPerson]

    class InputSerializer(serializers.Serializer):
        to_reviewer = serializers.CharField(
            max_length=150, help_text="Username of a reviewer of the item's queue."
        )
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=InputSerializer, responses=ItemSerializer, summary="Reassign (lead)")
    def post(self, request: Request, item_id: int) -> Response:
        item = _led_item(request, item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["to_reviewer"]
        to = User.objects.filter(username=username).first()
        if to is None:
            raise serializers.ValidationError({"to_reviewer": [f"no user {username!r}"]})
        services.item_reassign(
            item=item, to_reviewer=to, lead=request.user, reason=data.validated_data["reason"]
        )
        return _item_response(item.pk)


class ItemSendBackApi(APIView):
    permission_classes = [IsPerson]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        request=InputSerializer, responses=ItemSerializer, summary="Send back for rework (lead)"
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _led_item(request, item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.item_send_back(item=item, lead=request.user, reason=data.validated_data["reason"])
        return _item_response(item.pk)


class ItemOverrideApi(APIView):
    permission_classes = [IsPerson]

    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(
            choices=[Review.Decision.APPROVE, Review.Decision.REJECT]
        )
        fields = serializers.ListField(
            required=False, default=list, help_text="Verdicts on the fields to change only."
        )
        reason = serializers.CharField(max_length=2000)

        def validate_fields(self, value: list[dict]) -> list[dict]:
            return ItemDecisionApi.InputSerializer.validate_fields(self, value)

    @extend_schema(
        request=InputSerializer,
        responses=ItemSerializer,
        summary="Override a decided item's outcome (lead); the agent is told by webhook",
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = _led_item(request, item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.item_override(
            item=item,
            lead=request.user,
            decision=values["decision"],
            fields=[services.FieldVerdictIn(**entry) for entry in values["fields"]],
            reason=values["reason"],
        )
        return _item_response(item.pk)


class AutomationSwitchSerializer(serializers.Serializer):
    stopped = serializers.BooleanField(help_text="true: every output goes to a person.")
    reason = serializers.CharField(max_length=2000)


class AutomationStateSerializer(serializers.Serializer):
    automation_stopped = serializers.BooleanField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(help_text="Why it is stopped; blank while running.")


def _switch(request: Request, target: Queue | Agent) -> Response:
    data = AutomationSwitchSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    switch = (
        services.automation_stop if data.validated_data["stopped"] else services.automation_resume
    )
    switch(target=target, actor=Actor.user(request.user), reason=data.validated_data["reason"])
    return Response(
        {
            "automation_stopped": target.automation_stopped_at is not None,
            "stopped_at": target.automation_stopped_at,
            "reason": target.automation_stop_reason,
        }
    )


class QueueAutomationApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        request=AutomationSwitchSerializer,
        responses=AutomationStateSerializer,
        summary="Stop or resume a queue's automation",
    )
    def post(self, request: Request, slug: str) -> Response:
        return _switch(request, get_object_or_404(Queue.objects.led_by(request.user), slug=slug))


class AgentAutomationApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        request=AutomationSwitchSerializer,
        responses=AutomationStateSerializer,
        summary="Stop or resume an agent's automation",
    )
    def post(self, request: Request, agent_id: int) -> Response:
        # Its owner, a lead of one of its queues, or an administrator may pull the switch.
        user = request.user
        agents = Agent.objects.all() if user.is_superuser else Agent.objects.filter(
            Q(owner=user) | Q(queues__leads=user)
        ).distinct()  # fmt: skip
        return _switch(request, get_object_or_404(agents, pk=agent_id))
