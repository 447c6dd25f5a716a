"""Adaptive QA sampling: sample just enough auto-accepted outputs to know the escaped-error rate.

A fixed QA rate is either wasteful (a busy queue measures its error rate far more precisely than
anyone needs, at reviewers' expense) or blind (a quiet queue never gathers enough samples).
For a queue with `qa_adaptive_width` set, a daily job sets qa_sample_rate to the share of the
week's auto-accept candidates that makes the weekly escaped-error rate's 95 % Wilson interval
about ± that width:

1. p, the expected error rate: the QA samples decided in the last 4 weeks, (wrong + ½) ÷
   (samples + 1); with no samples yet, the queue's target_error_rate.
2. n, the smallest sample count whose Wilson half-width at p is at most the width.
3. the rate: n ÷ the auto-accept candidates per week (auto-accepted items plus QA samples,
   averaged over the last 4 weeks), within [QA_ADAPTIVE_MIN_RATE, 1].

A change smaller than a tenth of the current rate is not made (no policy version for noise).
A change is a new policy version through queue_apply, audited, with the figures as its reason.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accountability.audit import Actor
from review.models import Item, Queue
from review.quality import Z_95, escaped_errors
from review.services.queues import queue_apply

LOOKBACK = dt.timedelta(weeks=4)
ACTOR = Actor.system("qa_sampling")


def wilson_half_width(n: int, p: float, z: float = Z_95) -> float:
    """Half the width of the Wilson score interval for a rate p estimated from n trials."""
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)


def samples_needed(p: float, half_width: float, z: float = Z_95) -> int:
    """The fewest trials whose Wilson interval at p is at most ± half_width."""
    low, high = 1, 1
    while wilson_half_width(high, p, z) > half_width:
        low, high = high, high * 2
    while low < high:  # the half-width shrinks as n grows: bisect
        middle = (low + high) // 2
        if wilson_half_width(middle, p, z) <= half_width:
            high = middle
        else:
            low = middle + 1
    return high


@dataclass(frozen=True)
class QaAdaptation:
    queue: Queue
    expected_error_rate: float
    samples_per_week: int
    candidates_per_week: float
    rate_before: float
    rate_after: float

    @property
    def changed(self) -> bool:
        return self.rate_after != self.rate_before

    def reason(self) -> str:
        return (
            f"adaptive QA sampling: {self.samples_per_week} samples a week keep the escaped-error "
            f"interval within ±{self.queue.qa_adaptive_width:.2%} at an expected "
            f"{self.expected_error_rate:.2%}; {self.candidates_per_week:.0f} auto-accept "
            f"candidates a week"
        )


def qa_sample_rate_adapt(*, queue: Queue, now: dt.datetime | None = None) -> QaAdaptation | None:
    """Move the queue's QA rate to what its width asks for; None if it has none, or nothing to
    base it on yet (no auto-accept candidates in the last 4 weeks)."""
    if queue.qa_adaptive_width is None:
        return None
    now = now or timezone.now()
    since = now - LOOKBACK
    candidates = (
        Item.objects.filter(queue=queue, created_at__gte=since, created_at__lt=now)
        .filter(Q(status=Item.Status.AUTO_ACCEPTED) | Q(is_qa_sample=True))
        .count()
    )
    if not candidates:
        return None
    measured = escaped_errors(queue=queue, since=since, until=now)
    if measured.samples:
        p = (measured.wrong + 0.5) / (measured.samples + 1)
    else:
        p = queue.target_error_rate
    per_week = candidates / (LOOKBACK / dt.timedelta(weeks=1))
    needed = samples_needed(p, queue.qa_adaptive_width)
    rate = min(1.0, max(settings.QA_ADAPTIVE_MIN_RATE, needed / per_week))
    rate = round(rate, 4)
    before = queue.qa_sample_rate
    if before and abs(rate - before) < before / 10:
        rate = before  # noise, not news
    adaptation = QaAdaptation(queue, p, needed, per_week, before, rate)
    if adaptation.changed:
        from review.services.thresholds import queue_spec

        spec = queue_spec(queue) | {"qa_sample_rate": rate}
        queue_apply(spec=spec, actor=ACTOR, reason=adaptation.reason())
    return adaptation


def qa_sample_rates_adapt(*, now: dt.datetime | None = None) -> int:
    """The daily job: every queue with a width; returns how many rates changed."""
    changed = 0
    for queue in Queue.objects.filter(qa_adaptive_width__isnull=False):
        adaptation = qa_sample_rate_adapt(queue=queue, now=now)
        changed += bool(adaptation and adaptation.changed)
    return changed
