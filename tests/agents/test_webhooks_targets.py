"""Which addresses and URLs a webhook may reach; Retry-After; the retry schedule; signing."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from agents.models import WebhookDelivery
from agents.webhooks.delivery import retry_after_seconds
from agents.webhooks.sending import next_attempt_time
from agents.webhooks.signing import secret_generate, signed_headers
from agents.webhooks.targets import TargetRefused, address_refusal, target_resolve, url_check
from tests.agents.webhooks_support import verify

REFUSED = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.20",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # cloud metadata (AWS, GCP, Azure)
    "169.254.10.10",  # link-local
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",  # unique local
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped forms
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:ffff:80ff:fffe",  # Teredo, client 127.0.0.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused_by_default(address):
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_metadata_refusal_says_so():
    refusal = address_refusal(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert "metadata" in refusal


def test_allowed_networks_let_exactly_those_through():
    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("10.0.0.1"), allowed) is not None
    assert address_refusal(ipaddress.ip_address("169.254.169.254"), allowed) is not None


def test_a_name_resolving_to_loopback_is_refused_without_the_setting(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    for url in ["http://localhost:8080/hook", "http://127.0.0.1/hook", "http://[::1]/hook"]:
        with pytest.raises(TargetRefused, match="loopback"):
            target_resolve(url)
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    target = target_resolve("http://127.0.0.1:8080/hook?x=1")
    assert (str(target.address), target.port, target.path) == ("127.0.0.1", 8080, "/hook?x=1")
    assert target.host_header == "127.0.0.1:8080"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/hook", "https"),
        ("file:///etc/passwd", "https"),
        ("http://example.com/hook", "WEBHOOK_ALLOW_HTTP"),
        ("https://user:pw@example.com/hook", "password"),
        ("https:///hook", "host"),
        ("https://example.com:99999/hook", "valid"),
    ],
)
def test_url_checks(settings, url, problem):
    settings.WEBHOOK_ALLOW_HTTP = False
    assert problem in url_check(url)


def test_https_urls_pass_the_form_check(settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    assert url_check("https://hooks.example.com/accountability?tenant=4") is None


NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds("Fri, 27 Nov 2026 12:05:00 GMT", NOW) == 300
    assert retry_after_seconds("Fri, 27 Nov 2026 11:00:00 GMT", NOW) == 0  # already past
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_schedule_uses_full_jitter_under_each_cap(settings):
    delivery = WebhookDelivery(created_at=NOW, attempt_count=3)  # the third retry comes next
    cap = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS[2]
    latest = next_attempt_time(delivery, now=NOW, retry_after=None, rand=lambda: 1.0)
    middle = next_attempt_time(delivery, now=NOW, retry_after=None, rand=lambda: 0.5)
    earliest = next_attempt_time(delivery, now=NOW, retry_after=None, rand=lambda: 0.0)
    assert latest == NOW + dt.timedelta(seconds=cap)
    assert middle == NOW + dt.timedelta(seconds=cap / 2)
    assert earliest == NOW + dt.timedelta(seconds=1)  # never at once


def test_retry_after_is_honoured_and_capped(settings):
    delivery = WebhookDelivery(created_at=NOW, attempt_count=1)
    asked = next_attempt_time(delivery, now=NOW, retry_after=600, rand=lambda: 1.0)
    assert asked == NOW + dt.timedelta(seconds=600)  # more than the 5 s the schedule says
    greedy = next_attempt_time(delivery, now=NOW, retry_after=10**9, rand=lambda: 1.0)
    assert greedy == NOW + dt.timedelta(seconds=settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS)


def test_no_attempt_after_the_retry_window(settings):
    window = dt.timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
    delivery = WebhookDelivery(created_at=NOW, attempt_count=11)
    almost = NOW + window - dt.timedelta(hours=1)
    assert next_attempt_time(delivery, now=almost, retry_after=None, rand=lambda: 1.0) == (
        NOW + window
    )
    assert next_attempt_time(delivery, now=NOW + window, retry_after=None, rand=lambda: 1) is None


def test_signatures_verify_by_the_spec_and_both_secrets_sign_during_a_rotation():
    new, old = secret_generate(), secret_generate()
    assert new.startswith("whsec_") and new != old
    body = b'{"type":"item.decided"}'
    import time

    headers = signed_headers([new, old], "msg_1", int(time.time()), body)
    assert verify(new, headers, body) and verify(old, headers, body)
    assert not verify(secret_generate(), headers, body)
    assert not verify(new, headers, body + b" ")
    assert not verify(new, {**headers, "webhook-id": "msg_2"}, body)
