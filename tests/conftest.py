from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accountability.audit import Actor
from agents import services as agent_services
from tests.factories import AgentFactory, QueueFactory, UserFactory


@pytest.fixture
def reviewer(db):
    return UserFactory(username="rita")


@pytest.fixture
def other_reviewer(db):
    return UserFactory(username="omar")


@pytest.fixture
def queue(db, reviewer, other_reviewer):
    return QueueFactory(slug="claims", name="Claim intake", reviewers=[reviewer, other_reviewer])


@pytest.fixture
def agent(db, queue):
    return AgentFactory(slug="claims-bot", queues=[queue])


@pytest.fixture
def agent_token(agent) -> str:
    _, raw = agent_services.agent_token_create(
        agent=agent, created_by=None, actor=Actor.system("tests")
    )
    return raw


@pytest.fixture
def agent_client(agent_token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_token}")
    return client


@pytest.fixture
def reviewer_client(reviewer) -> APIClient:
    client = APIClient()
    client.force_login(reviewer)
    return client


ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Tests that prove behaviour only PostgreSQL has (row locks, real concurrency); CI runs them.
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (DATABASE_URL)")
