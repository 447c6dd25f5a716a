"""Real headless Chromium against the project's servers.

Two servers: pytest-django's `live_server` (threaded WSGI, HTTP only) behind `page`, and
`asgi_live_server` (the ASGI application under uvicorn: HTTP and websockets) behind
`asgi_page`. Both run in a thread of the test process, so they see the test database and, for
the ASGI one, the in-memory channel layer. Both bring a transactional database, since the
server's threads only see committed data; mark such tests django_db(transaction=True) to say so.
Make the changes a websocket should announce through the server (the API, the pages), not by
calling services in the test: there Playwright keeps an event loop running, so async_to_sync
refuses to send and review.events drops the push with a warning.

Playwright drives the system Chromium (/usr/bin/chromium); it never downloads a browser. Without
that binary the browser tests are skipped locally, and fail under CI=true, so CI can never pass
by silently skipping them. Screenshots land in test-artifacts/ (gitignored) for people to look at.
`assert_accessible` runs axe-core (vendored in vendor/, see its README) on the current page.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI containers run as root, where the sandbox cannot start
    "--disable-gpu",
    # Keep the browser from calling home: tests assert on every request the page makes.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1440, "height": 900}
# Tests see the server and each other only through the browser; a missing element should fail
# within seconds, not after Playwright's 30 s default.
TIMEOUT_MS = 10_000


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# Package scope, not session: Playwright's sync API keeps an asyncio loop marked as running on
# this thread for as long as it lives, and Django then refuses ORM calls as if they came from
# async code. That guard is lifted only while the browser tests run and Playwright is up; the
# rest of the suite (consumer tests especially) keeps it.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if in_ci():
            pytest.fail(f"{reason}; CI=true, so they may not be skipped", pytrace=False)
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as pw:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


def _new_page(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Generator[Page]:
    """A fresh browser context (no cookies) on base_url at desktop size; screenshot on failure."""
    context = browser.new_context(viewport=DESKTOP, base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.fixture
def page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
) -> Generator[Page]:
    """A fresh browser context (no cookies) per test, on the live server, at desktop size."""
    yield from _new_page(browser, live_server.url, request)


@pytest.fixture
def asgi_page(
    browser: Browser,
    asgi_live_server: AsgiLiveServer,
    request: pytest.FixtureRequest,
) -> Generator[Page]:
    """Like `page`, on the ASGI server, for pages that open websockets."""
    yield from _new_page(browser, asgi_live_server.url, request)


class AsgiLiveServer:
    """accountability.asgi.application (HTTP and websockets) under uvicorn, in a thread.

    A thread, not a process: the server must share the test process's database (an in-memory
    SQLite database lives only in this process) and its in-memory channel layer, so a message
    sent by a view reaches a consumer. Channels' own ChannelsLiveServerTestCase runs Daphne in
    a separate process, where neither is shared.

    DJANGO_ALLOW_ASYNC_UNSAFE (set for the browser tests, see `playwright`) is process-wide, so
    a sync ORM call in async code would not be caught here; the consumer tests catch it.
    """

    host = "127.0.0.1"  # in ALLOWED_HOSTS, so AllowedHostsOriginValidator accepts the Origin

    def __init__(self) -> None:
        # Imported here, not at the top: accountability.asgi builds the application on import,
        # which needs Django set up, and only tests that ask for this server should pay for it.
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from accountability.asgi import application

        # Bound before the thread starts, so the port is known (and taken) up front.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            # Static files from the finders, as live_server serves them: with DEBUG off,
            # WhiteNoise serves only STATIC_ROOT, which tests never collect.
            ASGIStaticFilesHandler(application),
            lifespan="off",  # Channels' ProtocolTypeRouter has no lifespan handler
            log_config=None,  # leave the test process's logging configuration alone
            access_log=False,
            log_level="warning",  # no "Started server process" lines in every test run
            # Shutdown closes open websockets and waits this long for their handlers.
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None
        # Daemon: a server that will not stop must not keep pytest from exiting.
        self.thread = threading.Thread(target=self._run, name="asgi-live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def _run(self) -> None:
        # uvicorn installs signal handlers only on the main thread, so Ctrl-C still reaches
        # pytest; in this thread it just runs its own event loop.
        try:
            self.server.run(sockets=[self._socket])
        except BaseException as error:  # reported by start(), which waits in the main thread
            self.error = error

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the ASGI live server did not start: {self.error!r}")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.thread.is_alive():  # a handler that ignores the graceful timeout
            self.server.force_exit = True
            self.thread.join(timeout=5)
        self._socket.close()


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup: None) -> Iterator[AsgiLiveServer]:
    # Started after the test database exists (django_db_setup), stopped before it is dropped.
    # Under ASGI each request runs its sync code in a thread of its own, which opens its own
    # database connection. With CONN_MAX_AGE > 0 those connections would outlive the request
    # (and, on PostgreSQL, keep the test database from being dropped at the end); 0 closes each
    # one when its request or consumer call finishes.
    saved = {alias: connections.settings[alias].get("CONN_MAX_AGE") for alias in connections}
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = 0
    server = AsgiLiveServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        for alias, value in saved.items():
            connections.settings[alias]["CONN_MAX_AGE"] = value


def _in_memory_sqlite(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


# How long a statement waits for another connection's write transaction, as busy_timeout would.
LOCKED_WAIT_SECONDS = 10.0


def _wait_when_locked(execute: Callable[..., Any]) -> Callable[..., Any]:
    """Retry a statement refused with SQLITE_LOCKED until the lock is gone or time runs out.

    The shared-cache lock fails at once: SQLite's busy timeout does not cover it, and Python's
    sqlite3 has no sqlite3_unlock_notify. Re-running the refused statement is the retry that
    unlock_notify exists for; it ran nothing, so it is safe inside a transaction too.
    """

    @functools.wraps(execute)
    def wrapper(cursor: sqlite3.Cursor, query: str, *args: Any) -> Any:
        if args and isinstance(args[0], Iterator):
            args = (list(args[0]),)  # executemany's rows, needed again after a refusal
        deadline = time.monotonic() + LOCKED_WAIT_SECONDS
        while True:
            try:
                return execute(cursor, query, *args)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_LOCKED:
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.002)

    return wrapper


@pytest.fixture
def asgi_live_server(
    _asgi_server: AsgiLiveServer, transactional_db: None
) -> Iterator[AsgiLiveServer]:
    """The ASGI application on http://127.0.0.1:PORT (`.url`, `.ws_url`), one server a session.

    Like live_server it brings a transactional database. On SQLite that is a shared-cache
    in-memory database, which the server's connections (one per request thread) open beside
    the test's. Its locks are per table and refuse at once, busy timeout or not: a read during
    another connection's write, or a write during its read, failed with "database table is
    locked" in the server and in the test alike. So while the server runs, a refused statement
    waits for the lock, as the busy timeout makes a file database do. PostgreSQL is untouched.
    """
    if not any(_in_memory_sqlite(connection) for connection in connections.all()):
        yield _asgi_server
        return
    with pytest.MonkeyPatch.context() as patch:
        for name in ("execute", "executemany"):
            method = getattr(SQLiteCursorWrapper, name)
            patch.setattr(SQLiteCursorWrapper, name, _wait_when_locked(method))
        yield _asgi_server


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator:
    # Keep the call phase's report on the test, so `page` can screenshot failures.
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, username: str, password: str = "pw-for-tests-1") -> None:
    """Sign in through the real form, as a person would (the default is UserFactory's)."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (no axe rule is tagged wcag22a).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_BLOCKING = {"serious", "critical"}


def assert_accessible(page: Page, *, context: str | dict[str, Any] | None = None) -> None:
    """Run axe-core on the page (or an axe context: a selector or {include, exclude}) and fail
    listing every serious or critical WCAG 2.x A/AA violation. Minor and moderate ones pass:
    they are worth a look, not a red build."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE)
    results = page.evaluate(
        """async ([context, tags]) => axe.run(context ?? document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        [context, AXE_TAGS],
    )
    blocking = [v for v in results["violations"] if v["impact"] in AXE_BLOCKING]
    if blocking:
        lines = [f"{len(blocking)} serious or critical accessibility violations on {page.url}:"]
        for violation in blocking:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            # A target is a list of selectors, one per iframe on the way to the node; a node
            # in a shadow root is itself a list (host, then inside).
            lines.extend(
                "    " + " >> ".join(str(selector) for selector in node["target"])
                for node in violation["nodes"]
            )
        pytest.fail("\n".join(lines), pytrace=False)
