"""The production shape end to end: `honcho start` on the Procfile (uvicorn with two workers,
a Celery worker and beat) against PostgreSQL and Redis, driven over HTTP as an agent, a
reviewer and the agent's webhook receiver would, behind a (simulated) TLS-terminating proxy.

Needs PostgreSQL and Redis (the CI's second pass); it makes its own database, because the
processes it starts cannot see the pytest one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.conf import settings
from websockets.sync.client import connect as websocket_connect

from tests.conftest import ON_POSTGRES
from tests.document_files import pdf_bytes
from tests.production.support import (
    Http,
    Stack,
    WebhookReceiver,
    free_port,
    manage,
    production_env,
    standard_webhook_valid,
    throwaway_database,
)

pytestmark = pytest.mark.skipif(
    not (ON_POSTGRES and settings.REDIS_URL),
    reason="the production shape needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)",
)

LEAD = "lena"
PASSWORD = "a-long-enough-test-password"
QUEUES = {
    "queues": [
        {
            "slug": "claims",
            "name": "Claim intake",
            "default_threshold": 0.9,
            "qa_sample_rate": 0,
            "fields": [
                {"name": "policy_number", "type": "string", "required": True},
                {"name": "amount", "type": "number", "required": True},
            ],
            "reviewers": [LEAD],
            "leads": [LEAD],
        }
    ]
}
# migrate, collectstatic and the people, queue, agent and tokens, as an operator would set them
# up (the same commands), in one process: each manage.py start costs seconds on two cores.
SETUP = """
import io, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from agents.models import Agent

def run(*args, **options):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else ""

