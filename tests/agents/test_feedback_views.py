"""The /feedback/ page: filters with errors next to them, a count, and audited downloads."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from accountability.models import AuditEvent
from tests.agents.feedback_world import build_world
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/feedback/"


@pytest.fixture
def world(queue, agent, reviewer):
    return build_world(queue=queue, agent=agent, reviewer=reviewer)


def test_a_lead_sees_the_filters_and_download_buttons(world, client):
    client.force_login(world.lead)
    response = client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="claims">Claim intake</option>' in page
    assert "invoices" not in page  # another lead's queue is not offered
    for name in ("jsonl", "csv", "supervised", "preference"):
        assert f'data-testid="download-{name}"' in page
    assert 'data-testid="matching"' not in page


def test_the_agent_pages_link_counts_that_agents_items(world, client):
    client.force_login(world.other_agent.owner)
    response = client.get(PAGE, {"agent": world.other_agent.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 decided item matches" in page
    assert f'<option value="{world.other_agent.pk}" selected>' in page


def test_bad_filters_come_back_next_to_their_inputs(world, client):
    client.force_login(world.lead)
    response = client.get(PAGE, {"since": "last tuesday", "queue": "invoices", "format": "csv"})
    assert response.status_code == 400
    assert not isinstance(response, StreamingHttpResponse)
    page = response.content.decode()
    assert 'id="f-since-error"' in page and "not an ISO 8601 date-time" in page
    assert 'id="f-queue-error"' in page and 'value="last tuesday"' in page
    assert not AuditEvent.objects.filter(action__startswith="feedback.").exists()


def test_a_download_button_streams_the_file_and_audits_it(world, client):
    client.force_login(world.lead)
    response = client.get(PAGE, {"queue": "claims", "verdict": "corrected", "format": "csv"})
    assert isinstance(response, StreamingHttpResponse)
    assert 'filename="feedback-claims-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["external_id"] for r in rows} == {"corrected-1"} and len(rows) == 4
    started = AuditEvent.objects.get(action="feedback.exported")
    assert (started.actor_label, started.target_type) == ("lena", "auth.user")
    assert started.data["filters"] == {"queue": "claims", "verdict": "corrected"}
    assert AuditEvent.objects.get(action="feedback.export.finished").data["records"] == 1


def test_an_unknown_format_is_said_at_the_buttons(world, client):
    client.force_login(world.lead)
    response = client.get(PAGE, {"format": "xlsx"})
    assert response.status_code == 400 and "choose one of the buttons" in response.content.decode()


def test_people_without_feedback_are_refused_and_visitors_sign_in(world, client, reviewer):
    client.force_login(reviewer)
    assert client.get(PAGE).status_code == 403
    client.logout()
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")


def test_staff_see_every_queue(world, client):
    client.force_login(UserFactory(username="sam", is_staff=True))
    page = client.get(PAGE, {"decision": "auto_accepted"}).content.decode()
    assert "invoices" in page and "2 decided items match" in page
