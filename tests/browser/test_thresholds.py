"""A lead's threshold forecast page, in real Chromium: move a slider, then apply the advice."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from agents.calibration import selectors
from review.models import QueuePolicyVersion
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.calibration_helpers import labeled_items, one_field, reviewed
from tests.factories import AgentFactory, QueueFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_moves_a_slider_and_applies_the_advice(page: Page) -> None:
    selectors.calibration_cache_clear()
    rita, lena = UserFactory(username="rita"), UserFactory(username="lena")
    claims = QueueFactory(slug="claims", name="Claim intake", reviewers=[rita], leads=[lena])
    agent = AgentFactory(slug="claims-bot", queues=[claims])
    # 500 right at 0.97, 100 at 0.90 with 10 wrong, 100 at 0.80 with 30 wrong: the 1 % target
    # is met from 0.91 up; today's 0.85 leaves the 100 at 0.80 to people.
    pairs = (
        [(0.97, True)] * 500
        + [(0.90, i >= 10) for i in range(100)]
        + [(0.80, i >= 30) for i in range(100)]
    )
    items = labeled_items(agent, claims, one_field("amount", pairs))
    reviewed(items[-100:], rita, seconds=120)

    log_in(page, "lena")
    page.goto("/queues/claims/thresholds/")
    expect(page.get_by_test_id("advice-amount")).to_contain_text("0.91")
    automation = page.get_by_test_id("projection-automation")
    expect(automation).to_have_text("85.7%")
    screenshot(page, "thresholds-1440x900")
    assert_accessible(page)

    slider = page.get_by_test_id("slider-amount")
    slider.focus()
    for _ in range(10):  # 0.85 -> 0.75, as a person would with the arrow key
        page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("slider-value-amount")).to_have_text("0.75")
    expect(automation).to_have_text("100.0%")
    expect(page.get_by_test_id("projection-human")).to_have_text("0.0")
    screenshot(page, "thresholds-slider-moved-1440x900")

    page.get_by_role("button", name="Apply the advice").click()
    expect(page.locator(".flash-success")).to_contain_text("policy v2")
    version = QueuePolicyVersion.objects.get(queue=claims, version=2)
    assert version.reason == "Threshold advice for a target escaped-error rate of 1.0%"
    assert version.changed_by == "lena"
    expect(page.get_by_test_id("slider-value-amount")).to_have_text("0.91")
    screenshot(page, "thresholds-applied-1440x900")
    selectors.calibration_cache_clear()
