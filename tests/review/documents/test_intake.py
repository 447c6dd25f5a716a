from __future__ import annotations

import pytest

from accountability.audit import Actor
from accountability.models import AuditEvent
from review.documents import sniff
from review.documents.intake import DocumentTooLarge, UnsupportedDocument, document_store
from review.models import Document
from tests.factories import AgentFactory
from tests.review.documents.samples import image_bytes, pdf_bytes, random_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

ACTOR = Actor.system("tests")


def store(data: bytes, agent=None, filename: str = "doc"):  # noqa: ANN001, ANN201
    return document_store(data=data, filename=filename, agent=agent, actor=ACTOR)


def stored_files(media) -> list:  # noqa: ANN001
    return [path for path in media.rglob("*") if path.is_file()]


def test_text_is_ready_at_once_and_its_bytes_are_kept(media, agent):
    document, created = store("\ufeffPolicy PN-1 – ok\n".encode(), agent, "notes/../form.txt")
    assert created
    assert document.status == Document.Status.READY
    assert document.content_type == sniff.TEXT
    assert document.text == "Policy PN-1 – ok\n"  # without the BOM
    assert document.filename == "form.txt"
    assert list(document.agents.all()) == [agent]
    [path] = stored_files(media)
    assert path.read_bytes() == "\ufeffPolicy PN-1 – ok\n".encode()
    assert path.name == f"{document.sha256}.txt"  # named by content, not by the agent


def test_pdf_waits_and_is_processed_on_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document, _ = store(pdf_bytes(2))
    assert document.status == Document.Status.PENDING
    assert len(callbacks) == 1
    callbacks[0]()
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert document.page_count == 2


def test_a_png_named_pdf_is_still_a_png(media):
    document, _ = store(image_bytes("PNG"), filename="scan.pdf")
    assert document.content_type == sniff.PNG
    assert document.filename == "scan.pdf"
    assert document.file.name.endswith(".png")


def test_same_bytes_are_stored_once_for_every_agent(media, agent):
    other = AgentFactory()
    first, created_first = store(b"Same content\n", agent)
    second, created_second = store(b"Same content\n", other)
    assert (created_first, created_second) == (True, False)
    assert second.pk == first.pk
    assert set(first.agents.all()) == {agent, other}
    assert len(stored_files(media)) == 1
    events = AuditEvent.objects.filter(action="review.document.stored", target_id=str(first.pk))
    assert [e.data["created"] for e in events.order_by("id")] == [True, False]


def test_stored_event_records_what_came_in():
    document, _ = store(b"Some text\n", filename="a.txt")
    event = AuditEvent.objects.get(action="review.document.stored")
    assert event.actor_label == "tests"
    assert event.data == {
        "sha256": document.sha256,
        "content_type": "text/plain",
        "size_bytes": 10,
        "filename": "a.txt",
        "created": True,
    }


def test_too_many_bytes_is_refused_with_a_sentence(settings, media):
    settings.DOCUMENT_MAX_BYTES = 100
    with pytest.raises(DocumentTooLarge) as refused:
        store(b"x" * 101)
    assert refused.value.message == "The file is 101 bytes; the limit is 100 bytes."
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_too_many_pdf_pages_is_refused_with_a_sentence(settings):
    settings.DOCUMENT_MAX_PAGES = 2
    with pytest.raises(DocumentTooLarge) as refused:
        store(pdf_bytes(3))
    assert refused.value.message == "The PDF has 3 pages; the limit is 2."
    assert not Document.objects.exists()


def test_an_encrypted_pdf_cannot_be_counted_and_is_accepted(settings):
    settings.DOCUMENT_MAX_PAGES = 0
    document, created = store(pdf_bytes(1, password="secret"))
    assert created
    assert document.content_type == sniff.PDF


@pytest.mark.parametrize(
    ("data", "says"),
    [(random_bytes(), "could not be recognised"), (b"", "The file is empty.")],
    ids=["unknown", "empty"],
)
def test_unsupported_content_is_refused_with_a_sentence(data, says):
    with pytest.raises(UnsupportedDocument) as refused:
        store(data)
    assert says in refused.value.message
    assert not Document.objects.exists()


def test_uploading_a_failed_document_again_retries_it(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        document, _ = store(pdf_bytes(1))
    Document.objects.filter(pk=document.pk).update(status=Document.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, created = store(pdf_bytes(1))
    assert (again.pk, created, len(callbacks)) == (document.pk, False, 1)
    document.refresh_from_db()
    assert document.status == Document.Status.READY


def test_a_repeat_of_a_waiting_document_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        store(pdf_bytes(1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        store(pdf_bytes(1))
    assert callbacks == []
