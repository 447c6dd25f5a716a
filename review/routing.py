from django.urls import path

from review import consumers

websocket_urlpatterns = [
    path("ws/queues/", consumers.QueuesConsumer.as_asgi()),
]
