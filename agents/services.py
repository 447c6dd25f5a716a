"""Agents and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from accountability.audit import Actor, audit_log
from agents.models import Agent, ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TOKEN_PREFIX = "acc_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token(**owner: object) -> tuple[ApiToken, str]:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(prefix=raw[:12], key_hash=token_hash(raw), **owner)
    return token, raw


def agent_create(
    *, slug: str, name: str, owner: User, team: str = "", queues: list | None = None, actor: Actor
) -> Agent:
    with transaction.atomic():
        agent = Agent.objects.create(slug=slug, name=name, owner=owner, team=team)
        if queues:
            agent.queues.set(queues)
        audit_log(
            obj=agent,
            action="agents.agent.created",
            actor=actor,
            data={
                "owner": owner.get_username(),
                "team": team,
                "queues": [q.slug for q in queues or []],
            },
        )
    return agent


def agent_token_create(
    *, agent: Agent, name: str = "", created_by: User | None, actor: Actor
) -> tuple[ApiToken, str]:
    """Create a token for agent. Returns the row and the raw token, which is never stored."""
    with transaction.atomic():
        token, raw = _new_token(agent=agent, name=name, created_by=created_by)
        audit_log(
            obj=token,
            action="agents.token.created",
            actor=actor,
            data={"agent": agent.slug, "prefix": token.prefix},
        )
    return token, raw


def personal_token_create(*, user: User, name: str = "", actor: Actor) -> tuple[ApiToken, str]:
    with transaction.atomic():
        token, raw = _new_token(user=user, name=name, created_by=user)
        audit_log(
            obj=token,
            action="agents.token.created",
            actor=actor,
            data={"user": user.get_username(), "prefix": token.prefix},
        )
    return token, raw


def token_revoke(*, token: ApiToken, actor: Actor) -> ApiToken:
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_log(
                obj=token, action="agents.token.revoked", actor=actor, data={"prefix": token.prefix}
            )
    token.refresh_from_db()
    return token
