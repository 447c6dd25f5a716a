"""Writing the audit trail. Only services call these, inside the transaction they record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from accountability.middleware import current_request_id
from accountability.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who did something: a person, an agent (through its token) or the system itself."""

    type: str
    id: int | None
    label: str

    @classmethod
    def user(cls, user: Any) -> Actor:
        return cls(AuditEvent.ActorType.USER, user.pk, user.get_username())

    @classmethod
    def agent(cls, agent: Any) -> Actor:
        return cls(AuditEvent.ActorType.AGENT, agent.pk, f"agent:{agent.slug}")

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(AuditEvent.ActorType.SYSTEM, None, label)


def audit_event(
    *, obj: models.Model, action: str, actor: Actor, data: dict | None = None
) -> AuditEvent:
    """Build one audit event, unsaved: audit_log saves it; batch writers insert many at once."""
    return AuditEvent(
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        target_type=obj._meta.label_lower,
        target_id=str(obj.pk),
        data=data or {},
        request_id=current_request_id(),
    )


def audit_log(
    *, obj: models.Model, action: str, actor: Actor, data: dict | None = None
) -> AuditEvent:
    event = audit_event(obj=obj, action=action, actor=actor, data=data)
    event.save()
    return event
