"""Quality measured, not guessed: the escaped-error rate of automation from QA samples.

A QA sample is an output the system would have auto-accepted, sent to a person blind. Among
the samples people have decided, one is wrong if it was rejected or any field was corrected or
found not determinable. The share of wrong samples estimates how many auto-accepted outputs
are wrong, reported with a 95 % Wilson score interval (sound near 0 %, where the normal
approximation gives negative bounds).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from review.models import FieldLabel, Item, Queue, Verdict

Z_95 = 1.959964
MIN_SAMPLES = 30  # below this, no rate is stated: "not enough samples"


@dataclass(frozen=True)
class EscapedErrors:
    samples: int  # QA samples decided by a person in the period
    wrong: int

    @property
    def enough(self) -> bool:
        return self.samples >= MIN_SAMPLES

    @property
    def rate(self) -> float | None:
        return self.wrong / self.samples if self.samples else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.wrong, self.samples) if self.samples else None

    def __str__(self) -> str:
        if not self.enough:
            return f"not enough samples ({self.samples} of {MIN_SAMPLES} needed)"
        low, high = self.interval
        return (
            f"{self.rate:.1%} escaped ({self.wrong} of {self.samples} QA samples wrong; "
            f"95% interval {low:.1%}–{high:.1%})"
        )


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    if trials <= 0:
        raise ValueError("no trials")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def escaped_errors(*, queue: Queue, since: dt.datetime, until: dt.datetime) -> EscapedErrors:
    """QA samples of `queue` that arrived in [since, until) and were decided by a person."""
    decided = Item.objects.filter(
        queue=queue,
        is_qa_sample=True,
        created_at__gte=since,
        created_at__lt=until,
        status__in=[Item.Status.APPROVED, Item.Status.REJECTED],
    )
    not_right = FieldLabel.objects.filter(
        field__item=OuterRef("pk"), verdict__in=[Verdict.CORRECTED, Verdict.UNDETERMINABLE]
    )
    wrong = decided.filter(Q(status=Item.Status.REJECTED) | Exists(not_right))
    return EscapedErrors(samples=decided.count(), wrong=wrong.count())
