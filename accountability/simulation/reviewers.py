"""Simulated reviewers: shifts, a speed of their own, and a small error rate of their own.

Handle time is lognormal around the item's typical time scaled by the reviewer's speed, plus
time to find and type each correction. A reviewer catches a wrong value with probability
1 - miss_rate (a miss approves it as correct, as tired people do), rejects the documents a
careful reader would reject, and escalates a small share. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from accountability.simulation.agents import MISTAKES

WEEKDAYS = frozenset(range(5))
ESCALATE_REASONS = (
    ("needs_specialist", "Needs someone who knows this supplier/case better."),
    ("policy_question", "Not sure the policy covers this; lead to decide."),
    ("suspected_fraud", "Amounts and dates look inconsistent with the story."),
)


@dataclass(frozen=True)
class Shift:
    """Working hours (local, in hours from midnight) on some weekdays (Monday = 0)."""

    start: float = 8.0
    end: float = 16.5
    days: frozenset[int] = WEEKDAYS

    def window(self, day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime] | None:
        if day.weekday() not in self.days:
            return None
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        return midnight + dt.timedelta(hours=self.start), midnight + dt.timedelta(hours=self.end)


@dataclass(frozen=True)
class FieldSeen:
    """One field as the reviewer sees it, and the truth the simulator knows."""

    name: str
    value: Any
    truth: Any
    mistake: str = ""


@dataclass(frozen=True)
class FieldVerdict:
    name: str
    verdict: str  # correct | corrected
    value: Any = None  # the corrected value
    correction_reason: str = ""


@dataclass(frozen=True)
class ReviewOutcome:
    decision: str  # approve | reject | escalate
    verdicts: list[FieldVerdict]
    reason: str
    comment: str
    seconds: float  # wall time from claim to decision
    active_seconds: float  # of which the reviewer was active on the page
    missed: int = 0  # wrong values approved as correct


@dataclass(frozen=True)
class ReviewerModel:
    name: str
    speed: float = 1.0  # multiplies every handle time: 0.8 is quick, 1.3 slow
    spread: float = 0.45  # sigma of the lognormal handle time
    miss_rate: float = 0.03
    escalate_rate: float = 0.01
    shifts: tuple[Shift, ...] = (Shift(),)
    settle_seconds: tuple[float, float] = (3.0, 20.0)  # pause before claiming the next item

    def next_on_shift(self, moment: dt.datetime) -> dt.datetime | None:
        """moment if the reviewer is working then, else the start of their next shift."""
        for offset in range(8):
            day = moment.date() + dt.timedelta(days=offset)
            starts = [
                max(moment, window[0])
                for shift in self.shifts
                if (window := shift.window(day, moment.tzinfo)) and moment < window[1]
            ]
            if starts:
                return min(starts)
        return None

    def shift_end(self, moment: dt.datetime) -> dt.datetime | None:
        """When the shift the reviewer is working at moment ends (None: not working)."""
        for shift in self.shifts:
            window = shift.window(moment.date(), moment.tzinfo)
            if window and window[0] <= moment < window[1]:
                return window[1]
        return None

    def handle_seconds(self, typical: float, rng: random.Random) -> float:
        return typical * self.speed * rng.lognormvariate(0, self.spread)

    def review(
        self,
        fields: Sequence[FieldSeen],
        *,
        typical_seconds: float,
        rng: random.Random,
        reject: tuple[str, str] | None = None,
        may_escalate: bool = True,
        max_seconds: float = 3600,
    ) -> ReviewOutcome:
        """What this reviewer decides on one item, and how long it takes them."""
        seconds = self.handle_seconds(typical_seconds, rng)
        if may_escalate and rng.random() < self.escalate_rate:
            reason, comment = rng.choice(ESCALATE_REASONS)
            return self._outcome("escalate", [], reason, comment, seconds, max_seconds, rng)
        if reject:
            return self._outcome("reject", [], *reject, seconds, max_seconds, rng)
        verdicts, missed = [], 0
        for seen in fields:
            if seen.value == seen.truth:
                verdicts.append(FieldVerdict(seen.name, "correct"))
            elif rng.random() < self.miss_rate:
                verdicts.append(FieldVerdict(seen.name, "correct"))
                missed += 1
            else:
                reason = MISTAKES.get(seen.mistake, "wrong_value")
                verdicts.append(FieldVerdict(seen.name, "corrected", seen.truth, reason))
                seconds += rng.uniform(10, 30)  # finding and typing the right value
        outcome = self._outcome("approve", verdicts, "", "", seconds, max_seconds, rng)
        return replace(outcome, missed=missed)

    def _outcome(
        self,
        decision: str,
        verdicts: list[FieldVerdict],
        reason: str,
        comment: str,
        seconds: float,
        max_seconds: float,
        rng: random.Random,
    ) -> ReviewOutcome:
        seconds = round(min(max(seconds, 4.0), max_seconds), 1)
        active = round(seconds * rng.uniform(0.85, 1.0), 1)  # glances away, phone, coffee
        return ReviewOutcome(decision, verdicts, reason, comment, seconds, active)


def team_of(count: int, rng: random.Random, *, shifts: Sequence[Shift] = ()) -> list[ReviewerModel]:
    """count reviewers with speeds and error rates varying around typical values, on staggered
    shifts (the last one also covers weekend mornings)."""
    starts = (8.0, 9.0, 10.0)
    people = []
    for index in range(count):
        start = starts[index % len(starts)]
        own = list(shifts) or [Shift(start, start + 8.5)]
        if not shifts and index == count - 1:
            own.append(Shift(10.0, 14.0, frozenset({5, 6})))
        people.append(
            ReviewerModel(
                name=f"reviewer-{index + 1}",
                speed=round(rng.lognormvariate(0, 0.2), 2),
                miss_rate=round(rng.uniform(0.01, 0.05), 3),
                escalate_rate=round(rng.uniform(0.005, 0.015), 3),
                shifts=tuple(own),
            )
        )
    return people
