"""The agent page in Chromium: its owner sees the charts drawn, creates a token and sees it once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agents.calibration.services import calibrator_fit
from review.models import Item
from tests.agents.webhooks_support import Receiver, Reply, endpoint_for
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.calibration_helpers import labeled_items
from tests.dashboard_helpers import at, decide_at
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


def weeks_of_reviews(agent, queue, reviewer) -> None:  # noqa: ANN001
    """Two reviewed items a week for eight weeks, the later ones corrected less often."""
    today = timezone.localdate()
    for week in range(8):
        for n in range(2):
            when = at(today - dt.timedelta(weeks=7 - week, days=n), 11)
            item = ingest(agent, external_id=f"w{week}-{n}")
            Item.objects.filter(pk=item.pk).update(created_at=when)
            # decide_at corrects to "home": a valid value of the two text fields only.
            wrong = ("claim_type", "policy_number", None)[(week + n) % 3] if week < 6 else None
            decide_at(queue, reviewer, item, when=when, seconds=40, corrected=wrong)


def calibration_history(agent, queue) -> None:  # noqa: ANN001
    """Enough labels for a calibrator on one field (over-confident), too few on another."""
    long_ago = timezone.now() - dt.timedelta(days=120)
    over_confident = [
        {"amount": (0.55 + 0.4 * (n % 10) / 10, n % 10 >= 4 + (n % 3))} for n in range(240)
    ]
    labeled_items(agent, queue, over_confident, version="v1.0", created_at=long_ago)
    labeled_items(
        agent, queue, [{"claim_type": (0.9, True)}] * 12, version="v1.0", created_at=long_ago
    )
    assert calibrator_fit(key=(agent.pk, "v1.0", "amount")) is not None


@pytest.fixture
def world(settings, receiver):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    owner = UserFactory(username="olga", first_name="Olga", last_name="Owner")
    rita = UserFactory(username="rita")
    claims = QueueFactory(slug="claims", name="Claim intake", reviewers=[rita])
    agent = AgentFactory(slug="claims-bot", name="Claims bot", owner=owner, queues=[claims])
    weeks_of_reviews(agent, claims, rita)
    calibration_history(agent, claims)
    # A long receiver URL: it must wrap, not widen the page.
    path = "/hooks/accountability/claims-bot/production/" + "x" * 90 + "?tenant=acme-insurance"
    endpoint_for(agent, receiver.url(path), events=["item.auto_accepted"])
    receiver.script(path, Reply(status=503, body=b'{"error": "warming up"}'))
    ingest(agent, external_id="auto-1", confidence=0.99)
    ingest(agent, external_id="auto-2", confidence=0.99)
    return agent


def test_owner_sees_the_charts_and_a_new_token_exactly_once(page: Page, world) -> None:
    log_in(page, "olga")
    page.get_by_role("link", name="Agents", exact=True).click()
    page.get_by_role("link", name="Claims bot").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Claims bot")
    for canvas in ("chart-corrections", "calibration-0"):
        page.wait_for_function(f"() => document.getElementById('{canvas}')?.chart !== undefined")
    canvases, drawn = page.evaluate(
        "() => { const all = [...document.querySelectorAll('canvas')];"
        "        return [all.length, all.filter(c => c.chart).length]; }"
    )
    # The correction chart and a reliability diagram per labeled field of v1.0.
    assert canvases == drawn == 1 + 4
    expect(page.get_by_test_id("deliveries-table").locator("tbody tr")).to_have_count(2)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1440, "something (a long URL?) widens the page"
    screenshot(page, "agent-page-owner")
    assert_accessible(page)

    page.get_by_label("Name").fill("nightly batch")
    page.get_by_role("button", name="Create token").click()

    secret = page.get_by_test_id("secret-value")
    expect(secret).to_have_text(re.compile(r"^acc_[\w-]{40,}$"))
    raw = secret.inner_text()
    expect(page.get_by_text("Copy it now: this is the only time it is shown.")).to_be_visible()
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator(".copy-status")).not_to_be_empty()
    screenshot(page, "agent-page-token-created")
    assert_accessible(page, context="#main")

    page.reload()
    expect(page.get_by_test_id("tokens-table")).to_contain_text("nightly batch")
    expect(page.get_by_test_id("secret-value")).to_have_count(0)
    assert raw not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("Revoked token")).to_be_visible()
    expect(page.get_by_test_id("tokens-table")).to_contain_text("Revoked")


def test_a_lead_sees_the_page_read_only(page: Page) -> None:
    lena = UserFactory(username="lena")
    claims = QueueFactory(slug="claims", name="Claim intake", leads=[lena])
    AgentFactory(slug="claims-bot", name="Claims bot", queues=[claims])

    log_in(page, "lena")
    page.goto("/agents/")
    page.get_by_role("link", name="Claims bot").click()

    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_role("button", name="Create token")).to_have_count(0)
    expect(page.get_by_role("button", name="Stop automation")).to_be_visible()
    expect(page.get_by_test_id("calibration-empty")).to_be_visible()
    screenshot(page, "agent-page-lead-empty")
    assert_accessible(page)
