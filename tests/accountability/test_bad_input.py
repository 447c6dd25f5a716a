"""Whatever is typed into an address, a form or an API body, the answer is never a 500.

Each page and endpoint gets values of the wrong kind in the inputs it reads: out-of-range
numbers and days, the NUL character, text where ids go. A refusal (400, 404, 409, 422) is
fine; a server error is not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client

from tests.factories import UserFactory, ingest

pytestmark = pytest.mark.django_db

WRONG = ["", "x", "-1", "99999999999999999999999", "nan", "0001-01-01", "9999-12-31", "a\x00b"]
WRONG_JSON = [None, [], "x", {"lease": "not-a-uuid", "decision": ["approve"], "fields": {}},
              {"fields": [None, 1, {}]}, {"to_reviewer": 10**30, "reason": {"a": 1}},
              {"items": [None, "x"]}, {"stop": "maybe", "reason": "a\x00b"}]  # fmt: skip


def _pages(item_id: int, agent_id: int, reviewer_id: int) -> dict[str, list[str]]:
    """Each page, with the query parameters it reads."""
    dashboard = ["start", "end", "queue", "agent", "csv", "partial"]
    return {
        "/dashboard/": dashboard,
        "/dashboard/items/": [*dashboard, "metric", "page"],
        f"/dashboard/reviewers/{reviewer_id}/": ["start", "end", "csv"],
        "/dashboard/staffing/": ["queue", "csv"],
        "/queues/claims/thresholds/projection": ["threshold-amount", "target_error_rate"],
        f"/items/{item_id}/": ["action"],
        "/feedback/": ["queue", "agent", "agent_version", "since", "until", "format"],
        f"/agents/{agent_id}/calibration": ["version", "field"],
        "/api/v1/feedback": ["limit", "cursor", "since", "until", "queue", "agent", "verdict"],
    }


def _forms(item_id: int, agent_id: int) -> dict[str, list[str]]:
    """Each form, with its inputs."""
    return {
        f"/items/{item_id}/reassign": ["to_reviewer", "reason"],
        f"/items/{item_id}/override": ["decision", "reason", "value-amount", "correction-amount"],
        "/queues/claims/thresholds/apply": ["threshold-amount", "target_error_rate", "reason"],
        f"/agents/{agent_id}/webhook": ["url"],
        f"/agents/{agent_id}/automation": ["stop", "reason"],
        f"/review/{item_id}/submit": ["action", "lease", "f0-verdict", "f0-value", "f0-note"],
        f"/review/{item_id}/heartbeat": ["lease", "active_seconds"],
    }


def _api(item_id: int) -> list[str]:
    return [
        "/api/v1/items",
        "/api/v1/items/batch",
        f"/api/v1/items/{item_id}/decision",
        f"/api/v1/items/{item_id}/override",
        f"/api/v1/items/{item_id}/reassign",
        "/api/v1/queues/claims/automation",
    ]


def _server_errors(client: Client, requests: Iterator[tuple[str, str, object]]) -> list[tuple]:
    failed = []
    for method, url, data in requests:
        if method == "json":
            response = client.post(url, json.dumps(data), content_type="application/json")
        else:
            response = getattr(client, method)(url, data)
        if response.status_code >= 500:
            failed.append((method, url, data, response.status_code))
    return failed


def test_wrong_values_in_every_input_are_refused_never_a_server_error(
    agent, agent_token, queue, lead, reviewer
):
    item = ingest(agent)
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client(raise_request_exception=False)
    client.force_login(admin)  # sees every page, may post every form
    pages = _pages(item.pk, agent.pk, reviewer.pk)
    forms = _forms(item.pk, agent.pk)
    requests = [
        *(("get", url, {name: value}) for url, names in pages.items() for name in names
          for value in WRONG),
        *(("post", url, dict.fromkeys(names, value)) for url, names in forms.items()
          for value in WRONG),
        *(("json", url, body) for url in _api(item.pk) for body in WRONG_JSON),
    ]  # fmt: skip
    failed = _server_errors(client, iter(requests))
    agent_client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {agent_token}")
    failed += _server_errors(
        agent_client, (("json", url, body) for url in _api(item.pk)[:2] for body in WRONG_JSON)
    )
    assert failed == []