run("migrate", verbosity=0)
run("collectstatic", interactive=False, verbosity=0)
get_user_model().objects.create_user({lead!r}, password={password!r})
run("applyqueues", {queues!r})
agent_token = run("createagent", "claims-bot", owner={lead!r}, queue=["claims"])
person_token = run("createtoken", {lead!r})
print(json.dumps({{
    "agent_id": Agent.objects.get(slug="claims-bot").pk,
    "agent_token": agent_token,
    "person_token": person_token,
}}))
"""


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def production(tmp_path: Path) -> Iterator[tuple[Stack, dict]]:
    """The stack, started on a new database set up for one lead; and that setup's ids and
    tokens."""
    port = free_port()
    with throwaway_database() as database_url:
        env = production_env(
            DATABASE_URL=database_url,
            REDIS_URL=settings.REDIS_URL,
            ALLOWED_HOSTS="127.0.0.1",
            CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
            SITE_URL=f"https://127.0.0.1:{port}",
            MEDIA_ROOT=str(tmp_path / "media"),
            STATIC_ROOT=str(tmp_path / "static"),
            CELERY_BEAT_SCHEDULE_FILE=str(tmp_path / "celerybeat-schedule"),
            # The receiver is this test, on loopback over plain http: allowed for this run only.
            WEBHOOK_ALLOW_HTTP="on",
            WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
            PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # python is the venv's
        )
        queues_file = tmp_path / "queues.json"
        queues_file.write_text(json.dumps(QUEUES))
        setup = manage(
            "shell",
            "-c",
            SETUP.format(lead=LEAD, password=PASSWORD, queues=str(queues_file)),
            env=env,
        )
        assert setup.returncode == 0, setup.stderr
        credentials = json.loads(setup.stdout.strip().splitlines()[-1])
        stack = Stack(env=env, port=port, log=tmp_path / "honcho.log")
        stack.start()
        try:
            yield stack, credentials
        finally:
            stack.stop()


def test_the_production_shape_ingests_processes_decides_and_calls_back(production, receiver):
    stack, credentials = production
    http = Http(stack.base_url)
    stack.wait_until_serving(http)
    agent, person = credentials["agent_token"], credentials["person_token"]

    # TLS ends at the proxy: what reaches the app over plain http is sent to https.
    plain = http.get("/api/v1/queues", token=agent, https=False)
    assert plain.status == 301
    assert plain.headers["Location"].startswith("https://")
    assert "max-age=31536000" in http.get("/accounts/login/").headers["Strict-Transport-Security"]

    # The owner points the agent's webhook at the receiver; the secret is shown once.
    hook = http.request(
        "PUT",
        f"/api/v1/agents/{credentials['agent_id']}/webhook",
        token=person,
        json_body={"url": receiver.url, "events": ["item.decided"]},
    )
    assert hook.status == 201, hook.data
    secret = hook.json()["secret"]

    # The reviewer's queues page listens on the websocket (through the Redis channel layer).
    with websocket_connect(
        f"ws://127.0.0.1:{stack.port}/ws/queues/",
        additional_headers={
            "Cookie": f"sessionid={_sign_in(http, stack.port)}",
            "Origin": f"https://127.0.0.1:{stack.port}",
            "X-Forwarded-Proto": "https",
        },
        open_timeout=20,
    ) as socket:
        pdf = pdf_bytes([["Claim form", "Policy PN-4471-0923", "Amount EUR 1,250.00"]])
        upload = http.post(
            "/api/v1/documents",
            token=agent,
            json_body={"filename": "claim.pdf", "content_base64": base64.b64encode(pdf).decode()},
        )
        assert upload.status == 201, upload.data
        document_id = upload.json()["id"]
        ingested = http.post("/api/v1/items", token=agent, json_body=_item(document_id))
        assert ingested.status == 201, ingested.data
        item_id = ingested.json()["id"]
        assert json.loads(socket.recv(timeout=30)) == {"event": "queueChanged", "queue": "claims"}

    # The worker reads the PDF, then assesses and routes the item that waited for it.
    item = _wait_for(lambda: _routed(http, agent, item_id), stack, "the item to be routed")
    assert item["status"] == "pending_review"
    assert {r["code"] for r in item["reasons"]} == {"low_confidence"}  # quotes found in the PDF
    document = http.get(f"/api/v1/documents/{document_id}", token=agent).json()
    assert (document["status"], document["page_count"]) == ("ready", 1)

    claimed = http.post("/api/v1/queues/claims/claim", token=person)
    assert claimed.status == 200, claimed.data
    lease = claimed.json()
    assert lease["item"]["id"] == item_id
    decided = http.post(
        f"/api/v1/items/{item_id}/decision",
        token=person,
        json_body={
            "lease": lease["token"],
            "decision": "approve",
            "fields": [
                {"name": "policy_number", "verdict": "correct"},
                {"name": "amount", "verdict": "correct"},
            ],
        },
    )
    assert decided.status == 200, decided.data
    assert decided.json()["status"] == "approved"

    # The worker delivers item.decided to the receiver, signed with the agent's secret.
    try:
        headers, body = receiver.next(timeout=30)
    except Exception as exc:  # noqa: BLE001 - say what the processes said
        raise AssertionError(f"no webhook arrived:\n{stack.log_tail()}") from exc
    assert standard_webhook_valid(secret, headers, body)
    event = json.loads(body)
    assert event["type"] == "item.decided"
    assert (event["data"]["item_id"], event["data"]["decision"]) == (item_id, "approved")

    # The Procfile's defaults: uvicorn and its 2 workers, a Celery worker with a pool of 2, and
    # one beat.
    kinds = stack.process_kinds()
    del kinds["other"]
    assert kinds == {"uvicorn": 1, "uvicorn worker": 2, "celery worker": 3, "celery beat": 1}
    assert stack.stop() == set(), "processes left running after honcho stopped"


def _item(document_id: int) -> dict:
    return {
        "queue": "claims",
        "external_id": "claim-prod-1",
        "agent_version": "v1",
        "documents": [{"key": "form", "document_id": document_id}],
        "fields": [
            {
                "name": "policy_number",
                "value": "PN-4471-0923",
                "confidence": 0.55,  # below the queue's 0.9: a person must look
                "evidence": [{"document": "form", "quote": "Policy PN-4471-0923"}],
            },
            {
                "name": "amount",
                "value": 1250.0,
                "confidence": 0.98,
                "evidence": [{"document": "form", "quote": "EUR 1,250.00"}],
            },
        ],
    }


def _sign_in(http: Http, port: int) -> str:
    """Sign in through the login form, as a browser behind the proxy would; the session id.
    (The cookies are Secure, so they are carried by hand over the test's plain http.)"""
    page = http.get("/accounts/login/")
    csrf = _cookies(page)["csrftoken"]
    form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.data).group(1)
    signed_in = http.post(
        "/accounts/login/",
        body=f"username={LEAD}&password={PASSWORD}&csrfmiddlewaretoken={form_token.decode()}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Origin": f"https://127.0.0.1:{port}",
            "Referer": f"https://127.0.0.1:{port}/accounts/login/",
        },
    )
    assert signed_in.status == 302, signed_in.data
    return _cookies(signed_in)["sessionid"]


def _cookies(response) -> dict[str, str]:  # noqa: ANN001
    cookies = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookies.load(header)
    return {name: morsel.value for name, morsel in cookies.items()}


def _routed(http: Http, token: str, item_id: int) -> dict | None:
    item = http.get(f"/api/v1/items/{item_id}", token=token).json()
    return None if item["status"] == "assessing" else item


def _wait_for(probe, stack: Stack, what: str, timeout: float = 30) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}:\n{stack.log_tail()}")
