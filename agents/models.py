"""Agents (the programs whose outputs we review) and the API tokens of agents and people."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Agent(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    # The person accountable for what this agent does in production.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agents"
    )
    team = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    # The stop switch: while set, none of this agent's outputs is auto-accepted.
    automation_stopped_at = models.DateTimeField(null=True, blank=True)
    automation_stop_reason = models.TextField(blank=True)
    queues = models.ManyToManyField("review.Queue", blank=True, related_name="agents")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token, for an agent or for a person. Only its SHA-256 is stored.

    Tokens carry 256 bits of randomness, so a fast hash is safe: nobody can brute-force a preimage.
    """

    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(
        max_length=16, help_text="The first characters, to recognise a token."
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(agent__isnull=False, user__isnull=True)
                    | Q(agent__isnull=True, user__isnull=False)
                ),
                name="token_belongs_to_agent_xor_user",
            )
        ]

    def __str__(self) -> str:
        owner = f"agent {self.agent_id}" if self.agent_id else f"user {self.user_id}"
        return f"{self.prefix}… ({owner})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class WebhookEvent(models.TextChoices):
    ITEM_DECIDED = "item.decided", "An item was approved or rejected (by review or a lead)"
    ITEM_ESCALATED = "item.escalated", "An item was escalated to a lead"
    ITEM_AUTO_ACCEPTED = "item.auto_accepted", "An item was auto-accepted"


class WebhookEndpoint(models.Model):
    """Where an agent's decisions are sent (one endpoint per agent), signed with its secret."""

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=2000)
    # Kept readable: signing needs it. `whsec_` + base64 of 32 random bytes (Standard Webhooks).
    secret = models.CharField(max_length=100)
    # After a rotation the old secret signs too, until it expires, so receivers can switch over.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    events = models.JSONField(default=list)  # WebhookEvent values the owner subscribed to
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhook of agent {self.agent_id} -> {self.url}"


class WebhookDelivery(models.Model):
    """One event for one endpoint (the outbox row): written with the change it reports, then
    sent and retried under the same webhook-id until delivered or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    webhook_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40, choices=WebhookEvent)
    item = models.ForeignKey("review.Item", on_delete=models.CASCADE, related_name="+")
    # The exact body sent on every attempt (a JSONField could reorder keys between attempts).
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # While pending: when the next attempt is due (pushed ahead while an attempt is in flight).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A person asked for the next attempt (redelivery); retries after it stay in the window.
    manual = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt to deliver a webhook, kept for the owner to debug their receiver."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no response
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)  # at most 1 KB of the response body
    error = models.TextField(blank=True)  # blank when the receiver answered 2xx
    manual = models.BooleanField(default=False)  # asked for by a person (redelivery)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"attempt at {self.attempted_at} -> {self.status_code or self.error}"


from agents.calibration.models import Calibrator  # noqa: E402, F401 - registered with this app
