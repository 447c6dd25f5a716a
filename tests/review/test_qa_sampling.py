"""Adaptive QA sampling: just enough samples to know the escaped-error rate to a set width."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accountability.models import AuditEvent
from review.models import Item, QueuePolicyVersion
from review.services.qa_sampling import (
    qa_sample_rate_adapt,
    qa_sample_rates_adapt,
    samples_needed,
    wilson_half_width,
)
from tests.factories import ingest


def test_the_wilson_half_width_and_the_samples_it_takes():
    # 2 of 40 wrong: the interval is 1.38 %..16.50 % (test_quality), half of it 7.56 points.
    assert wilson_half_width(40, 0.05) == pytest.approx((0.1650 - 0.0138) / 2, abs=1e-4)
    # At 1 % expected, ±0.5 points takes about z²p(1-p)/w² = 1521 samples (a bit more: Wilson).
    n = samples_needed(0.01, 0.005)
    assert 1521 <= n <= 1650
    assert wilson_half_width(n, 0.01) <= 0.005 < wilson_half_width(n - 1, 0.01)
    assert samples_needed(0.01, 0.01) < n  # a wider interval needs fewer


@pytest.mark.django_db
def test_a_busy_queue_samples_less_and_says_why(agent, queue, settings):
    settings.QA_ADAPTIVE_MIN_RATE = 0.001
    queue.qa_sample_rate, queue.qa_adaptive_width, queue.target_error_rate = 0.5, 0.05, 0.02
    queue.save()
    for n in range(40):
        ingest(agent, external_id=f"auto-{n}", confidence=0.99)
    candidates = Item.objects.filter(queue=queue).count()
    assert candidates == 40
    adaptation = qa_sample_rate_adapt(queue=queue, now=timezone.now() + dt.timedelta(seconds=1))
    # No samples decided yet: p = the target, 2 %; ±5 points takes n samples a week, from
    # 40 candidates in 4 weeks = 10 a week.
    needed = samples_needed(0.02, 0.05)
    assert adaptation.samples_per_week == needed
    assert adaptation.rate_after == min(1.0, round(needed / 10, 4))
    queue.refresh_from_db()
    assert queue.qa_sample_rate == adaptation.rate_after
    version = QueuePolicyVersion.objects.get(queue=queue, version=queue.policy_version)
    assert version.reason.startswith("adaptive QA sampling:")
    assert version.changed_by == "qa_sampling"
    assert queue.qa_adaptive_width == 0.05  # the setting itself survives the change
    assert AuditEvent.objects.filter(action="review.queue.policy_changed").exists()


@pytest.mark.django_db
def test_small_moves_and_fixed_queues_are_left_alone(agent, queue):
    ingest(agent, external_id="one", confidence=0.99)
    assert qa_sample_rates_adapt() == 0  # no width: the rate is fixed
    queue.qa_adaptive_width = 0.05
    queue.save()
    first = qa_sample_rate_adapt(queue=queue)
    queue.refresh_from_db()
    version = queue.policy_version
    again = qa_sample_rate_adapt(queue=queue)
    assert again.rate_after == first.rate_after and not again.changed
    queue.refresh_from_db()
    assert queue.policy_version == version
