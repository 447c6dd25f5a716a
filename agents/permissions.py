from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from agents.authentication import AgentPrincipal


class IsAgent(BasePermission):
    message = "This endpoint is for agent tokens."

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, AgentPrincipal)


class IsPerson(BasePermission):
    message = "This endpoint is for people (session or personal token), not agents."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and not isinstance(user, AgentPrincipal))
