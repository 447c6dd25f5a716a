"""The production shape as a test sees it: its environment, its processes, its clients.

`production_env` is the documented production configuration (README "Deployment"); the checks
test and the end-to-end test both use it, so what `check --deploy` approves is what runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import dj_database_url
import psycopg
import urllib3

ROOT = Path(__file__).resolve().parents[2]
# Settings the test decides; whatever the surrounding shell exported for them is dropped.
MANAGED = ("DEBUG", "CELERY_TASK_ALWAYS_EAGER", "SECRET_KEY_FILE", "DATABASE_URL", "REDIS_URL")


def production_env(**overrides: str) -> dict[str, str]:
    """os.environ with DEBUG off and the production values that make check --deploy clean."""
    env = {key: value for key, value in os.environ.items() if key not in MANAGED}
    env.update(
        SECRET_KEY=base64.urlsafe_b64encode(os.urandom(48)).decode(),  # 64 random characters
        DATABASE_URL="postgres://accountability@db.internal:5432/accountability",
        REDIS_URL="redis://redis.internal:6379/0",
        ALLOWED_HOSTS="review.example.com",
        CSRF_TRUSTED_ORIGINS="https://review.example.com",
        SITE_URL="https://review.example.com",
        SECURE_PROXY_SSL_HEADER="on",
        SECURE_SSL_REDIRECT="on",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="on",
        SECURE_HSTS_PRELOAD="on",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty PostgreSQL database next to the configured one; its URL. Dropped after.

    The processes under test cannot see the pytest database: its test transaction never
    commits, and it is the pytest run's to reset.
    """
    configured = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = f"{configured['NAME']}_prod_{os.getpid()}"[:63]
    server = {
        "host": configured["HOST"] or "127.0.0.1",
        "port": configured["PORT"] or 5432,
        "user": configured["USER"] or "postgres",
        "password": configured["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(server["user"]) + (
        ":" + quote(server["password"], safe="") if server["password"] else ""
    )
    try:
        yield f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """`honcho start` on the Procfile, in its own session; honcho gives each process type a
    process group of its own, which is how it stops them and how leftovers are found."""

    def __init__(self, *, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "honcho", "start", "--no-colour", "--env", "/dev/null"]
                + ["--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_until_serving(self, http: Http, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"honcho exited early:\n{self.log_tail()}"
            try:
                if http.get("/accounts/login/").status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                pass  # not listening yet
            time.sleep(0.2)
        raise AssertionError(f"the web process did not answer in {timeout} s:\n{self.log_tail()}")

    def processes(self) -> set[int]:
        """honcho and every process below it."""
        if self.process is None:
            return set()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in _process_table().items():
            children.setdefault(parent, []).append(pid)
        found, todo = set(), [self.process.pid]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children.get(pid, []))
        return found

    def process_kinds(self) -> Counter[str]:
        """How many processes of each kind run, told apart by their command lines."""
        kinds: Counter[str] = Counter()
        for pid in self.processes():
            with suppress(OSError):
                line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                kinds[_kind(line)] += 1
        return kinds

    def stop(self) -> set[int]:
        """SIGTERM to honcho (it stops the rest); what is still running afterwards is killed
        and returned, so a test can say it left orphans."""
        if self.process is None or self.process.returncode is not None:
            return set()
        started = self.processes()
        groups = {group for pid, (_, group) in _process_table().items() if pid in started}
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        deadline = time.monotonic() + 10
        while (survivors := started & set(_process_table())) and time.monotonic() < deadline:
            time.sleep(0.1)  # a process orphaned by honcho's exit may still be on its way out
        for group in groups:
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        return survivors

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _kind(command_line: str) -> str:
    if command_line.startswith("python -m uvicorn"):
        return "uvicorn"
    if "multiprocessing.spawn" in command_line:
        return "uvicorn worker"  # uvicorn spawns; Celery's pool and honcho fork
    for kind in ("worker", "beat"):
        if command_line.startswith(f"python -m celery -A accountability {kind}"):
            return f"celery {kind}"
    return "other"  # honcho, its shells, multiprocessing's resource tracker


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every live process; zombies count as gone."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # "pid (name) state ppid pgrp ...": the name may hold spaces and parentheses.
        state, parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if state != "Z":
            table[int(entry.name)] = (int(parent), int(group))
    return table


class Http:
    """Requests as the TLS-terminating proxy passes them on: X-Forwarded-Proto: https."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(30))

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: object = None,
        headers: dict[str, str] | None = None,
        body: str | None = None,
        https: bool = True,
    ) -> urllib3.BaseHTTPResponse:
        sent = {"X-Forwarded-Proto": "https"} if https else {}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            sent["Content-Type"] = "application/json"
            body = json.dumps(json_body)
        sent.update(headers or {})
        return self.pool.request(
            method, self.base_url + path, body=body, headers=sent, redirect=False
        )

    def get(self, path: str, **kwargs: object) -> urllib3.BaseHTTPResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> urllib3.BaseHTTPResponse:
        return self.request("POST", path, **kwargs)


class WebhookReceiver:
    """An agent's webhook endpoint on 127.0.0.1: keeps every request, answers 204."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.put(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/decisions"

    def next(self, timeout: float) -> tuple[dict[str, str], bytes]:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def standard_webhook_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Verify as a receiver would, written from the Standard Webhooks spec, not our signer:
    base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed by the secret after `whsec_`, one of
    the space-separated `v1,` signatures, and a timestamp within five minutes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
    signatures = [
        given.removeprefix("v1,")
        for given in headers["webhook-signature"].split()
        if given.startswith("v1,")
    ]
    return fresh and any(hmac.compare_digest(given, expected) for given in signatures)
