"""The owner's webhook API: settings, secret rotation, deliveries and redelivery."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accountability.audit import Actor
from accountability.models import AuditEvent
from agents import services as agent_services
from agents.models import WebhookDelivery, WebhookEndpoint
from agents.webhooks import services
from tests.agents.webhooks_support import Reply, endpoint_for, verify
from tests.factories import UserFactory, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(agent) -> APIClient:
    client = APIClient()
    client.force_login(agent.owner)
    return client


def urls(agent, delivery_id: int = 0) -> dict[str, str]:
    base = f"/api/v1/agents/{agent.pk}/webhook"
    return {
        "settings": base,
        "secret": f"{base}/secret",
        "deliveries": f"{base}/deliveries",
        "redeliver": f"/api/v1/webhook-deliveries/{delivery_id}/redeliver",
    }


def test_owner_sets_a_webhook_and_sees_the_secret_once(
    local_webhooks, receiver, owner_client, agent
):
    response = owner_client.put(
        urls(agent)["settings"], {"url": receiver.url(), "events": ["item.decided"]}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    assert body["events"] == ["item.decided"]
    again = owner_client.get(urls(agent)["settings"]).json()
    assert "secret" not in again and again["secret_hint"] == body["secret"][:10] + "…"
    assert WebhookEndpoint.objects.get(agent=agent).url == receiver.url()


def test_settings_changes_and_rotations_are_audited_without_the_secret(
    local_webhooks, receiver, owner_client, agent
):
    created = owner_client.put(urls(agent)["settings"], {"url": receiver.url()}, format="json")
    owner_client.put(
        urls(agent)["settings"], {"url": receiver.url("/v2"), "enabled": False}, format="json"
    )
    rotated = owner_client.post(urls(agent)["secret"]).json()

    actions = list(
        AuditEvent.objects.filter(action__startswith="agents.webhook").values_list(
            "action", flat=True
        )
    )
    assert actions == [
        "agents.webhook.created",
        "agents.webhook.updated",
        "agents.webhook.secret_rotated",
    ]
    updated = AuditEvent.objects.get(action="agents.webhook.updated")
    assert updated.actor_label == agent.owner.get_username()
    assert updated.data["before"]["url"] == receiver.url()
    assert updated.data["after"]["url"] == receiver.url("/v2")
    assert updated.data["after"]["enabled"] is False
    everything = json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))
    assert created.json()["secret"] not in everything and rotated["secret"] not in everything
    assert rotated["secret"] != created.json()["secret"]
    settings_now = owner_client.get(urls(agent)["settings"]).json()
    assert settings_now["disabled_reason"] == f"Disabled by {agent.owner.get_username()}."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "http://8.8.8.8/hook"}, "url"),  # plain http is off by default
        ({"url": "https://127.0.0.1/hook"}, "url"),  # loopback
        ({"url": "https://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "https://[::ffff:10.0.0.1]/hook"}, "url"),
        ({"url": "https://8.8.8.8/hook", "events": ["item.deleted"]}, "events"),
        ({"url": "https://8.8.8.8/hook", "events": []}, "events"),
        ({"url": "https://8.8.8.8/hook", "events": "item.decided"}, "events"),
        ({"events": ["item.decided"]}, "url"),
    ],
)
def test_bad_settings_are_400_naming_the_field_and_write_nothing(owner_client, agent, body, field):
    response = owner_client.put(urls(agent)["settings"], body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="agents.webhook").exists()


def test_other_people_get_404_and_agents_403(local_webhooks, receiver, agent, agent_client):
    endpoint_for(agent, receiver.url())
    delivery_id = WebhookDelivery.objects.create(
        endpoint=agent.webhook, webhook_id="msg_x", event_type="item.decided",
        item=ingest(agent), body="{}", created_at=agent.created_at,
    ).pk  # fmt: skip
    stranger = APIClient()
    stranger.force_login(UserFactory(username="sam"))
    _, raw = agent_services.personal_token_create(
        user=UserFactory(username="tom"), actor=Actor.system("tests")
    )
    stranger_by_token = APIClient()
    stranger_by_token.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    for client, expected in [(stranger, 404), (stranger_by_token, 404), (agent_client, 403)]:
        paths = urls(agent, delivery_id)
        assert client.get(paths["settings"]).status_code == expected
        assert client.put(paths["settings"], {"url": "https://8.8.8.8/"}).status_code == expected
        assert client.post(paths["secret"]).status_code == expected
        assert client.get(paths["deliveries"]).status_code == expected
        assert client.post(paths["redeliver"]).status_code == expected
    assert WebhookEndpoint.objects.get().url == receiver.url()


def test_staff_may_manage_any_agents_webhook(local_webhooks, receiver, agent):
    admin = APIClient()
    admin.force_login(UserFactory(username="ada", is_staff=True))
    response = admin.put(urls(agent)["settings"], {"url": receiver.url()}, format="json")
    assert response.status_code == 201


def test_get_without_a_webhook_is_404_saying_so(owner_client, agent):
    response = owner_client.get(urls(agent)["settings"])
    assert response.status_code == 404 and "no webhook" in response.json()["detail"]


def test_after_a_rotation_both_secrets_sign_for_the_overlap(
    local_webhooks, receiver, owner_client, agent
):
    old = owner_client.put(urls(agent)["settings"], {"url": receiver.url()}, format="json")
    new = owner_client.post(urls(agent)["secret"]).json()
    ingest(agent, confidence=0.99)
    services.webhook_delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)

    [request] = receiver.requests
    assert verify(new["secret"], request.headers, request.body)
    assert verify(old.json()["secret"], request.headers, request.body)
    assert new["previous_secret_valid_until"] is not None


def test_deliveries_are_listed_newest_first_with_attempts(
    local_webhooks, receiver, owner_client, agent
):
    endpoint_for(agent, receiver.url())
    receiver.script("/hook", Reply(500, body=b"try later"))
    for external_id in ("first", "second", "third"):
        ingest(agent, confidence=0.99, external_id=external_id)
    first = WebhookDelivery.objects.get(item__external_id="first")
    services.webhook_delivery_attempt(delivery_id=first.pk)

    page = owner_client.get(urls(agent)["deliveries"], {"page_size": 2}).json()

    assert page["count"] == 3 and page["next"]
    assert [d["payload"]["data"]["external_id"] for d in page["results"]] == ["third", "second"]
    last = owner_client.get(page["next"]).json()["results"]
    [attempt] = last[0]["attempts"]
    assert (attempt["status_code"], attempt["response_excerpt"]) == (500, "try later")
    assert last[0]["status"] == "pending" and last[0]["webhook_id"] == first.webhook_id


def test_owner_redelivers_under_the_same_webhook_id(
    local_webhooks, receiver, owner_client, agent, django_capture_on_commit_callbacks
):
    endpoint_for(agent, receiver.url())
    ingest(agent, confidence=0.99)
    delivery = WebhookDelivery.objects.get()
    services.webhook_delivery_attempt(delivery_id=delivery.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(urls(agent, delivery.pk)["redeliver"])

    assert response.status_code == 202 and response.json()["webhook_id"] == delivery.webhook_id
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [a.manual for a in delivery.attempts.all()] == [False, True]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 2
    requested = AuditEvent.objects.get(action="webhook.redelivery_requested")
    assert requested.actor_label == agent.owner.get_username()
    assert AuditEvent.objects.filter(action="webhook.delivered").count() == 2


def test_redelivery_to_a_disabled_webhook_is_refused(local_webhooks, receiver, owner_client, agent):
    endpoint, _ = endpoint_for(agent, receiver.url())
    ingest(agent, confidence=0.99)
    delivery = WebhookDelivery.objects.get()
    endpoint.enabled = False
    endpoint.save()

    response = owner_client.post(urls(agent, delivery.pk)["redeliver"])

    assert response.status_code == 409 and "enable" in response.json()["detail"]
    assert receiver.requests == []
