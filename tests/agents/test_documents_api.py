"""Uploading source documents as an agent, and reading back their processing status."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accountability.audit import Actor
from accountability.models import AuditEvent
from agents import services as agent_services
from review.models import Document
from tests.factories import AgentFactory, UserFactory
from tests.review.documents.samples import image_bytes, pdf_bytes, random_bytes

pytestmark = pytest.mark.django_db

UPLOAD = "/api/v1/documents"
TEXT = b"Policy number: PN-4471-0923\nDate of loss: 2024-03-02\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENT_RENDER_DPI = 36
    return tmp_path


def client_for(agent) -> APIClient:  # noqa: ANN001
    actor = Actor.system("tests")
    _, raw = agent_services.agent_token_create(agent=agent, created_by=None, actor=actor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def upload(client: APIClient, data: bytes, name: str = "claim.pdf"):  # noqa: ANN201
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def test_multipart_upload_is_stored_and_processed(
    agent_client, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(agent_client, pdf_bytes(2))
    assert response.status_code == 201
    body = response.json()
    document = Document.objects.get(pk=body["id"])
    assert body == {
        "id": document.pk,
        "sha256": document.sha256,
        "content_type": "application/pdf",
        "status": "pending",  # processing runs after the answer is built
        "page_count": 0,
        "flags": [],
    }
    assert document.filename == "claim.pdf"
    assert list(document.agents.all()) == [agent]
    assert AuditEvent.objects.get(action="review.document.stored").actor_label == "agent:claims-bot"
    detail = agent_client.get(f"{UPLOAD}/{document.pk}").json()
    assert (detail["status"], detail["page_count"], detail["error"]) == ("ready", 2, "")


def test_base64_json_upload_with_line_breaks(agent_client):
    encoded = base64.encodebytes(TEXT).decode()  # wrapped at 76 characters, as encoders do
    response = agent_client.post(
        UPLOAD, {"filename": "form.txt", "content_base64": encoded}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["content_type"], body["status"]) == ("text/plain", "ready")
    assert Document.objects.get(pk=body["id"]).text == TEXT.decode()


def test_the_same_bytes_again_answer_200_with_the_same_document(agent_client):
    first = upload(agent_client, TEXT, "a.txt")
    again = upload(agent_client, TEXT, "b.txt")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_too_large_is_413_with_a_sentence(agent_client, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    response = upload(agent_client, TEXT)
    assert response.status_code == 413
    assert response.json() == {"detail": f"The file is {len(TEXT)} bytes; the limit is 10 bytes."}


def test_too_many_pages_is_413(agent_client, settings):
    settings.DOCUMENT_MAX_PAGES = 1
    response = upload(agent_client, pdf_bytes(2))
    assert response.status_code == 413
    assert response.json()["detail"] == "The PDF has 2 pages; the limit is 1."


def test_unknown_content_is_415_whatever_the_name(agent_client):
    response = upload(agent_client, random_bytes(), "claim.pdf")
    assert response.status_code == 415
    assert "could not be recognised" in response.json()["detail"]
    assert not Document.objects.exists()


def test_content_decides_the_type_not_the_name(agent_client):
    body = upload(agent_client, image_bytes("PNG"), "claim.pdf").json()
    assert body["content_type"] == "image/png"


def test_bad_base64_is_400_naming_the_field(agent_client):
    response = agent_client.post(UPLOAD, {"content_base64": "not*base64!"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["content_base64"]


def test_no_file_at_all_is_400(agent_client):
    response = agent_client.post(UPLOAD, {"filename": "x.pdf"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]


def test_an_upload_may_exceed_the_api_body_limit_up_to_the_document_limit(agent_client, settings):
    settings.API_MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.DOCUMENT_MAX_BYTES = 20_000
    text = b"A line of a long claim form.\n" * 300  # 8.7 KB, 11.6 KB as base64
    payload = {"content_base64": base64.b64encode(text).decode()}
    assert agent_client.post(UPLOAD, payload, format="json").status_code == 201
    assert upload(agent_client, text + b"\n").status_code == 201
    assert agent_client.post("/api/v1/items", payload, format="json").status_code == 413
    payload = {"content_base64": base64.b64encode(text * 12).decode()}  # 139 KB
    response = agent_client.post(UPLOAD, payload, format="json")
    assert response.status_code == 413  # refused by the middleware, before parsing
    assert response.json()["detail"].startswith("Request body is")


def test_an_agent_sees_only_documents_it_uploaded(agent_client):
    theirs = upload(client_for(AgentFactory()), TEXT).json()
    assert agent_client.get(f"{UPLOAD}/{theirs['id']}").status_code == 404
    upload(agent_client, TEXT)  # the same bytes, now sent by this agent too
    assert agent_client.get(f"{UPLOAD}/{theirs['id']}").status_code == 200


def test_people_cannot_upload(agent):
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert upload(client, TEXT).status_code == 403


def test_the_schema_documents_both_bodies(agent_client):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    upload_op = schema.json()["paths"]["/api/v1/documents"]["post"]
    assert set(upload_op["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"201", "200", "413", "415"} <= set(upload_op["responses"])


def test_malformed_json_is_400(agent_client):
    response = agent_client.post(UPLOAD, b"{not json", content_type="application/json")
    assert response.status_code == 400
