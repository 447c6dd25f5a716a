"""The viewer's pages: page images and sandboxed HTML, each only for people who may see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review import selectors
from review.models import Document
from review.workspace import build_workspace
from tests.document_files import attach_only, pdf_bytes, processed_document
from tests.factories import QueueFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db

HOSTILE_HTML = (
    b"<html><head><title>Claim</title><script>parent.pwned = 1</script></head><body>"
    b"<p>Policy number: POL-4342221</p>"
    b'<img src="http://example.invalid/x.png" onerror="parent.pwned = 2">'
    b'<a href="javascript:parent.pwned = 3">open</a></body></html>'
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def pdf_item(agent):
    item = ingest(agent)
    document = processed_document(
        pdf_bytes([["FIRST NOTICE OF LOSS"], ["Policy number: POL-4342221"]]), "application/pdf"
    )
    attach_only(item, document, "claim", {"policy_number": {"quote": "POL-4342221"}})
    return item, document


@pytest.fixture
def outsider(db):
    person = UserFactory(username="nadia")
    QueueFactory(slug="other", reviewers=[person])  # a reviewer, but of another queue
    return person


def test_a_page_image_is_served_to_a_reviewer_of_the_queue(client, reviewer, pdf_item):
    _, document = pdf_item
    client.force_login(reviewer)
    response = client.get(reverse("review:document-page", args=[document.pk, 2]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert response["Cache-Control"] == "private, max-age=86400"
    assert client.get(reverse("review:document-page", args=[document.pk, 3])).status_code == 404


def test_outsiders_get_404_for_pages_and_html(client, outsider, pdf_item):
    _, document = pdf_item
    client.force_login(outsider)
    assert client.get(reverse("review:document-page", args=[document.pk, 1])).status_code == 404
    assert client.get(reverse("review:document-html", args=[document.pk])).status_code == 404
    client.logout()
    response = client.get(reverse("review:document-page", args=[document.pk, 1]))
    assert response.status_code == 302  # to the sign-in page


def test_html_is_served_sanitised_with_a_strict_policy_and_frameable_by_us_only(
    client, reviewer, agent
):
    item = ingest(agent)
    document = processed_document(HOSTILE_HTML, "text/html")
    attach_only(item, document, "mail", {"policy_number": {"quote": "POL-4342221"}})
    client.force_login(reviewer)
    response = client.get(reverse("review:document-html", args=[document.pk]))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert "img-src data:" in csp and "script-src" not in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"<script" not in response.content and b"onerror" not in response.content
    # Every other page keeps the project's default.
    assert client.get(reverse("review:item", args=[item.pk]))["X-Frame-Options"] == "DENY"


def test_a_document_without_html_has_no_html_view(client, reviewer, pdf_item):
    _, document = pdf_item
    client.force_login(reviewer)
    assert client.get(reverse("review:document-html", args=[document.pk])).status_code == 404


def test_the_workspace_places_evidence_on_the_right_page(pdf_item, django_assert_num_queries):
    item, document = pdf_item
    details = selectors.item_with_details(type(item).objects.filter(pk=item.pk))
    # item, fields, reasons, documents, pages, reviews; the char boxes of the page with evidence
    with django_assert_num_queries(7):
        ws = build_workspace(details.get(), None)
    [doc] = ws.documents
    assert (doc.kind, doc.ready, [p.number for p in doc.pages]) == ("paged", True, [1, 2])
    assert doc.pages[0].boxes == []
    [box] = doc.pages[1].boxes
    assert (box.field, box.match) == ("policy_number", "exact")
    assert box.style.startswith("left: ") and box.style.endswith("%")
    assert doc.pages[1].url == reverse("review:document-page", args=[document.pk, 2])


def test_the_item_page_shows_pages_boxes_and_notices(client, reviewer, pdf_item):
    item, document = pdf_item
    Document.objects.filter(pk=document.pk).update(flags=["no_text_layer"])
    client.force_login(reviewer)
    page = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert page.count('loading="lazy"') == 2
    assert 'class="box match-exact" data-fields="policy_number"' in page
    assert "without a text layer" in page


def test_a_document_being_processed_says_so_and_polls(client, reviewer, pdf_item):
    item, document = pdf_item
    Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING)
    client.force_login(reviewer)
    page = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert "being processed" in page and 'hx-trigger="every 5s"' in page
    assert "<img" not in page
