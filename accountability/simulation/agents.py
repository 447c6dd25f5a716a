"""Synthetic agents: a known true accuracy per field, and confidences that are honest or not.

For every field the agent first has a certainty p, drawn from a Beta distribution whose mean is
the field's true accuracy (so accuracy is what it says). Then, by profile:

- honest: the value is right with probability p and the confidence sent is p, so confidence is
  P(correct), which is what calibration aims for;
- overconfident: right with probability p as well, but p is squeezed into 0.95-0.999 before it
  is sent: the ranking survives, the level does not (an agent 80 % right says 95 %+);
- uninformative: right with the field's accuracy whatever p is, and p sent as it is, so the
  confidence says nothing about this value.

A wrong value is a realistic corruption of the right one (digits transposed, a date with day
and month swapped, a lookalike character, another enum choice, the value of the line next to
it), so a reviewer always has a true value to restore. Pure: no database, any volume.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class Profile(StrEnum):
    HONEST = "honest"
    OVERCONFIDENT = "overconfident"
    UNINFORMATIVE = "uninformative"


# Where an overconfident agent's confidences land, whatever its true accuracy.
OVERCONFIDENT_FLOOR = 0.95
CONFIDENCE_CEILING = 0.999


@dataclass(frozen=True)
class FieldTruth:
    """What the source really says about one field, and what else it shows nearby."""

    name: str
    type: str  # the queue schema's type: string, number, integer, date, ...
    value: Any  # None when the source has no value for it
    choices: tuple[Any, ...] = ()  # an enum field's allowed values
    decoy: Any = None  # a wrong value the source also shows (the subtotal beside the total)


@dataclass(frozen=True)
class Guess:
    """An agent's output for one field, with what only the simulator knows: was it right?"""

    name: str
    value: Any
    confidence: float
    correct: bool
    mistake: str = ""  # the kind of corruption when wrong (see MISTAKES)


# Kinds of mistake, and the correction reason (review.models.CorrectionReason) a reviewer
# gives when they catch one.
MISTAKES = {
    "wrong_place": "wrong_place",  # took the value of another line of the document
    "wrong_choice": "wrong_value",  # another of an enum field's values
    "date_swap": "formatting",  # day and month swapped
    "date_shift": "wrong_value",  # a day or two off
    "digit_swap": "misread",  # two adjacent digits transposed
    "digit_slip": "misread",  # one digit read as a similar one (3/8, 1/7, 5/6)
    "lookalike": "misread",  # O/0, l/1, S/5, B/8
    "typo": "misread",  # two adjacent letters transposed
}
DIGIT_SLIPS = {"3": "8", "8": "3", "1": "7", "7": "1", "5": "6", "6": "5"}
LOOKALIKES = {"0": "O", "O": "0", "1": "l", "l": "1", "I": "1", "5": "S", "S": "5", "8": "B"}


