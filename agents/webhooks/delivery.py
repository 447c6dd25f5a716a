"""One HTTP attempt at a webhook, pinned to the address that was checked.

urllib3 connects to the checked IP while TLS still verifies the certificate for the URL's name
(server_hostname/assert_hostname, which also sets SNI) and the Host header names it too. No
redirects (a 3xx is a failed attempt: following one would leave the checked address), no
retries inside urllib3 (the outbox schedules them), the response body read only up to 1 KB.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError, TimeoutError

from agents.webhooks.targets import TargetRefused, target_resolve

EXCERPT_MAX_BYTES = 1024
USER_AGENT = "Accountability-Webhooks/1"


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None  # None: no answer (refused, unreachable, timed out)
    latency_ms: int
    response_excerpt: str = ""
    error: str = ""
    retry_after: str | None = None  # the receiver's Retry-After header, as sent

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def webhook_post(url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
    """POST body to url once; never raises for anything the network or receiver does."""
    started = time.monotonic()
    try:
        response = _post_pinned(url, body, headers)
    except TargetRefused as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"Not sent: {exc}")
    except TimeoutError as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"Timed out: {exc}")
    except (HTTPError, OSError) as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"{type(exc).__name__}: {exc}")
    status, excerpt, retry_after, location = response
    error = ""
    if 300 <= status < 400:
        error = f"Redirects are not followed (Location: {location or 'none'})"
    elif not 200 <= status < 300:
        error = f"The receiver answered {status}"
    return AttemptResult(status, _elapsed_ms(started), excerpt, error, retry_after)


def _post_pinned(
    url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str, str | None, str]:
    target = target_resolve(url)
    timeout = urllib3.Timeout(
        connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, total=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    pinned = {
        "host": str(target.address),
        "port": target.port,
        "timeout": timeout,
        "retries": False,
    }
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            **pinned,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(**pinned)
    request_headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    with pool:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=request_headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
        )
        try:
            # Only an excerpt is kept: a receiver cannot make us read (or store) megabytes.
            raw = response.read(EXCERPT_MAX_BYTES, decode_content=False)
        finally:
            response.release_conn()
    return (
        response.status,
        raw.decode("utf-8", errors="replace"),
        response.headers.get("Retry-After"),
        response.headers.get("Location", ""),
    )


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())
