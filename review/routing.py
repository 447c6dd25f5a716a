from django.urls import path

websocket_urlpatterns: list[path] = []  # the live queue page adds its consumer here
