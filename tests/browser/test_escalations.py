"""A lead's escalation list, in real Chromium against the live server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from review import services
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.browser.test_pages import ingest_doubtful
from tests.factories import QueueFactory, UserFactory

# The live server answers from another thread, so the data must really be committed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_sees_the_escalated_item_with_the_reviewers_reason(page: Page) -> None:
    rita, lena = UserFactory(username="rita"), UserFactory(username="lena")
    claims = QueueFactory(slug="claims", name="Claim intake", reviewers=[rita], leads=[lena])
    ingest_doubtful(claims, "claim-1")
    lease = services.lease_claim_next(queue=claims, reviewer=rita)
    assert lease is not None
    services.item_decide(
        item_id=lease.item_id,
        reviewer=rita,
        lease_token=lease.token,
        decision="escalate",
        fields=[],
        reason="suspected_fraud",
        comment="Same plate as last week's claim",
    )

    log_in(page, "lena")
    expect(page.get_by_test_id("escalated-claims")).to_have_text("1 escalated")
    page.get_by_test_id("escalated-claims").click()
    expect(page.get_by_role("heading", name="Escalations")).to_be_visible()
    reason = page.get_by_test_id(f"escalation-reason-{lease.item_id}")
    expect(reason).to_contain_text("rita")
    expect(reason).to_contain_text("Suspected fraud")
    expect(reason).to_contain_text("Same plate as last week's claim")
    screenshot(page, "escalations-1440x900")
    assert_accessible(page)

    page.get_by_role("button", name=f"Claim and decide item {lease.item_id}").click()
    expect(page.get_by_test_id("escalation-note")).to_contain_text("Suspected fraud")
    screenshot(page, "escalation-workspace-1440x900")

    page.goto(f"/items/{lease.item_id}/")
    expect(page.get_by_role("heading", name="Lead actions")).to_be_visible()
    page.get_by_role("button", name="Reassign").click()
    expect(page.locator("#reassign-reason-error")).to_be_visible()
    screenshot(page, "item-lead-actions-error-1440x900")
    assert_accessible(page)
