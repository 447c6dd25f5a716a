"""The pages as a person sees them, in real Chromium against the live server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from agents.payload import parse_item
from review import services
from review.models import Queue
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.factories import AgentFactory, QueueFactory, UserFactory, item_payload

# The live server answers from another thread, so the data must really be committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def ingest_doubtful(queue: Queue, *external_ids: str) -> None:
    """Ingest items whose policy number is below its threshold, so each waits for review."""
    agent = AgentFactory(queues=[queue])
    for external_id in external_ids:
        raw = item_payload(queue=queue.slug, external_id=external_id)
        raw["fields"][0]["confidence"] = 0.4
        payload, errors = parse_item(raw)
        assert payload is not None, errors
        [result] = services.items_ingest(agent=agent, payloads=[payload])
        assert result.outcome == services.IngestOutcome.CREATED
        assert result.item is not None
        assert result.item.status == result.item.Status.PENDING


def test_reviewer_signs_in_and_sees_waiting_counts(page: Page) -> None:
    rita = UserFactory(username="rita")
    claims = QueueFactory(slug="claims", name="Claim intake", reviewers=[rita])
    QueueFactory(slug="invoices", name="Invoices", reviewers=[rita])
    QueueFactory(slug="other-team", name="Not mine")
    ingest_doubtful(claims, "claim-1", "claim-2")

    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login-1440x900")
    log_in(page, "rita")

    assert urlsplit(page.url).path == "/"
    expect(page.get_by_role("heading", name="Your queues")).to_be_visible()
    expect(page.get_by_role("row", name="Claim intake")).to_be_visible()
    expect(page.get_by_test_id("waiting-claims")).to_have_text("2")
    expect(page.get_by_test_id("waiting-invoices")).to_have_text("0")
    expect(page.get_by_text("Not mine")).to_have_count(0)
    screenshot(page, "queues-1440x900")
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot(page, "queues-1280x720")


def test_wrong_password_shows_error_and_stays(page: Page) -> None:
    UserFactory(username="rita")

    page.goto("/accounts/login/")
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot(page, "login-1280x720")
    log_in(page, "rita", password="not-the-password")

    assert urlsplit(page.url).path == "/accounts/login/"
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    # The username survives the round trip; the password does not.
    expect(page.get_by_label("Username")).to_have_value("rita")
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "login-error-1280x720")


def test_api_docs_render_offline(page: Page, live_server: object) -> None:
    UserFactory(username="rita")
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    log_in(page, "rita")
    page.goto("/api/docs/")

    expect(page.get_by_role("heading", name="Accountability API")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/items").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "api-docs-1440x900")
    # Swagger UI comes from drf-spectacular-sidecar: no CDN, no font or schema fetch elsewhere.
    server = urlsplit(live_server.url).netloc
    foreign = [url for url in requested if urlsplit(url).netloc not in {server, ""}]
    assert foreign == []
    assert any(urlsplit(url).path == "/api/schema/" for url in requested)


def test_reviewer_without_queues_is_told_so(page: Page) -> None:
    UserFactory(username="newcomer")
    QueueFactory(slug="claims", name="Claim intake")

    log_in(page, "newcomer")

    expect(page.get_by_text("not a member of any queue")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)


def test_stylesheet_loads(page: Page) -> None:
    """The pages are styled on the live server with DEBUG off (a missing CSS fails quietly)."""
    with page.expect_response(lambda response: response.url.endswith(".css")) as css:
        page.goto("/accounts/login/")
    assert css.value.status == 200
    background = page.locator("header.topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(13, 27, 42)"


def test_an_address_holding_a_nul_character_is_refused_with_a_page_naming_it(page: Page) -> None:
    lena = UserFactory(username="lena")
    QueueFactory(slug="claims", name="Claim intake", leads=[lena])
    log_in(page, "lena")

    response = page.goto("/dashboard/staffing/?queue=claims%00")
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="Request refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "queue must not contain the NUL character (\\u0000)"
    )
    assert_accessible(page)
    screenshot(page, "bad-request-1440x900")
    page.get_by_role("link", name="return to the queues").click()
    expect(page.get_by_role("heading", name="Your queues")).to_be_visible()
