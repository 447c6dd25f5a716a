"""The audit trail: one append-only row per change of state, written by services only."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    class ActorType(models.TextChoices):
        USER = "user"
        AGENT = "agent"
        SYSTEM = "system"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=80, db_index=True)  # dotted: review.item.claimed
    actor_type = models.CharField(max_length=8, choices=ActorType)
    actor_id = models.BigIntegerField(null=True, blank=True)
    # A snapshot of the actor's name, so deleting a user or agent erases no attribution.
    actor_label = models.CharField(max_length=200)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id", "id"], name="audit_target")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"
