"""Real headless Chromium against pytest-django's live server.

Playwright drives the system Chromium (/usr/bin/chromium); it never downloads a browser. Without
that binary the browser tests are skipped locally, and fail under CI=true, so CI can never pass
by silently skipping them. Screenshots land in test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
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


@pytest.fixture
def page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
) -> Generator[Page]:
    """A fresh browser context (no cookies) per test, on the live server, at desktop size."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


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
