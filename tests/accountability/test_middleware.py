"""The NUL character, which PostgreSQL cannot store: refused by name, never a 500."""

from __future__ import annotations

import json

import pytest
from django.db import DataError
from django.http import HttpResponse
from django.urls import reverse

from accountability.middleware import NulCharacterMiddleware
from review.models import Item
from tests.factories import ingest
from tests.review.test_escalation import decide

pytestmark = pytest.mark.django_db

REFUSED = "must not contain the NUL character (\\u0000)"


def test_a_page_address_holding_nul_is_a_400_page_naming_the_parameter(client, lead):
    client.force_login(lead)
    # The staffing page looked the queue up by this slug: PostgreSQL failed it, a 500.
    response = client.get("/dashboard/staffing/?queue=claims%00&week=1")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Request refused" in page and f"<code>queue</code> {REFUSED}" in page
    assert "<code>week</code>" not in page


def test_an_api_query_parameter_holding_nul_is_a_400_in_the_api_error_shape(reviewer_client):
    response = reviewer_client.get("/api/v1/queues?ordering=na%00me")
    assert response.status_code == 400
    assert response.json() == {"detail": f"ordering: {REFUSED}", "errors": {"ordering": [REFUSED]}}


def test_a_write_failing_on_nul_that_got_past_the_checks_is_a_400_not_a_500(rf):
    middleware = NulCharacterMiddleware(lambda request: HttpResponse())
    failure = DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    answer = middleware.process_exception(rf.post("/api/v1/items"), failure)
    assert answer.status_code == 400
    assert json.loads(answer.content)["errors"] == {"body": [f"some value {REFUSED}"]}
    other = DataError("value too long for type character varying(80)")
    assert middleware.process_exception(rf.post("/api/v1/items"), other) is None


def test_a_lead_reason_holding_nul_is_shown_next_to_its_input(client, agent, lead, reviewer):
    approved = ingest(agent)
    decide(approved, reviewer, "approve")
    client.force_login(lead)
    response = client.post(
        reverse("review:item-send-back", args=[approved.pk]), {"reason": "recheck\x00"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="send-back-reason-error"' in page and REFUSED in page
    approved.refresh_from_db()
    assert approved.status == Item.Status.APPROVED


def test_a_threshold_change_reason_holding_nul_is_shown_next_to_its_input(client, queue, lead):
    client.force_login(lead)
    version = queue.policy_version
    form = {"target_error_rate": "1", "reason": "Fewer people\x00"}
    form.update({f"threshold-{spec['name']}": "0.9" for spec in queue.field_schema})
    response = client.post(reverse("review:queue-thresholds-apply", args=[queue.slug]), form)
    assert response.status_code == 422
    page = response.content.decode()
    assert f'<span class="field-error" id="threshold-reason-error">{REFUSED}</span>' in page
    queue.refresh_from_db()
    assert queue.policy_version == version
