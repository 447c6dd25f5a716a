"""The workspace's document viewer: PDF pages with evidence boxes; hostile HTML kept inert."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from review.models import Document, Item
from tests.browser.conftest import AsgiLiveServer, assert_accessible, log_in, screenshot
from tests.document_files import attach_only, pdf_bytes, processed_document
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILLER = [f"Section {n}: nothing to see in this line of the form." for n in range(1, 18)]
CLAIM_PAGES = [
    [
        "FIRST NOTICE OF LOSS",
        "Policy number: POL-4342221",
        "Claimed amount: EUR 1,250.00",
        "Type: auto",
        *FILLER,
    ],
    ["LOSS DETAILS", "Date of loss: 2024-03-02", "Rear-end collision at a red light."],
]
EVIDENCE = {
    "policy_number": {"quote": "POL-4342221"},
    "loss_date": {"quote": "Date of loss: 2024-03-02"},  # on page 2
    "amount": {"quote": "EUR 1,250.00"},
    "claim_type": {"quote": "Type: auto"},
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _item_with(document: Document) -> Item:
    reviewer = UserFactory(username="rita")
    queue = QueueFactory(slug="claims", name="Claim intake", reviewers=[reviewer])
    item = ingest(AgentFactory(queues=[queue]), confidence=0.3)
    attach_only(item, document, "claim", EVIDENCE)
    return item


def _open_workspace(page: Page) -> None:
    log_in(page, "rita")
    page.get_by_role("button", name="Start reviewing Claim intake").click()
    expect(page.locator("li.field.current")).to_have_count(1)


def test_a_fields_box_is_shown_on_its_page_when_the_field_is_focused(asgi_page: Page) -> None:
    _item_with(processed_document(pdf_bytes(CLAIM_PAGES), "application/pdf", "claim.pdf"))
    _open_workspace(asgi_page)
    first = asgi_page.locator('.page[data-page="1"] .box[data-fields="policy_number"]')
    expect(first).to_have_class("box match-exact active")
    expect(first).to_be_in_viewport()
    expect(asgi_page.locator(".page-of")).to_have_text("Page 1 of 2")
    screenshot(asgi_page, "viewer-pdf-1440x900")

    asgi_page.keyboard.press("j")  # the loss date: its evidence is on page 2
    expect(asgi_page.locator("li.field.current")).to_have_attribute("data-field", "loss_date")
    box = asgi_page.locator('.page[data-page="2"] .box[data-fields="loss_date"]')
    expect(box).to_have_class("box match-exact active")
    expect(box).to_be_in_viewport()
    expect(first).not_to_have_class("box match-exact active")
    expect(asgi_page.locator(".page-now")).to_have_text("2")
    screenshot(asgi_page, "viewer-pdf-page-2-1440x900")


def test_pages_are_walked_and_zoomed_with_keys_that_leave_the_review_keys_alone(
    asgi_page: Page,
) -> None:
    _item_with(processed_document(pdf_bytes(CLAIM_PAGES), "application/pdf"))
    _open_workspace(asgi_page)
    asgi_page.keyboard.press("]")
    expect(asgi_page.locator(".page-now")).to_have_text("2")
    asgi_page.keyboard.press("[")
    expect(asgi_page.locator(".page-now")).to_have_text("1")
    asgi_page.keyboard.press("+")
    expect(asgi_page.locator(".zoom-now")).to_have_text("125%")
    page_one = asgi_page.locator('.page[data-page="1"]').bounding_box()
    view = asgi_page.locator(".doc-scroll").bounding_box()
    assert page_one["width"] > view["width"]  # wider than the column: it scrolls sideways
    asgi_page.keyboard.press("-")
    asgi_page.keyboard.press("-")
    expect(asgi_page.locator(".zoom-now")).to_have_text("80%")
    asgi_page.get_by_role("button", name="Fit width").click()
    expect(asgi_page.locator(".zoom-now")).to_have_text("100%")
    # None of these keys decided anything.
    expect(asgi_page.locator("li.field.decided")).to_have_count(0)
    expect(asgi_page.locator("li.field.current")).to_have_attribute("data-field", "policy_number")


def test_the_workspace_with_a_pdf_is_accessible_and_fits_a_small_screen(asgi_page: Page) -> None:
    document = processed_document(pdf_bytes(CLAIM_PAGES), "application/pdf")
    Document.objects.filter(pk=document.pk).update(flags=["no_text_layer"])
    _item_with(document)
    asgi_page.set_viewport_size({"width": 1280, "height": 720})
    _open_workspace(asgi_page)
    expect(asgi_page.get_by_role("note")).to_contain_text("without a text layer")
    assert_accessible(asgi_page)
    # The whole workspace fits: nothing below the fold but what scrolls inside its column.
    assert asgi_page.evaluate("document.documentElement.scrollHeight") <= 720
    screenshot(asgi_page, "viewer-pdf-1280x720")


def test_the_item_record_shows_the_same_viewer(asgi_page: Page) -> None:
    item = _item_with(processed_document(pdf_bytes(CLAIM_PAGES), "application/pdf"))
    log_in(asgi_page, "rita")
    asgi_page.goto(f"/items/{item.pk}/")
    expect(asgi_page.locator(".box")).to_have_count(4)
    asgi_page.get_by_role("button", name="Next page").click()
    expect(asgi_page.locator(".page-now")).to_have_text("2")
    expect(asgi_page.locator('.page[data-page="2"] img')).to_be_in_viewport()
    assert_accessible(asgi_page)
    screenshot(asgi_page, "viewer-item-record")


def test_a_document_still_being_processed_appears_without_losing_the_reviewers_place(
    asgi_page: Page,
) -> None:
    document = processed_document(pdf_bytes(CLAIM_PAGES), "application/pdf")
    Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING)
    _item_with(document)
    _open_workspace(asgi_page)
    expect(asgi_page.locator(".doc-pending")).to_contain_text("being processed")
    asgi_page.keyboard.press("j")
    Document.objects.filter(pk=document.pk).update(status=Document.Status.READY)
    # The placeholder polls every 5 s and swaps the document in.
    expect(asgi_page.locator('.page[data-page="2"] img')).to_be_attached(timeout=12_000)
    expect(asgi_page.locator("li.field.current")).to_have_attribute("data-field", "loss_date")
    expect(asgi_page.locator('.box[data-fields="loss_date"]')).to_have_class(
        "box match-exact active"
    )


HOSTILE_HTML = """<html><head><title>Claim e-mail</title>
<script>parent.pwned = "script"; parent.document.title = "pwned"</script>
<link rel="stylesheet" href="http://example.invalid/style.css">
<style>body { background: url(http://example.invalid/bg.png) }</style>
</head><body onload="parent.pwned = 'onload'">
<p>Policy number: POL-4342221</p>
<p>Claimed amount: EUR 1,250.00</p>
<img src="http://example.invalid/x.png" onerror="parent.pwned = 'onerror'" alt="logo">
<a id="js" href="javascript:parent.pwned = 'link'">open the claim</a>
<iframe src="http://example.invalid/frame"></iframe>
<form action="http://example.invalid/steal"><button>Send</button></form>
</body></html>"""


def _hostile_document(sanitised: bool) -> Document:
    if sanitised:
        return processed_document(HOSTILE_HTML.encode(), "text/html", "claim.html")
    # The sanitiser bypassed: the sandbox and the policy must hold on their own.
    return Document.objects.create(
        sha256="f" * 64,
        content_type="text/html",
        size_bytes=len(HOSTILE_HTML),
        html=HOSTILE_HTML,
        text="Claim e-mail\nPolicy number: POL-4342221\nClaimed amount: EUR 1,250.00\n",
    )


@pytest.mark.parametrize("sanitised", [True, False], ids=["sanitised", "raw"])
def test_hostile_html_neither_runs_nor_calls_out(
    asgi_page: Page, asgi_live_server: AsgiLiveServer, sanitised: bool
) -> None:
    _item_with(_hostile_document(sanitised))
    ours = asgi_live_server.url
    # Requests that reached the network layer (anything the policy let through) are recorded
    # and stopped; requests the policy blocks in the renderer only ever fail with "csp".
    sent: list[str] = []
    asgi_page.route(lambda url: not url.startswith(ours), lambda route: _stop(route, sent))
    blocked: dict[str, str | None] = {}
    asgi_page.on("requestfailed", lambda request: blocked.update({request.url: request.failure}))
    asgi_page.on("request", lambda request: blocked.setdefault(request.url, "pending"))
    _open_workspace(asgi_page)
    frame = asgi_page.frame_locator("iframe.doc-html")
    expect(frame.locator("p").first).to_have_text("Policy number: POL-4342221")
    # The evidence is marked in the document's text under the frame.
    expect(asgi_page.locator("mark.active")).to_have_text("POL-4342221")
    if frame.locator("a#js").count():
        frame.locator("a#js").click()
    asgi_page.wait_for_timeout(500)  # time for anything that would run, or load, to do so
    screenshot(asgi_page, f"viewer-html-{'sanitised' if sanitised else 'raw'}")

    assert asgi_page.evaluate("typeof window.pwned") == "undefined"
    assert asgi_page.title().startswith("Item #")
    assert sent == []
    outside = {url: why for url, why in blocked.items() if not url.startswith((ours, "data:"))}
    assert set(outside.values()) <= {"csp"}, outside
    if not sanitised:
        assert outside  # the raw page did try: the policy is what stopped it


def _stop(route: Route, sent: list[str]) -> None:
    sent.append(route.request.url)
    route.abort()
