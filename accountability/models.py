"""The audit trail: one append-only row per change of state, written by services only.

Events form a hash chain: each carries its position (`seq`), the previous event's hash and a
SHA-256 over its own content and that previous hash (see accountability.audit). Changing,
removing or reordering any event breaks every later link; `manage.py verify_audit` finds the
first broken one, and checkpoints kept outside the database also catch the newest events being
cut off. On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on the table.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64  # the "previous hash" of the first event


class AuditEvent(models.Model):
    class ActorType(models.TextChoices):
        USER = "user"
        AGENT = "agent"
        SYSTEM = "system"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=80, db_index=True)  # dotted: review.item.claimed
    actor_type = models.CharField(max_length=8, choices=ActorType)
    actor_id = models.BigIntegerField(null=True, blank=True)
    # A snapshot of the actor's name, so deleting a user or agent erases no attribution.
    actor_label = models.CharField(max_length=200)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    seq = models.PositiveBigIntegerField(unique=True)  # 1, 2, 3... with no gaps
    # Unique: two writers linking to the same event (a fork) cannot both be stored.
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id", "id"], name="audit_target")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class AuditHead(models.Model):
    """The chain's newest link. Appending locks this one row, so concurrent writers queue up
    and each links to the event committed before it: no forks, no lost links."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head at {self.seq}"


class Session(AbstractBaseSession):
    """A signed-in session, with the person it signs in: every request reads the two together in
    one round trip (accountability.auth), and deleting the account ends its sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    @classmethod
    def get_session_store_class(cls) -> type:
        from accountability.auth import SessionStore

        return SessionStore
