"""createagent and createtoken: the token is the last line, and it works."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accountability.models import AuditEvent
from agents.models import Agent, ApiToken
from tests.factories import QueueFactory, UserFactory, item_payload

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()[-1]


def test_createagent_prints_a_working_token_and_stores_only_its_hash():
    UserFactory(username="lena")
    QueueFactory(slug="claims")
    token = _run(
        "createagent", "claims-bot", "--owner", "lena", "--queue", "claims", "--team", "Claims"
    )
    agent = Agent.objects.get(slug="claims-bot")
    assert agent.owner.username == "lena" and agent.team == "Claims"
    assert list(agent.queues.values_list("slug", flat=True)) == ["claims"]
    stored = ApiToken.objects.get(agent=agent)
    assert token not in (stored.key_hash, stored.prefix) and token.startswith(stored.prefix)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.post("/api/v1/items", item_payload(), format="json").status_code == 201
    assert AuditEvent.objects.filter(action="agents.token.created").count() == 1


def test_createagent_again_adds_a_token_to_the_same_agent():
    UserFactory(username="lena")
    first = _run("createagent", "bot", "--owner", "lena")
    second = _run("createagent", "bot", "--owner", "lena")
    assert first != second
    assert Agent.objects.count() == 1 and ApiToken.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["createagent", "bot", "--owner", "nobody"], "no user named 'nobody'"),
        (
            ["createagent", "bot", "--owner", "lena", "--queue", "nowhere"],
            "no queue with slug nowhere",
        ),
        (["createtoken", "nobody"], "no user named 'nobody'"),
    ],
)
def test_commands_refuse_unknown_names_and_write_nothing(args, message):
    UserFactory(username="lena")
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not Agent.objects.exists() and not ApiToken.objects.exists()


def test_createtoken_gives_a_person_a_reviewer_api_token():
    rita = UserFactory(username="rita")
    QueueFactory(slug="claims", reviewers=[rita])
    token = _run("createtoken", "rita")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [q["slug"] for q in client.get("/api/v1/queues").json()] == ["claims"]
