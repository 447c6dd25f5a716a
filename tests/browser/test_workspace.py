"""The review workspace as a reviewer uses it: keyboard only, two reviewers at once, axe."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import Browser, Page, expect

from review.models import FieldLabel, Item, Review
from tests.browser.conftest import AsgiLiveServer, assert_accessible, log_in, screenshot
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _queue_with_items(*reviewers: str, items: int = 3):  # noqa: ANN202
    people = [UserFactory(username=name) for name in reviewers]
    queue = QueueFactory(slug="claims", name="Claim intake", reviewers=people)
    agent = AgentFactory(queues=[queue])
    return queue, [
        ingest(agent, external_id=f"claim-{n}", confidence=0.3 + n / 100) for n in range(items)
    ]


def open_workspace(page: Page) -> None:
    page.get_by_role("button", name="Start reviewing Claim intake").click()
    # The workspace script marks the first field current once it listens for keys.
    expect(page.locator("li.field.current")).to_have_count(1)


class Keys:
    """Presses keys and counts them, to report what one item costs a reviewer."""

    def __init__(self, page: Page) -> None:
        self.page, self.count = page, 0

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


def test_a_reviewer_corrects_a_field_and_approves_with_the_keyboard_only(asgi_page: Page) -> None:
    _, items = _queue_with_items("rita")
    log_in(asgi_page, "rita")
    keys = Keys(asgi_page)
    asgi_page.get_by_role("button", name="Start reviewing Claim intake").focus()
    keys.press("Enter")
    expect(asgi_page.locator("li.field.current")).to_have_count(1)
    first = int(asgi_page.locator("#workspace").get_attribute("data-item"))
    assert first == items[0].pk  # lowest confidence, highest risk first
    screenshot(asgi_page, "workspace-1440x900")

    # The first field has focus and its evidence is emphasised in the source.
    expect(asgi_page.locator("li.field.current")).to_have_attribute("data-field", "policy_number")
    expect(asgi_page.locator("mark.active")).to_have_text("PN-4471-0923")

    keys.press("a", "a")  # policy number and loss date are right
    expect(asgi_page.locator("li.field.current")).to_have_attribute("data-field", "amount")
    keys.press("e")  # correct the amount: the input takes focus
    expect(asgi_page.locator("#f2-value")).to_be_focused()
    keys.type("1205.5")
    keys.press("Enter")  # on to "why was it wrong?"
    expect(asgi_page.locator("#f2-reason")).to_be_focused()
    keys.press("ArrowDown", "ArrowDown")  # "Misread characters"
    keys.press("Enter")  # next open field
    expect(asgi_page.locator("li.field.current")).to_have_attribute("data-field", "claim_type")
    keys.press("a")
    keys.press("Shift+A")  # approve

    # The next item arrives in place, no full page load.
    expect(asgi_page.locator("#workspace")).not_to_have_attribute("data-item", str(first))
    assert asgi_page.url.endswith(f"/review/{items[1].pk}/")
    label = FieldLabel.objects.get(field__item_id=first, field__name="amount")
    assert (label.verdict, label.final_value, label.correction_reason) == (
        "corrected",
        1205.5,
        "misread",
    )
    review = Review.objects.get(item_id=first)
    assert review.decision == "approve" and review.active_seconds is not None
    assert Item.objects.get(pk=first).status == Item.Status.APPROVED
    print(f"\nkeystrokes for one item with one correction: {keys.count}")
    assert keys.count <= 16


def test_help_overlay_lists_the_keys(asgi_page: Page) -> None:
    _queue_with_items("rita", items=1)
    log_in(asgi_page, "rita")
    open_workspace(asgi_page)
    asgi_page.keyboard.press("?")
    dialog = asgi_page.get_by_role("dialog", name="Keyboard")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Escalate to a lead")
    asgi_page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_reject_needs_a_reason_code_and_says_so_next_to_it(asgi_page: Page) -> None:
    _queue_with_items("rita", items=2)
    log_in(asgi_page, "rita")
    open_workspace(asgi_page)
    first = asgi_page.locator("#workspace").get_attribute("data-item")
    asgi_page.keyboard.press("Shift+R")
    expect(asgi_page.locator("#reject-reason")).to_be_focused()
    asgi_page.keyboard.press("Control+Enter")  # no reason chosen
    expect(asgi_page.locator("#reject-reason-error")).to_contain_text("say why you reject")
    assert not Review.objects.exists()
    asgi_page.locator("#reject-reason").select_option("illegible")
    asgi_page.keyboard.press("Control+Enter")
    expect(asgi_page.locator("#workspace")).not_to_have_attribute("data-item", first)
    assert Item.objects.get(pk=first).status == Item.Status.REJECTED


def test_two_reviewers_starting_at_the_same_moment_get_different_items(
    browser: Browser, asgi_live_server: AsgiLiveServer
) -> None:
    _queue_with_items("rita", "omar", items=2)
    pages = []
    for name in ("rita", "omar"):
        context = browser.new_context(
            base_url=asgi_live_server.url, viewport={"width": 1280, "height": 720}
        )
        page = context.new_page()
        log_in(page, name)
        pages.append(page)
    # Both forms are submitted before either answer is awaited.
    start = threading.Barrier(1)
    start.wait()
    for page in pages:
        page.evaluate("document.querySelector('form[action=\"/queues/claims/start\"]').submit()")
    for page in pages:
        page.wait_for_url("**/review/*/")
    held = {page.locator("#workspace").get_attribute("data-item") for page in pages}
    assert len(held) == 2
    for page in pages:
        page.context.close()


def test_workspace_and_queues_have_no_serious_accessibility_violations(asgi_page: Page) -> None:
    _queue_with_items("rita", items=2)
    log_in(asgi_page, "rita")
    assert_accessible(asgi_page)
    open_workspace(asgi_page)
    assert_accessible(asgi_page)
    asgi_page.keyboard.press("e")  # with a correction open
    assert_accessible(asgi_page)
    asgi_page.set_viewport_size({"width": 1280, "height": 720})
    screenshot(asgi_page, "workspace-1280x720")
