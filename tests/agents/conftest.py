"""Fixtures for the webhook tests (tests/agents/test_webhooks*.py)."""

from __future__ import annotations

import pytest

from tests.agents.webhooks_support import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def local_webhooks(settings):
    """What a test receiver needs: plain http and loopback allowed, short timeouts."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.SITE_URL = "https://review.example.com"
    return settings
