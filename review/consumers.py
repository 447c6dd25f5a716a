"""Websocket consumers: thin. Check access on connect, join groups, forward signals."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from review import events
from review.models import Queue


class QueuesConsumer(AsyncJsonWebsocketConsumer):
    """Signals for every queue the signed-in person works in (the queues page, the workspace)."""

    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        for queue_id in await self._visible_queue_ids(user):
            group = events.queue_group(queue_id)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def queue_changed(self, event: events.QueueChanged) -> None:
        await self.send_json({"event": "queueChanged", "queue": event["queue"]})

    @database_sync_to_async
    def _visible_queue_ids(self, user: object) -> list[int]:
        return list(Queue.objects.visible_to(user).values_list("id", flat=True))
