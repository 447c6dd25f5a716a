"""The OpenAPI schema says how to authenticate and keeps each view's request body apart."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture(scope="module")
def schema() -> dict:
    # Generating it takes seconds; both tests read the same one.
    return APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _request_component(schema: dict, path: str, method: str) -> str:
    content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return content["schema"]["$ref"].rsplit("/", 1)[-1]


def test_bearer_tokens_are_documented_as_a_security_scheme(schema):
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    decide = schema["paths"]["/api/v1/items/{item_id}/decision"]["post"]
    assert {"bearerToken": []} in decide["security"]


def test_nested_input_serializers_are_named_after_their_view(schema):
    decision = _request_component(schema, "/api/v1/items/{item_id}/decision", "post")
    webhook = _request_component(schema, "/api/v1/agents/{agent_id}/webhook", "put")
    assert (decision, webhook) == ("ItemDecisionInputRequest", "AgentWebhookInputRequest")
    assert "lease" in schema["components"]["schemas"][decision]["properties"]
