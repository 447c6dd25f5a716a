"""How a simulated lead tunes a queue's thresholds once a week.

A LeadPolicy looks at a queue and, when it sees a reason to, changes its thresholds through
the same services a lead's page uses, so every change is a new, audited policy version with
its reason. Two policies:

- ThresholdAdvicePolicy ("advice"): applies the threshold advice of review.services.thresholds
  (every field's threshold, chosen together so that the labeled items they would auto-accept
  show the queue's target_error_rate met for whole items, on calibrated confidences), through
  queue_thresholds_apply.
- EscapedErrorStepPolicy ("step"): a simple stand-in that needs no labels beyond QA: loosen
  every threshold a notch while QA sampling finds fewer escaped errors than the target, tighten
  a notch once it is clearly above (the 95 % interval entirely over the target).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from accountability.audit import Actor
from review.models import Queue
from review.quality import EscapedErrors, escaped_errors
from review.services import queue_apply
from review.services.thresholds import (
    queue_advice,
    queue_history,
    queue_spec,
    queue_thresholds_apply,
    threshold_text,
)


class LeadPolicy(Protocol):
    name: str

    def tune(self, *, queue: Queue, now: dt.datetime, actor: Actor) -> str | None:
        """Change queue's thresholds if the policy sees a reason; return the reason, or None
        when it leaves them as they are."""
        ...


@dataclass(frozen=True)
class Thresholds:
    default: float
    fields: dict[str, float]  # only the fields that have a threshold of their own


def thresholds_of(queue: Queue) -> Thresholds:
    fields = {
        spec["name"]: float(spec["threshold"])
        for spec in queue.field_schema
        if spec.get("threshold") is not None
    }
    return Thresholds(queue.default_threshold, fields)


@dataclass(frozen=True)
class ThresholdAdvicePolicy:
    name: str = "advice"

    def tune(self, *, queue: Queue, now: dt.datetime, actor: Actor) -> str | None:
        advice = queue_advice(queue_history(queue, now=now))
        if not advice.changes:
            return None
        moved = [
            f"{f.name} {threshold_text(f.current)}→{threshold_text(f.advised)}"
            for f in advice.fields
            if f.advised is not None and f.advised != f.current
        ]
        reason = (
            f"Weekly review: applied the threshold advice for a {advice.target:.1%} error "
            f"target ({', '.join(moved)})."
        )
        queue_thresholds_apply(
            queue=queue,
            thresholds=advice.thresholds,
            target_error_rate=queue.target_error_rate,
            actor=actor,
            reason=reason,
        )
        return reason


@dataclass(frozen=True)
class EscapedErrorStepPolicy:
    """Move all of a queue's thresholds one step by the QA-measured escaped-error rate.

    The rate is measured over the QA samples of the last `window` (item level, as
    review.quality measures it) against `target`.
    """

    target: float = 0.04
    step: float = 0.01
    window: dt.timedelta = dt.timedelta(weeks=4)
    floor: float = 0.85
    ceiling: float = 0.995
    name: str = "step"

    def tune(self, *, queue: Queue, now: dt.datetime, actor: Actor) -> str | None:
        measured = escaped_errors(queue=queue, since=now - self.window, until=now)
        decided = self.decide(thresholds_of(queue), measured)
        if decided is None:
            return None
        thresholds, reason = decided
        spec = queue_spec(queue)
        spec["default_threshold"] = thresholds.default
        moved = thresholds.fields
        spec["fields"] = [
            {**f, "threshold": moved[f["name"]]} if f["name"] in moved else f
            for f in spec["fields"]
        ]
        queue_apply(spec=spec, actor=actor, reason=reason)
        return reason

    def decide(self, current: Thresholds, measured: EscapedErrors) -> tuple[Thresholds, str] | None:
        """Pure: the new thresholds and why, or None to leave them."""
        if not measured.samples:
            return None  # no evidence either way
        low, _ = measured.interval
        if low > self.target:
            delta, why = self.step, "clearly above"
        elif measured.rate < self.target:
            delta, why = -self.step, "below"
        else:
            return None
        moved = self._moved(current, delta)
        if moved == current:
            return None
        reason = (
            f"Weekly review: escaped errors {measured.wrong}/{measured.samples} QA samples "
            f"({measured.rate:.1%}) {why} the {self.target:.0%} target; thresholds "
            f"{'up' if delta > 0 else 'down'} {abs(delta):.2f}."
        )
        return moved, reason

    def _moved(self, current: Thresholds, delta: float) -> Thresholds:
        def move(value: float) -> float:
            return round(min(self.ceiling, max(self.floor, value + delta)), 3)

        return Thresholds(
            move(current.default), {name: move(value) for name, value in current.fields.items()}
        )


POLICIES = {"advice": ThresholdAdvicePolicy, "step": EscapedErrorStepPolicy}
