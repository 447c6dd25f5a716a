"""axe-core on the pages, in real Chromium: no serious or critical WCAG 2.x A/AA violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import assert_accessible, log_in
from tests.factories import QueueFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_is_accessible(asgi_page: Page) -> None:
    UserFactory(username="rita")

    asgi_page.goto("/accounts/login/")
    assert_accessible(asgi_page)
    # The error state too: the alert is the part a screen reader must announce.
    log_in(asgi_page, "rita", password="not-the-password")
    expect(asgi_page.get_by_role("alert")).to_be_visible()
    assert_accessible(asgi_page)


def test_queues_page_is_accessible(asgi_page: Page) -> None:
    rita = UserFactory(username="rita")
    QueueFactory(slug="claims", name="Claim intake", reviewers=[rita])
    QueueFactory(slug="invoices", name="Invoices", reviewers=[rita])

    log_in(asgi_page, "rita")
    expect(asgi_page.get_by_role("row", name="Claim intake")).to_be_visible()
    assert_accessible(asgi_page)


def test_queues_page_without_queues_is_accessible(asgi_page: Page) -> None:
    UserFactory(username="newcomer")

    log_in(asgi_page, "newcomer")
    expect(asgi_page.get_by_text("not a member of any queue")).to_be_visible()
    assert_accessible(asgi_page)


def test_assert_accessible_lists_every_serious_violation(browser: Browser) -> None:
    """The helper itself: a page with known faults fails, naming each rule and node."""
    page = browser.new_page()
    try:
        page.set_content('<img src="data:,"><button id="mute"></button><p>fine</p>')
        with pytest.raises(pytest.fail.Exception) as failure:
            assert_accessible(page)
        # Limited to one part of the page, the faults elsewhere do not count.
        assert_accessible(page, context="p")
    finally:
        page.close()
    message = str(failure.value)
    assert "image-alt (critical): Images must have alternative text" in message
    assert "button-name (critical)" in message
    assert "    #mute" in message