@dataclass(frozen=True)
class AgentModel:
    profile: Profile = Profile.HONEST
    accuracy: float = 0.97  # true accuracy of a field not named in field_accuracy
    field_accuracy: Mapping[str, float] = field(default_factory=dict)
    # How concentrated the certainty is around the accuracy: higher, fewer doubtful fields.
    sharpness: float = 25.0

    def accuracy_of(self, name: str) -> float:
        return self.field_accuracy.get(name, self.accuracy)

    def read(self, truths: Sequence[FieldTruth], rng: random.Random) -> list[Guess]:
        return [self.guess(truth, rng) for truth in truths]

    def guess(self, truth: FieldTruth, rng: random.Random) -> Guess:
        accuracy = self.accuracy_of(truth.name)
        certainty = certainty_draw(rng, accuracy, self.sharpness)
        if self.profile == Profile.UNINFORMATIVE:
            right = rng.random() < accuracy
        else:
            right = rng.random() < certainty
        value, mistake = (truth.value, "") if right else corrupt(truth, rng)
        confidence = certainty
        if self.profile == Profile.OVERCONFIDENT:
            span = CONFIDENCE_CEILING - OVERCONFIDENT_FLOOR
            confidence = OVERCONFIDENT_FLOOR + span * certainty
        # A value nothing can corrupt (an optional field the source lacks) stays right.
        return Guess(truth.name, value, round(confidence, 3), mistake == "", mistake)

    def sample(
        self, names: Sequence[str], count: int, generator: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """count outputs at once, as (confidence, correct) arrays of count x len(names): the
        same model as guess(), vectorised for benchmarks at production volume. Values are
        not made up, only whether they are right."""
        accuracy = np.clip([self.accuracy_of(name) for name in names], 0.001, 0.999)
        shape = (count, len(names))
        certainty = generator.beta(
            self.sharpness * accuracy, self.sharpness * (1 - accuracy), shape
        )
        certainty = np.clip(certainty, 0.01, CONFIDENCE_CEILING)
        chance = accuracy if self.profile == Profile.UNINFORMATIVE else certainty
        correct = generator.random(shape) < chance
        confidence = certainty
        if self.profile == Profile.OVERCONFIDENT:
            confidence = (
                OVERCONFIDENT_FLOOR + (CONFIDENCE_CEILING - OVERCONFIDENT_FLOOR) * certainty
            )
        return np.round(confidence, 3), correct


def certainty_draw(rng: random.Random, accuracy: float, sharpness: float) -> float:
    """A certainty with mean `accuracy`: Beta(sharpness * a, sharpness * (1 - a))."""
    accuracy = min(max(accuracy, 0.001), 0.999)
    drawn = rng.betavariate(sharpness * accuracy, sharpness * (1 - accuracy))
    return min(max(drawn, 0.01), CONFIDENCE_CEILING)


def corrupt(truth: FieldTruth, rng: random.Random) -> tuple[Any, str]:
    """A wrong value an agent could plausibly give, and the kind of mistake; the right value
    and "" when nothing about this field can go wrong."""
    makers = _mistakes_possible(truth)
    if not makers:
        return truth.value, ""
    kinds = sorted(makers)
    kind = rng.choices(kinds, weights=[makers[k][0] for k in kinds])[0]
    return makers[kind][1](rng), kind


def _mistakes_possible(truth: FieldTruth) -> dict[str, tuple[float, Any]]:
    """kind -> (weight, rng -> wrong value), for the mistakes this field allows."""
    value, makers = truth.value, {}
    if truth.decoy is not None and truth.decoy != value:
        makers["wrong_place"] = (3.0, lambda rng: truth.decoy)
    if value is None:
        return makers
    if truth.choices:
        others = [choice for choice in truth.choices if choice != value]
        if others:
            makers["wrong_choice"] = (2.0, lambda rng: rng.choice(others))
    elif truth.type == "date" and isinstance(value, str):
        if (swapped := swap_day_month(value)) is not None:
            makers["date_swap"] = (3.0, lambda rng: swapped)
        makers["date_shift"] = (1.0, lambda rng: shift_date(value, rng))
    elif truth.type in ("number", "integer") and isinstance(value, int | float):
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        back = float if isinstance(value, float) else int
        if _swappable(text, str.isdigit):
            makers["digit_swap"] = (2.0, lambda rng: back(transpose(text, rng, str.isdigit)))
        if any(c in DIGIT_SLIPS for c in text):
            makers["digit_slip"] = (1.0, lambda rng: back(replace_one(text, rng, DIGIT_SLIPS)))
    elif isinstance(value, str):
        if _swappable(value, str.isdigit):
            makers["digit_swap"] = (2.0, lambda rng: transpose(value, rng, str.isdigit))
        if any(c in LOOKALIKES for c in value):
            makers["lookalike"] = (2.0, lambda rng: replace_one(value, rng, LOOKALIKES))
        if _swappable(value, str.isalpha):
            makers["typo"] = (1.0, lambda rng: transpose(value, rng, str.isalpha))
    return makers


def _pairs(text: str, kind: Any) -> list[int]:
    """Positions i where text[i] and text[i + 1] are both of kind and differ."""
    return [
        i
        for i in range(len(text) - 1)
        if kind(text[i]) and kind(text[i + 1]) and text[i] != text[i + 1]
    ]


def _swappable(text: str, kind: Any) -> bool:
    return bool(_pairs(text, kind))


def transpose(text: str, rng: random.Random, kind: Any) -> str:
    at = rng.choice(_pairs(text, kind))
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def replace_one(text: str, rng: random.Random, table: Mapping[str, str]) -> str:
    at = rng.choice([i for i, c in enumerate(text) if c in table])
    return text[:at] + table[text[at]] + text[at + 1 :]


def swap_day_month(iso: str) -> str | None:
    day = dt.date.fromisoformat(iso)
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month).isoformat()


def shift_date(iso: str, rng: random.Random) -> str:
    days = rng.choice((-2, -1, 1, 2))
    return (dt.date.fromisoformat(iso) + dt.timedelta(days=days)).isoformat()
