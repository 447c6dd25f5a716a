"""The lead dashboard in Chromium: tiles that move live, charts that open the items behind them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import AsgiLiveServer, assert_accessible, log_in, screenshot
from tests.browser.test_asgi_server import agent_token, doubtful_payload, post_json
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_tile_counts_an_item_the_moment_an_agent_sends_it(
    asgi_page: Page, asgi_live_server: AsgiLiveServer
) -> None:
    lena = UserFactory(username="lena")
    claims = QueueFactory(slug="claims", name="Claim intake", leads=[lena])
    token = agent_token(claims)

    log_in(asgi_page, "lena")
    asgi_page.goto("/dashboard/")
    expect(asgi_page.locator("body")).to_have_attribute("data-live", "on")
    expect(asgi_page.get_by_test_id("tile-arrivals")).to_have_text("0")
    expect(asgi_page.get_by_test_id("tile-backlog")).to_have_text("0")
    asgi_page.evaluate("() => { window.sameDocument = true; }")

    status, _ = post_json(
        f"{asgi_live_server.url}/api/v1/items",
        doubtful_payload(queue="claims", external_id="claim-1"),
        token=token,
    )
    assert status == 201
    # The tiles poll every 60 s; this comes well before, over the websocket.
    expect(asgi_page.get_by_test_id("tile-arrivals")).to_have_text("1", timeout=5000)
    expect(asgi_page.get_by_test_id("tile-backlog")).to_have_text("1")
    assert asgi_page.evaluate("() => window.sameDocument") is True


def test_clicking_a_day_on_the_volume_chart_opens_that_days_items(page: Page) -> None:
    lena = UserFactory(username="lena")
    claims = QueueFactory(slug="claims", name="Claim intake", leads=[lena])
    bot = AgentFactory(slug="claims-bot", queues=[claims])
    arrived = [ingest(bot, external_id=f"claim-{n}") for n in range(3)]
    other = QueueFactory(slug="other", name="Other")
    ingest(AgentFactory(slug="other-bot", queues=[other]), queue="other", external_id="not-mine")

    log_in(page, "lena")
    page.goto("/dashboard/")
    expect(page.get_by_test_id("tile-arrivals")).to_have_text("3")
    page.wait_for_function("() => document.getElementById('chart-volume').chart !== undefined")
    # The last point of the "Arrived" line is today; click where Chart.js drew it.
    page.locator("#chart-volume").scroll_into_view_if_needed()
    box = page.locator("#chart-volume").bounding_box()
    x, y = page.evaluate(
        """() => { const chart = document.getElementById('chart-volume').chart;
                   const points = chart.getDatasetMeta(0).data;
                   const last = points[points.length - 1];
                   return [last.x, last.y]; }"""
    )
    screenshot(page, "dashboard-lead")
    assert_accessible(page)
    page.mouse.click(box["x"] + x, box["y"] + y)

    expect(page).to_have_url(re.compile(r"/dashboard/items/\?.*metric=arrivals"))
    expect(page.get_by_role("heading", level=1)).to_have_text("3 items that arrived")
    rows = page.get_by_test_id("drill-items").locator("tbody tr")
    expect(rows).to_have_count(3)
    for item in arrived:
        expect(page.locator(f'tr[data-item="{item.pk}"]')).to_be_visible()
    expect(page.get_by_text("not-mine")).to_have_count(0)
    screenshot(page, "dashboard-drill-down")
