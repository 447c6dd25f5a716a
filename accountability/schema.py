"""How the OpenAPI schema (/api/schema/, /api/docs/) names request bodies and describes tokens.

Settings point REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS here, so this module is loaded whenever
the schema is generated, which also registers the bearer-token scheme below. Without the two,
drf-spectacular warns (and `manage.py check --deploy` reports every warning): each view's nested
`InputSerializer` would be the same component "Input", and a custom authentication class has
no scheme it can guess.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers


class ApiSchema(AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: str) -> str:
        # House style nests InputSerializer/OutputSerializer in the view that uses them
        # (ItemDecisionApi.InputSerializer): name them after that view, "ItemDecisionInput".
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if not outer or "<locals>" in outer:
            return super().get_serializer_name(serializer, direction)
        return outer.split(".")[-1].removesuffix("Api") + inner


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "agents.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
        return {
            **scheme,
            "description": "An agent token (manage.py createagent) or a personal token "
            "(manage.py createtoken), sent as `Authorization: Bearer <token>`.",
        }
