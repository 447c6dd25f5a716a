"""Signals to open pages through a Redis channel layer: they arrive, and bursts coalesce."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest
from channels_redis.core import RedisChannelLayer

from review import events

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


def _listen(layer: RedisChannelLayer, group: str, send: Callable[[], None]) -> list[dict]:
    """Join group from a loop of this test, run send, then collect what arrives for 1 s."""

    async def run() -> list[dict]:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            await asyncio.to_thread(send)
            received = []
            while True:
                try:
                    received.append(await asyncio.wait_for(layer.receive(channel), timeout=1))
                except TimeoutError:
                    return received
        finally:
            await layer.group_discard(group, channel)

    return asyncio.run(run())


@pytest.fixture
def layer() -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix="test-events")


def test_a_write_reaches_the_pages_of_its_queue(layer, monkeypatch):
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    def write() -> None:
        events.queue_changed(queue_id=991, slug="claims")
        events.flush()

    received = _listen(layer, events.queue_group(991), write)
    assert received == [{"type": "queue.changed", "queue_id": 991, "queue": "claims"}]


def test_a_burst_of_writes_sends_far_fewer_signals(layer, monkeypatch):
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)

    def burst() -> None:
        for _ in range(200):
            events.queue_changed(queue_id=992, slug="claims")
        events.flush()

    received = _listen(layer, events.queue_group(992), burst)
    assert 1 <= len(received) < 20
    assert received[-1] == {"type": "queue.changed", "queue_id": 992, "queue": "claims"}
