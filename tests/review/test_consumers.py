"""The queues websocket: only signed-in people, only their queues' signals."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from review.routing import websocket_urlpatterns
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest

pytestmark = pytest.mark.django_db(transaction=True)

app = URLRouter(websocket_urlpatterns)


def _communicator(user: object) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app, "/ws/queues/")
    communicator.scope["user"] = user
    return communicator


@sync_to_async
def _setup() -> tuple:
    reviewer = UserFactory(username="rita")
    mine = QueueFactory(slug="claims", reviewers=[reviewer])
    other = QueueFactory(slug="invoices")
    agent = AgentFactory(queues=[mine, other])
    return reviewer, mine, other, agent


def test_signed_out_connections_are_refused():
    async def run() -> None:
        connected, _ = await _communicator(AnonymousUser()).connect()
        assert not connected

    async_to_sync(run)()


def test_ingest_signals_the_queues_of_the_reviewer_and_no_others():
    async_to_sync(_ingest_signals)()


async def _ingest_signals() -> None:
    reviewer, mine, other, agent = await _setup()
    communicator = _communicator(reviewer)
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(ingest)(agent, external_id="elsewhere", queue="invoices")
    assert await communicator.receive_nothing(timeout=0.3)
    await sync_to_async(ingest)(agent, external_id="mine", queue="claims")
    assert await communicator.receive_json_from(timeout=2) == {
        "event": "queueChanged",
        "queue": "claims",
    }
    await communicator.disconnect()
