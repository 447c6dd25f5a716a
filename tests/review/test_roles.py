"""Who may open what: each role against each page and endpoint that shows an item.

A reviewer of another queue, a person in no queue and another agent's token must learn nothing,
not even that the item exists (404); a signed-out visitor is sent to sign in (pages) or told
to authenticate (API, 401).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIClient

from accountability.audit import Actor
from agents import services as agent_services
from review.models import Document, ItemDocument
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "outsider",
    "other_queue_reviewer",
    "reviewer",
    "lead",
    "admin",
    "agent",
    "other_agent",
]


@pytest.fixture
def world(agent, queue, reviewer):
    item = ingest(agent)
    html = Document.objects.create(
        sha256="f" * 64, content_type="text/html", size_bytes=10, html="<p>claim</p>", text="claim"
    )
    ItemDocument.objects.create(item=item, document=html, key="mail", position=1)
    lead = UserFactory(username="lena")
    queue.leads.add(lead)
    elsewhere = UserFactory(username="olga")
    QueueFactory(slug="invoices", reviewers=[elsewhere])
    people = {
        "anonymous": AnonymousUser(),
        "outsider": UserFactory(username="eve"),
        "other_queue_reviewer": elsewhere,
        "reviewer": reviewer,
        "lead": lead,
        "admin": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    tokens = {
        "agent": agent_services.agent_token_create(
            agent=agent, created_by=None, actor=Actor.system("t")
        )[1],
        "other_agent": agent_services.agent_token_create(
            agent=AgentFactory(queues=[queue]), created_by=None, actor=Actor.system("t")
        )[1],
    }
    return {"item": item, "html": html, "people": people, "tokens": tokens}


def _client(world: dict, role: str) -> APIClient:
    client = APIClient()
    if role in world["tokens"]:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['tokens'][role]}")
    elif role != "anonymous":
        client.force_login(world["people"][role])
    return client


PAGE_EXPECTATIONS = {
    # role:                 item page, trace, document html, workspace
    "anonymous": (302, 302, 302, 302),
    "outsider": (404, 404, 404, 404),
    "other_queue_reviewer": (404, 404, 404, 404),
    "reviewer": (200, 404, 200, 302),  # no lease: the workspace sends them to the record
    "lead": (200, 200, 200, 302),
    "admin": (200, 200, 200, 302),
}


@pytest.mark.parametrize("role", list(PAGE_EXPECTATIONS))
def test_pages(world, role):
    client, item = _client(world, role), world["item"]
    urls = [
        f"/items/{item.pk}/",
        f"/items/{item.pk}/trace",
        f"/documents/{world['html'].pk}/html",
        f"/review/{item.pk}/",
    ]
    got = tuple(client.get(url).status_code for url in urls)
    assert got == PAGE_EXPECTATIONS[role]


API_EXPECTATIONS = {
    # role:                 GET item, claim next, queues listed, decide without a lease
    "anonymous": (401, 401, 401, 401),
    "outsider": (404, 404, 200, 404),
    "other_queue_reviewer": (404, 404, 200, 404),
    "reviewer": (200, 200, 200, 409),
    "lead": (200, 200, 200, 409),
    "admin": (200, 200, 200, 409),
    "agent": (200, 403, 200, 403),
    "other_agent": (404, 403, 200, 403),
}


@pytest.mark.parametrize("role", ROLES)
def test_api(world, role):
    client, item = _client(world, role), world["item"]
    got = (
        client.get(f"/api/v1/items/{item.pk}").status_code,
        client.post("/api/v1/queues/claims/claim").status_code,
        client.get("/api/v1/queues").status_code,
        client.post(
            f"/api/v1/items/{item.pk}/decision",
            {"lease": "00000000-0000-0000-0000-000000000000", "decision": "approve"},
            format="json",
        ).status_code,
    )
    assert got == API_EXPECTATIONS[role]
    if got[2] == 200:
        slugs = {q["slug"] for q in client.get("/api/v1/queues").json()}
        visible = {
            "outsider": set(),
            "other_queue_reviewer": {"invoices"},
            "admin": {"claims", "invoices"},
        }
        assert slugs == visible.get(role, {"claims"})
