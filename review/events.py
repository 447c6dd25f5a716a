"""Live updates: tell open pages that something changed. A signal, never data.

Pages re-fetch through their normal views, so there is one rendering path and one permission
check. Call the senders only from transaction.on_commit: a page must never be told about a
change it cannot yet read.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
from concurrent.futures import Future
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)


class QueueChanged(TypedDict):
    type: Literal["queue.changed"]
    queue_id: int
    queue: str


def queue_group(queue_id: int) -> str:
    return f"review-queue-{queue_id}"


def queue_changed(*, queue_id: int, slug: str) -> None:
    """Tell open pages of this queue that its items changed (arrived, taken, decided)."""
    payload: QueueChanged = {"type": "queue.changed", "queue_id": queue_id, "queue": slug}
    _group_send(queue_group(queue_id), payload)


def _group_send(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        # Its queues belong to the event loop the consumers run on, which async_to_sync
        # reaches from a view's thread; a loop of our own would never wake them.
        try:
            async_to_sync(layer.group_send)(group, payload)
        except Exception:  # noqa: BLE001 - a lost signal must not fail the write that committed
            _lost(group)
        return
    _publisher.send(layer, group, payload)


def _lost(group: str, exc: BaseException | None = None) -> None:
    # Pages also refresh on a timer, so a missed push costs seconds, not correctness.
    logger.warning("could not push a signal to %s", group, exc_info=exc or True)


class _Publisher:
    """One event loop per process, in a daemon thread, that sends signals to a shared layer.

    async_to_sync outside an event loop starts a loop and a Redis connection for every signal:
    2.4 ms of CPU and 3.5 ms of waiting in each claim, decision and ingest. Here one connection
    lives as long as the process, the request does not wait for Redis (a signal is fire and
    forget, as its failure already was), and one sender drains the signals in order. A signal
    for a group that is still waiting to go is dropped: it says the same thing, so a busy
    queue costs Redis (and every open page) one push per round trip, not one per write.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[str, dict[str, Any]] = {}
        self._draining = False  # a _drain is running or scheduled; it sends what waits
        self._drained: Future | None = None  # the newest drain, for flush

    def send(self, layer: Any, group: str, payload: dict[str, Any]) -> None:
        with self._lock:
            loop = self._ready()
            self._waiting[group] = payload
            if not self._draining:
                self._draining = True
                self._drained = asyncio.run_coroutine_threadsafe(self._drain(layer), loop)

    async def _drain(self, layer: Any) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = False
                    return
                group = next(iter(self._waiting))
                payload = self._waiting.pop(group)
            try:
                await layer.group_send(group, payload)
            except Exception as exc:  # noqa: BLE001 - one lost signal must not stop the rest
                _lost(group, exc)

    def _ready(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(
                target=self._loop.run_forever, name="signal-publisher", daemon=True
            ).start()
        return self._loop

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (a little) for the signals still on their way: at exit, and in tests."""
        drained = self._drained
        if drained is not None:
            with contextlib.suppress(Exception):  # a lost signal was logged already
                drained.result(timeout=timeout)


_publisher = _Publisher()


def _forked() -> None:
    # A forked child (Celery prefork, the benchmarks) inherits neither the thread nor a usable
    # lock or connection: it starts afresh.
    global _publisher
    _publisher = _Publisher()


os.register_at_fork(after_in_child=_forked)


def flush() -> None:
    """Wait (up to 2 s) for this process's signals to reach the channel layer."""
    _publisher.flush()


atexit.register(flush)
