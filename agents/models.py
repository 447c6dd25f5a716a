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
