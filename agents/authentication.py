"""Bearer tokens for agents and for people (personal API tokens)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accountability import db
from agents.models import Agent, ApiToken
from agents.services import token_hash
from review.models import Queue


@dataclass(frozen=True)
class AgentPrincipal:
    """request.user for an agent's token: authenticated, but not a person. queues: the queues
    the agent may post to, by slug, read with the token (ingest needs them on every request)."""

    agent: Agent
    queues: dict[str, Queue] = field(default_factory=dict)
    is_authenticated: bool = True
    is_active: bool = True
    is_superuser: bool = False
    is_staff: bool = False
    pk: None = None

    def get_username(self) -> str:
        return f"agent:{self.agent.slug}"

    def __str__(self) -> str:
        return self.get_username()


_AGENT_OF_TOKEN = f"SELECT agent_id FROM {ApiToken._meta.db_table} WHERE key_hash = %s"  # noqa: S608
_QUEUES_OF_AGENT = f"""id IN (SELECT queue_id FROM {Agent.queues.through._meta.db_table}
                              WHERE agent_id = ({_AGENT_OF_TOKEN}))"""  # noqa: S608


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[object, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be: Bearer <token>.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        digest = token_hash(raw)
        # The token, its agent (if it is an agent's) and the agent's queues in one round trip.
        tokens, agents, queues = db.batch(
            [
                db.select_statement(ApiToken, "key_hash = %s", [digest]),
                db.select_statement(Agent, f"id = ({_AGENT_OF_TOKEN})", [digest]),
                db.select_statement(Queue, _QUEUES_OF_AGENT, [digest]),
            ]
        )
        token = db.instances_of(ApiToken, tokens)[0] if tokens else None
        if token is None or token.is_revoked:
            raise exceptions.AuthenticationFailed("The token is not valid or was revoked.")
        self._touch(token)
        if token.agent_id:
            [token.agent] = db.instances_of(Agent, agents)
            if not token.agent.active:
                raise exceptions.AuthenticationFailed(f"Agent {token.agent.slug} is deactivated.")
            postable = {queue.slug: queue for queue in db.instances_of(Queue, queues)}
            return AgentPrincipal(token.agent, postable), token
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This account is deactivated.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword

    @staticmethod
    def _touch(token: ApiToken) -> None:
        now = timezone.now()
        resolution = dt.timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION_SECONDS)
        if token.last_used_at is None or now - token.last_used_at >= resolution:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
