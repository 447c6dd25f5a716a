"""The agent page: who sees it and who may change what, tokens shown once, the webhook form and
delivery log, the stop switch, and the numbers in its tables on a small hand-made history."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accountability.models import AuditEvent
from agents.calibration.services import calibrator_fit
from agents.models import ApiToken, WebhookDelivery, WebhookEndpoint
from agents.webhooks import services as webhook_services
from review.models import Item
from tests.agents.webhooks_support import endpoint_for
from tests.calibration_helpers import labeled_items
from tests.dashboard_helpers import at, decide_at
from tests.factories import AgentFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(agent, lead, reviewer):
    return {
        "owner": agent.owner,
        "staff": UserFactory(username="sam", is_staff=True),
        "lead": lead,
        "reviewer": reviewer,
        "other owner": AgentFactory(slug="invoice-bot").owner,
    }


def page_url(agent) -> str:
    return reverse("agents:detail", args=[agent.pk])


def calibration_url(agent) -> str:
    """The calibration section, which the page loads after itself (htmx)."""
    return reverse("agents:calibration", args=[agent.pk])


def post_urls(agent, token_id: int = 0, delivery_id: int = 0) -> dict[str, str]:
    return {
        "token-create": reverse("agents:token-create", args=[agent.pk]),
        "token-revoke": reverse("agents:token-revoke", args=[agent.pk, token_id]),
        "webhook-save": reverse("agents:webhook-save", args=[agent.pk]),
        "webhook-secret": reverse("agents:webhook-secret", args=[agent.pk]),
        "delivery-redeliver": reverse("agents:delivery-redeliver", args=[agent.pk, delivery_id]),
    }


def row(body: str, attribute: str) -> str:
    """The HTML of the table row carrying this data attribute, e.g. 'data-version="v1.0"'."""
    start = body.index(f"<tr {attribute}")
    return body[start : body.index("</tr>", start)]


def cell(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert found, f"no {testid} in {html}"
    return found.group(1).strip()


# --- Who may see and do what ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "page", "manage_post", "switch_post"),
    [
        ("owner", 200, 201, 302),
        ("staff", 200, 201, 302),
        ("lead", 200, 404, 302),
        ("reviewer", 404, 404, 404),
        ("other owner", 404, 404, 404),
    ],
)
def test_who_may_see_the_page_and_change_what(
    client, agent, people, role, page, manage_post, switch_post
):
    client.force_login(people[role])

    assert client.get(page_url(agent)).status_code == page
    assert client.get(calibration_url(agent)).status_code == page
    created = client.post(post_urls(agent)["token-create"], {"name": "ci"})
    assert created.status_code == manage_post
    switched = client.post(
        reverse("agents:automation", args=[agent.pk]), {"stop": "1", "reason": "drift"}
    )
    assert switched.status_code == switch_post
    listed = client.get(reverse("agents:list")).content.decode()
    assert (f'data-agent="{agent.pk}"' in listed) is (page == 200)


def test_anonymous_visitors_are_sent_to_sign_in(client, agent):
    response = client.get(page_url(agent))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_lead_sees_everything_but_gets_no_forms_and_every_change_is_404(
    client, agent, lead, local_webhooks, receiver
):
    endpoint_for(agent, receiver.url())
    ingest(agent, confidence=0.99)
    delivery = WebhookDelivery.objects.get()
    token = ApiToken.objects.create(agent=agent, prefix="acc_lead", key_hash="0" * 64)
    client.force_login(lead)

    body = client.get(page_url(agent)).content.decode()

    assert 'data-testid="read-only"' in body
    assert receiver.url() in body and f'data-delivery="{delivery.pk}"' in body
    for form in ("token-form", "webhook-form"):
        assert f'data-testid="{form}"' not in body
    assert "Redeliver" not in body and "Revoke" not in body and "Rotate secret" not in body
    assert 'data-testid="automation-form"' in body  # the stop switch is theirs too
    for url in post_urls(agent, token.pk, delivery.pk).values():
        assert client.post(url, {"url": "https://8.8.8.8/", "name": "x"}).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None and agent.tokens.count() == 1


def test_the_agents_link_shows_only_to_people_who_can_see_an_agent(client, agent, people):
    client.force_login(people["reviewer"])
    assert 'href="/agents/"' not in client.get("/").content.decode()
    client.force_login(people["lead"])
    assert 'href="/agents/"' in client.get("/").content.decode()


# --- Tokens ------------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client, agent):
    client.force_login(agent.owner)

    response = client.post(post_urls(agent)["token-create"], {"name": "production worker"})

    assert response.status_code == 201
    raw = cell(response.content.decode(), "secret-value")
    assert raw.startswith("acc_") and "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(agent=agent)
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.name == "production worker" and token.created_by == agent.owner
    assert raw not in (token.prefix, token.name)
    again = client.get(page_url(agent)).content.decode()
    assert raw not in again and "production worker" in again and token.prefix in again
    # It works at once, as the agent would use it.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/queues").status_code == 200
    created = AuditEvent.objects.get(action="agents.token.created")
    assert created.actor_label == agent.owner.get_username() and raw not in str(created.data)


def test_a_token_name_that_is_too_long_is_refused_next_to_the_input(client, agent):
    client.force_login(agent.owner)
    response = client.post(post_urls(agent)["token-create"], {"name": "x" * 121})
    assert response.status_code == 422
    assert 'id="token-name-error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_refuses_it_from_then_on_and_is_audited(client, agent, agent_token):
    token = ApiToken.objects.get(agent=agent)
    client.force_login(agent.owner)

    response = client.post(post_urls(agent, token.pk)["token-revoke"])

    assert response.status_code == 302 and response["Location"].endswith("#tokens")
    page = client.get(response["Location"]).content.decode()
    assert "Revoked token" in page and f'data-token="{token.pk}" class="revoked"' in page
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_token}")
    assert api.get("/api/v1/queues").status_code == 401
    revoked = AuditEvent.objects.get(action="agents.token.revoked")
    assert revoked.target_id == str(token.pk)
    assert revoked.actor_label == agent.owner.get_username()


def test_a_token_of_another_agent_cannot_be_revoked_through_this_page(client, agent):
    other = AgentFactory(slug="other-bot", owner=agent.owner)
    foreign = ApiToken.objects.create(agent=other, prefix="acc_other", key_hash="1" * 64)
    client.force_login(agent.owner)
    assert client.post(post_urls(agent, foreign.pk)["token-revoke"]).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


# --- Webhook -----------------------------------------------------------------------------------


def test_the_webhook_form_saves_and_shows_the_new_secret_once(
    client, agent, local_webhooks, receiver
):
    client.force_login(agent.owner)
    data = {"url": receiver.url(), "events": ["item.decided"], "enabled": "on"}

    created = client.post(post_urls(agent)["webhook-save"], data)

    assert created.status_code == 201
    secret = cell(created.content.decode(), "secret-value")
    endpoint = WebhookEndpoint.objects.get(agent=agent)
    assert secret == endpoint.secret and endpoint.secret.startswith("whsec_")
    assert (endpoint.url, endpoint.events, endpoint.enabled) == (
        receiver.url(),
        ["item.decided"],
        True,
    )
    changed = client.post(post_urls(agent)["webhook-save"], {**data, "enabled": ""})
    assert changed.status_code == 302
    page = client.get(page_url(agent)).content.decode()
    assert secret not in page and "Webhook settings saved." in page and "Disabled" in page
    actions = AuditEvent.objects.filter(action__startswith="agents.webhook")
    assert list(actions.values_list("action", flat=True)) == [
        "agents.webhook.created",
        "agents.webhook.updated",
    ]


def test_a_plain_http_url_is_refused_next_to_the_input_and_nothing_is_saved(client, agent):
    client.force_login(agent.owner)

    response = client.post(
        post_urls(agent)["webhook-save"], {"url": "http://hooks.example.com/x", "enabled": "on"}
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert re.search(r'id="webhook-url-error">[^<]*must use https', body)
    assert re.search(r'id="webhook-events-error">[^<]*choose at least one', body)
    assert 'value="http://hooks.example.com/x"' in body  # what was typed stays
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="agents.webhook").exists()


def test_rotating_the_secret_shows_the_new_one_once(client, agent, local_webhooks, receiver):
    endpoint, old = endpoint_for(agent, receiver.url())
    client.force_login(agent.owner)

    response = client.post(post_urls(agent)["webhook-secret"])

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = cell(response.content.decode(), "secret-value")
    endpoint.refresh_from_db()
    assert new == endpoint.secret != old and endpoint.previous_secret == old
    assert new not in client.get(page_url(agent)).content.decode()


def test_rotating_without_a_webhook_says_to_set_one_first(client, agent):
    client.force_login(agent.owner)
    response = client.post(post_urls(agent)["webhook-secret"], follow=True)
    assert "no webhook yet" in response.content.decode()


def test_the_delivery_log_shows_attempts_and_redelivers(
    client, agent, local_webhooks, receiver, django_capture_on_commit_callbacks
):
    endpoint_for(agent, receiver.url())
    item = ingest(agent, external_id="claim-77", confidence=0.99)
    delivery = WebhookDelivery.objects.get()
    webhook_services.webhook_delivery_attempt(delivery_id=delivery.pk)
    client.force_login(agent.owner)

    log = row(client.get(page_url(agent)).content.decode(), f'data-delivery="{delivery.pk}"')
    assert "item.auto_accepted" in log and "claim-77" in log and "HTTP 200" in log
    assert f'href="/items/{item.pk}/"' in log

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(post_urls(agent, delivery_id=delivery.pk)["delivery-redeliver"])

    assert response.status_code == 302 and response["Location"].endswith("#deliveries")
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
    assert AuditEvent.objects.filter(action="webhook.redelivery_requested").count() == 1
    log = row(client.get(page_url(agent)).content.decode(), f'data-delivery="{delivery.pk}"')
    assert log.count('class="attempt"') == 2 and "(redelivery)" in log


# --- Stop switch -------------------------------------------------------------------------------


def test_the_stop_switch_needs_a_reason_next_to_its_input(client, agent):
    client.force_login(agent.owner)

    response = client.post(reverse("agents:automation", args=[agent.pk]), {"stop": "1"})

    assert response.status_code == 422
    assert 'id="automation-reason-error">Say why' in response.content.decode()
    agent.refresh_from_db()
    assert agent.automation_stopped_at is None
    assert not AuditEvent.objects.filter(action__startswith="review.automation").exists()


def test_a_lead_stops_and_resumes_automation_with_a_reason(client, agent, lead):
    client.force_login(lead)
    url = reverse("agents:automation", args=[agent.pk])

    client.post(url, {"stop": "1", "reason": "amounts drifting since v2"})

    page = client.get(page_url(agent)).content.decode()
    assert "Stopped</span> since" in page and "amounts drifting since v2" in page
    assert "Resume automation" in page
    agent.refresh_from_db()  # as the API loads it for each request
    assert ingest(agent, confidence=0.99).status == Item.Status.PENDING
    client.post(url, {"stop": "0", "reason": "fixed in v2.1"})
    agent.refresh_from_db()
    assert agent.automation_stopped_at is None
    events = AuditEvent.objects.filter(action__startswith="review.automation")
    assert [(e.action, e.data["reason"], e.actor_label) for e in events] == [
        ("review.automation.stopped", "amounts drifting since v2", "lena"),
        ("review.automation.resumed", "fixed in v2.1", "lena"),
    ]


# --- The numbers -------------------------------------------------------------------------------


@pytest.fixture
def history(agent, queue, reviewer):
    """v1.0: three arrivals; one reviewed ten days ago with claim_type corrected, one reviewed
    today with nothing corrected, one auto-accepted. v2.0: one arrival, auto-accepted."""
    today = timezone.localdate()
    earlier = at(today - dt.timedelta(days=10), 12)
    first = ingest(agent, external_id="a")
    Item.objects.filter(pk=first.pk).update(created_at=earlier)
    decide_at(queue, reviewer, first, when=earlier, seconds=30, corrected="claim_type")
    second = ingest(agent, external_id="b")
    decide_at(queue, reviewer, second, when=timezone.now(), seconds=20)
    ingest(agent, external_id="c", confidence=0.99)
    ingest(agent, external_id="d", confidence=0.99, agent_version="v2.0")
    return earlier.date()


def test_versions_show_volume_automation_and_correction_rate(client, agent, history):
    client.force_login(agent.owner)
    body = client.get(page_url(agent)).content.decode()

    v1, v2 = row(body, 'data-version="v1.0"'), row(body, 'data-version="v2.0"')
    assert [cell(v1, k) for k in ("arrivals", "automation", "first-reviews", "correction")] == [
        "3",
        "33.3 %",
        "2",
        "12.5 %",  # 1 of 8 labels
    ]
    assert [cell(v2, k) for k in ("arrivals", "automation", "first-reviews", "correction")] == [
        "1",
        "100.0 %",
        "0",
        "—",
    ]
    assert history.isoformat() in v1  # first seen: the earlier arrival
    # Both last seen today: the later version first.
    assert body.index('data-version="v2.0"') < body.index('data-version="v1.0"')


def test_correction_rate_by_field_per_week(client, agent, history):
    client.force_login(agent.owner)
    response = client.get(page_url(agent))
    body = response.content.decode()

    claim_type = row(body, 'data-field="claim_type"')
    weekly = re.findall(
        r'<td class="num">([^<]*?)\s*(?:<span class="muted">(\d+/\d+)</span>)?</td>', claim_type
    )
    assert len(weekly) == 8
    marked = {n: (rate.strip(), counts) for n, (rate, counts) in enumerate(weekly) if counts}
    this_monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    earlier_week = 7 - (this_monday - (history - dt.timedelta(days=history.weekday()))).days // 7
    assert marked == {earlier_week: ("100.0 %", "1/1"), 7: ("0.0 %", "0/1")}
    assert cell(claim_type, "field-total").startswith("50.0 %")
    assert cell(row(body, 'data-field="amount"'), "field-total").startswith("0.0 %")
    series = {s["label"]: s for s in response.context["corrections_chart"]["series"]}
    assert series["claim_type"]["rates"][earlier_week] == 100.0
    assert series["claim_type"]["rates"][7] == 0.0


def test_few_labels_say_so_and_an_uninformative_confidence_says_that(client, agent, queue):
    # 200 labels where confidence says nothing: right half the time at 0.6 and at 0.9.
    labeled_items(
        agent,
        queue,
        [{"amount": (0.6 if n % 2 else 0.9, n % 4 < 2)} for n in range(200)],
        version="v3",
    )
    labeled_items(agent, queue, [{"amount": (0.8, True)} for _ in range(5)], version="v2")
    assert calibrator_fit(key=(agent.pk, "v3", "amount")) is not None
    client.force_login(agent.owner)
    assert f'hx-get="{calibration_url(agent)}"' in client.get(page_url(agent)).content.decode()

    response = client.get(calibration_url(agent), headers={"HX-Request": "true"})

    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<section class="chart-card"')
    v3 = body[body.index('data-testid="calibration-v3-amount"') :]
    assert "Uninformative: this confidence does not tell right answers from wrong ones" in v3
    table = row(body[body.index('data-testid="calibration-table-v3"') :], 'data-field="amount"')
    assert "Isotonic regression v1" in table and "uninformative" in table
    few = row(body[body.index('data-testid="calibration-table-v2"') :], 'data-field="amount"')
    assert "not enough labels (5 of 30 needed)" in few
    assert body.index("calibration-table-v3") < body.index("calibration-table-v2")
    charted = re.search(r'id="calibration-charts" type="application/json">(.*?)</script>', body)
    panels = {p["title"]: p for p in json.loads(charted.group(1))}
    assert panels["v3 · amount"]["calibrated"] and panels["v2 · amount"]["calibrated"] is None
    assert sum(p["n"] for p in panels["v3 · amount"]["raw"]) == 200


def test_empty_sections_say_what_to_do(client):
    lonely = AgentFactory(slug="new-bot")
    client.force_login(lonely.owner)
    body = client.get(page_url(lonely)).content.decode()
    assert "No outputs yet. Create a token below" in body
    assert 'data-testid="corrections-empty"' in body
    assert 'data-testid="calibration-empty"' in client.get(calibration_url(lonely)).content.decode()
    assert "No tokens yet." in body and "No webhook yet" in body and "No deliveries yet." in body
