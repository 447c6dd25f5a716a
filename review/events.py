"""Live updates: tell open pages that something changed. A signal, never data.

Pages re-fetch through their normal views, so there is one rendering path and one permission
check. Call the senders only from transaction.on_commit: a page must never be told about a
change it cannot yet read.
"""

from __future__ import annotations

import logging
from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

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
    try:
        async_to_sync(get_channel_layer().group_send)(queue_group(queue_id), payload)
    except Exception:  # noqa: BLE001 - a lost signal must not fail the write that committed
        # Pages also refresh on a timer, so a missed push costs seconds, not correctness.
        logger.warning("could not push queue.changed for queue %s", queue_id, exc_info=True)
