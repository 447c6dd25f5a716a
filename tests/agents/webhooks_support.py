"""A real HTTP receiver for webhook tests, and a Standard Webhooks verifier written from the
spec (not from agents/webhooks/signing.py), so a signing bug cannot hide behind itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from accountability.audit import Actor
from agents.models import WebhookEndpoint
from agents.webhooks import services


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"thanks"
    hold: bool = False  # answer only once the test releases the receiver (a slow receiver)


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A webhook consumer as a careful agent would write one: it records every request, and
    processes each event once, by webhook-id, however often it is delivered."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.processed: dict[str, dict] = {}  # webhook-id -> payload, first 2xx only
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.release = threading.Event()
        self.held_done = threading.Event()  # a held request has been answered
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """The next answers on path, in order; then 200."""
        self.replies[path].extend(replies)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver.lock:
                    receiver.requests.append(received)
                    queued = receiver.replies[self.path]
                    reply = queued.popleft() if queued else Reply()
                if reply.hold:
                    receiver.release.wait(timeout=10)
                if 200 <= reply.status < 300:
                    with receiver.lock:
                        receiver.processed.setdefault(received.headers["webhook-id"], received.json)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the sender gave up waiting (timeout): nobody to answer
                if reply.hold:
                    receiver.held_done.set()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def endpoint_for(agent, url: str, events: list[str] | None = None) -> tuple[WebhookEndpoint, str]:
    """The agent's endpoint, subscribed to every event unless told; returns it and its secret."""
    endpoint, secret = services.webhook_endpoint_save(
        agent=agent,
        url=url,
        events=events or ["item.decided", "item.escalated", "item.auto_accepted"],
        enabled=True,
        actor=Actor.system("tests"),
    )
    assert secret is not None
    return endpoint, secret


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """Standard Webhooks verification: a `v1,` signature among the space-separated ones is the
    base64 HMAC-SHA256, keyed with the base64-decoded secret after `whsec_`, of
    "{webhook-id}.{webhook-timestamp}.{body}"; the timestamp within tolerance of now."""
    key = base64.b64decode(secret.split("_", 1)[1])
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    content = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False
