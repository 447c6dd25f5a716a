"""The ASGI server (uvicorn in a thread): pages over HTTP, and websockets end to end."""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from accountability.audit import Actor
from agents.services import agent_token_create
from review.models import Queue
from tests.browser.conftest import AsgiLiveServer, log_in
from tests.factories import AgentFactory, QueueFactory, UserFactory, item_payload

# The server answers from its own thread, so the data must really be committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Opens a websocket in the page and resolves once the server accepted it (the consumer joins
# its groups before accepting, so from then on no signal can be missed); every message is kept
# in window.received for the test to read.
OPEN_SOCKET = """url => new Promise((resolve, reject) => {
    window.received = [];
    const socket = new WebSocket(url);
    socket.onmessage = event => window.received.push(JSON.parse(event.data));
    socket.onopen = () => resolve();
    socket.onclose = event => reject(new Error(`websocket closed: ${event.code}`));
})"""


def post_json(url: str, payload: dict[str, Any], *, token: str) -> tuple[int, dict[str, Any]]:
    """POST JSON as an agent does, outside the browser (its own connection, no cookies)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # No proxies: one set in the environment must never stand between the test and 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def doubtful_payload(*, queue: str, external_id: str) -> dict[str, Any]:
    """An item whose policy number is below its threshold, so it waits for review."""
    payload = item_payload(queue=queue, external_id=external_id)
    payload["fields"][0]["confidence"] = 0.4
    return payload


def test_pages_and_stylesheet_over_asgi(asgi_page: Page, asgi_live_server: AsgiLiveServer) -> None:
    rita = UserFactory(username="rita")
    QueueFactory(slug="claims", name="Claim intake", reviewers=[rita])

    log_in(asgi_page, "rita")
    with asgi_page.expect_response(lambda response: response.url.endswith(".css")) as css:
        asgi_page.goto("/")

    assert urlsplit(asgi_page.url).netloc == urlsplit(asgi_live_server.url).netloc
    assert urlsplit(asgi_page.url).path == "/"
    assert css.value.status == 200
    expect(asgi_page.get_by_role("row", name="Claim intake")).to_be_visible()
    topbar = asgi_page.locator("header.topbar")
    assert topbar.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(13, 27, 42)"


def agent_token(*queues: Queue) -> str:
    """A raw API token for a new agent allowed into these queues."""
    agent = AgentFactory(queues=list(queues))
    _, token = agent_token_create(agent=agent, created_by=None, actor=Actor.system("tests"))
    return token


def test_ingest_over_http_signals_the_reviewers_open_socket(
    asgi_page: Page, asgi_live_server: AsgiLiveServer
) -> None:
    rita = UserFactory(username="rita")
    claims = QueueFactory(slug="claims", name="Claim intake", reviewers=[rita])
    elsewhere = QueueFactory(slug="other-team", name="Not mine")
    token = agent_token(claims, elsewhere)

    log_in(asgi_page, "rita")
    # The session cookie from the form sign-in authenticates the socket, and the page's origin
    # passes AllowedHostsOriginValidator, as for a real reviewer.
    asgi_page.evaluate(OPEN_SOCKET, f"{asgi_live_server.ws_url}/ws/queues/")

    # First a queue rita does not work in: its signal must not reach her. It is sent (on
    # commit) before the response, so before the second ingest starts.
    status, body = post_json(
        f"{asgi_live_server.url}/api/v1/items",
        doubtful_payload(queue="other-team", external_id="elsewhere-1"),
        token=token,
    )
    assert (status, body["status"]) == (201, "pending_review")
    status, body = post_json(
        f"{asgi_live_server.url}/api/v1/items",
        doubtful_payload(queue="claims", external_id="claim-1"),
        token=token,
    )
    assert (status, body["status"]) == (201, "pending_review")

    asgi_page.wait_for_function("() => window.received.length > 0")
    assert asgi_page.evaluate("() => window.received") == [
        {"event": "queueChanged", "queue": "claims"}
    ]


def test_queues_page_counts_an_arriving_item_without_reload(
    asgi_page: Page, asgi_live_server: AsgiLiveServer
) -> None:
    rita = UserFactory(username="rita")
    claims = QueueFactory(slug="claims", name="Claim intake", reviewers=[rita])
    token = agent_token(claims)

    log_in(asgi_page, "rita")
    # live.js marks the body once its socket is open; from then on no signal can be missed.
    expect(asgi_page.locator("body")).to_have_attribute("data-live", "on")
    expect(asgi_page.get_by_test_id("waiting-claims")).to_have_text("0")
    asgi_page.evaluate("() => { window.sameDocument = true; }")

    status, _ = post_json(
        f"{asgi_live_server.url}/api/v1/items",
        doubtful_payload(queue="claims", external_id="claim-1"),
        token=token,
    )
    assert status == 201

    # Well within the page's 30 s poll, so it is the websocket that brought it.
    expect(asgi_page.get_by_test_id("waiting-claims")).to_have_text("1")
    assert asgi_page.evaluate("() => window.sameDocument") is True
