"""Headcount benchmark: how many reviewers two routings need at production volume.

Pure (numpy and the pure models, no database), so 10,000 items a day for 8 weeks takes
seconds. The very same outputs go through both routings:

- fixed: auto-accept an item when every field's own confidence is at least 0.9;
- calibrated: starts cautious (every threshold 0.99, as a new queue in the simulation does);
  each Monday, every field gets a calibrator fitted on the labels people gave so far
  (agents.calibration.fitting, choosing its method as the app does) and the threshold advice's
  threshold (review.services.thresholds.field_advice: the lowest threshold whose 95 % upper
  bound on the labeled error rate is within the target; fields without advice keep theirs).
  As in the app's routing, a field clears when both its own and its calibrated confidence
  reach the threshold (check_confidence and check_calibration).

Both send the same share of what they would auto-accept to QA. A reviewed item costs lognormal
handle time plus 20 s per correction; reviewers miss a share of wrong values, which then enter
the labels as right, as they would in production. FTE = active hours / FTE hours per week.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from accountability.simulation.agents import AgentModel
from agents.calibration import fitting
from review.models import Queue
from review.services.thresholds import field_advice

SECONDS_PER_CORRECTION = 20.0
HANDLE_SPREAD = 0.45  # sigma of the lognormal handle time, as ReviewerModel's default


@dataclass(frozen=True)
class BenchLane:
    name: str
    model: AgentModel
    fields: tuple[str, ...]
    review_seconds: float  # median handle time of one item


class _Rates:
    """What follows from counts of items, auto-accepted ones and escaped errors."""

    items: int
    auto: int
    escaped: int

    @property
    def automation_rate(self) -> float:
        return self.auto / self.items if self.items else 0.0

    @property
    def escaped_rate(self) -> float | None:
        return self.escaped / self.auto if self.auto else None


@dataclass
class WeekFigures(_Rates):
    week: int
    items: int = 0
    auto: int = 0
    escaped: int = 0  # auto-accepted items with a wrong field
    reviewed: int = 0
    active_seconds: float = 0.0

    @property
    def fte(self) -> float:
        return self.active_seconds / 3600 / settings.FTE_PRODUCTIVE_HOURS_PER_WEEK

    def as_dict(self) -> dict:
        return {
            "week": self.week,
            "items": self.items,
            "auto_accepted": self.auto,
            "escaped": self.escaped,
            "reviewed": self.reviewed,
            "automation_rate": round(self.automation_rate, 4),
            "escaped_rate": None if self.escaped_rate is None else round(self.escaped_rate, 4),
            "active_hours": round(self.active_seconds / 3600, 1),
            "fte": round(self.fte, 2),
        }


@dataclass
class Learner:
    """One lane's calibrators and thresholds under calibrated routing, and the labels they
    learn from."""

    fields: tuple[str, ...]
    thresholds: np.ndarray
    confidences: list[list[np.ndarray]] = field(default_factory=list)  # per field, per week
    rights: list[list[np.ndarray]] = field(default_factory=list)
    calibrators: list[tuple[str, dict] | None] = field(default_factory=list)

    @classmethod
    def starting_at(cls, fields: tuple[str, ...], threshold: float) -> Learner:
        n = len(fields)
        return cls(
            fields, np.full(n, threshold), [[] for _ in fields], [[] for _ in fields], [None] * n
        )

    def clears(self, confidence: np.ndarray) -> np.ndarray:
        """Per item and field: its own and its calibrated confidence reach the threshold."""
        scored = confidence.astype(float)
        for j, calibrator in enumerate(self.calibrators):
            if calibrator:
                scored[:, j] = fitting.apply(*calibrator, confidence[:, j])
        return (confidence >= self.thresholds) & (scored >= self.thresholds)

    def learn(self, confidence: np.ndarray, right: np.ndarray) -> None:
        for j in range(len(self.fields)):
            self.confidences[j].append(confidence[:, j])
            self.rights[j].append(right[:, j])

    def refit_one_threshold(self, target: float) -> None:
        """Monday, without calibration: one threshold for every field on the agent's own
        confidence, by the same advice rule on all the fields' labels pooled."""
        c = np.concatenate([np.concatenate(per_field) for per_field in self.confidences])
        y = np.concatenate([np.concatenate(per_field) for per_field in self.rights])
        labeled = _Labeled(np.full(len(c), "all", dtype=object), c, ~y)
        queue = Queue(
            field_schema=[{"name": "all", "type": "number", "threshold": float(self.thresholds[0])}]
        )
        advised = field_advice(_History(queue, labeled), "all", target).advised
        if advised is not None:
            self.thresholds[:] = advised

    def refit(self, target: float) -> None:
        """Monday: new calibrators from every label so far, then the advice on their scores."""
        names, scores, wrong = [], [], []
        for j, name in enumerate(self.fields):
            c = np.concatenate(self.confidences[j])
            y = np.concatenate(self.rights[j])
            method = fitting.choose_method(len(y), int(y.sum()))
            if method:
                self.calibrators[j] = (method, fitting.fit_parameters(method, c, y))
            scores.append(fitting.apply(*self.calibrators[j], c) if self.calibrators[j] else c)
            names.append(np.full(len(c), name, dtype=object))
            wrong.append(~y)
        labeled = _Labeled(np.concatenate(names), np.concatenate(scores), np.concatenate(wrong))
        # The advice reads the current thresholds from a queue: an unsaved one carries them.
        queue = Queue(
            field_schema=[
                {"name": name, "type": "number", "threshold": float(self.thresholds[j])}
                for j, name in enumerate(self.fields)
            ]
        )
        history = _History(queue, labeled)
        for j, name in enumerate(self.fields):
            advised = field_advice(history, name, target).advised
            if advised is not None:
                self.thresholds[j] = advised


COMPARED_WEEKS = 4  # the weeks compared: after the calibrated routing has learned


@dataclass(frozen=True)
class _Pooled:
    """What any single threshold on the agents' own confidence does to these items."""

    lowest: np.ndarray  # each item's lowest field confidence
    right: np.ndarray  # every field right
    qa: np.ndarray
    seconds: np.ndarray  # a person's active time on it: handle time plus caught corrections

    @classmethod
    def of(cls, confidence: np.ndarray, correct: np.ndarray, draws: _Draws) -> _Pooled:
        caught = (~correct & ~draws.missed).sum(axis=1)
        return cls(
            confidence.min(axis=1),
            correct.all(axis=1),
            draws.qa,
            draws.handle + SECONDS_PER_CORRECTION * caught,
        )


@dataclass(frozen=True)
class EqualError(_Rates):
    """The best one threshold on the agents' own confidence could do at an escaped-error rate
    no worse than calibrated routing's, chosen with hindsight on the true outcomes."""

    threshold: float | None  # None: no threshold auto-accepts anything that well
    items: int
    auto: int
    escaped: int
    fte: float  # per week


def equal_error_fixed(pooled: list[_Pooled], escaped_at_most: float, weeks: int) -> EqualError:
    """Among thresholds on the lowest field confidence, the one that auto-accepts the most
    while its true escaped-error rate stays at or under `escaped_at_most`."""
    lowest = np.concatenate([p.lowest for p in pooled])
    right = np.concatenate([p.right for p in pooled])
    qa = np.concatenate([p.qa for p in pooled])
    seconds = np.concatenate([p.seconds for p in pooled])
    best = EqualError(None, len(lowest), 0, 0, float(seconds.sum()) / 3600 / _fte_hours() / weeks)
    # 401 candidates, each a confidence some item really has: thresholds between two of them
    # decide nothing more.
    candidates = np.quantile(lowest, np.linspace(0, 1, 401), method="lower")
    for threshold in np.unique(candidates):
        auto = (lowest >= threshold) & ~qa
        n_auto = int(auto.sum())
        escaped = int((auto & ~right).sum())
        if n_auto and escaped / n_auto <= escaped_at_most and n_auto > best.auto:
            fte = float(seconds[~auto].sum()) / 3600 / _fte_hours() / weeks
            best = EqualError(float(threshold), len(lowest), n_auto, escaped, fte)
    return best


def _fte_hours() -> float:
    return settings.FTE_PRODUCTIVE_HOURS_PER_WEEK


@dataclass(frozen=True)
class Bench:
    items_per_day: int = 10_000
    weeks: int = 8
    fixed_threshold: float = 0.9
    calibrated_start: float = 0.99
    target: float = 0.01  # per field, as a queue's target_error_rate
    qa_rate: float = 0.02
    miss_rate: float = 0.03
    seed: int = 1
    # The last weeks' items, kept by run() for the equal-error comparison.
    pool: list[_Pooled] = field(default_factory=list, compare=False, repr=False)

    def run(self, lanes: list[BenchLane]) -> dict[str, list[WeekFigures]]:
        generator = np.random.default_rng(self.seed)
        fixed = [WeekFigures(week + 1) for week in range(self.weeks)]
        calibrated = [WeekFigures(week + 1) for week in range(self.weeks)]
        one_threshold = [WeekFigures(week + 1) for week in range(self.weeks)]
        self.pool.clear()
        start = self.calibrated_start
        learners = {lane.name: Learner.starting_at(lane.fields, start) for lane in lanes}
        uncalibrated = {lane.name: Learner.starting_at(lane.fields, start) for lane in lanes}
        per_lane = self.items_per_day * 7 // len(lanes)
        for week in range(self.weeks):
            for lane in lanes:
                confidence, correct = lane.model.sample(lane.fields, per_lane, generator)
                draws = _Draws(
                    qa=generator.random(per_lane) < self.qa_rate,
                    handle=lane.review_seconds * generator.lognormal(0, HANDLE_SPREAD, per_lane),
                    missed=generator.random(correct.shape) < self.miss_rate,
                )
                self._route(fixed[week], confidence >= self.fixed_threshold, correct, draws)
                if week >= self.weeks - COMPARED_WEEKS:
                    self.pool.append(_Pooled.of(confidence, correct, draws))
                learner = learners[lane.name]
                reviewed = self._route(calibrated[week], learner.clears(confidence), correct, draws)
                # What people label: right, or wrong and caught (a miss is labeled right).
                learner.learn(confidence[reviewed], (correct | draws.missed)[reviewed])
                plain = uncalibrated[lane.name]
                seen = self._route(one_threshold[week], plain.clears(confidence), correct, draws)
                plain.learn(confidence[seen], (correct | draws.missed)[seen])
            for learner in learners.values():
                learner.refit(self.target)
            for plain in uncalibrated.values():
                plain.refit_one_threshold(self.target)
        return {"fixed": fixed, "calibrated": calibrated, "one_threshold": one_threshold}

    def _route(
        self, figures: WeekFigures, clears: np.ndarray, correct: np.ndarray, draws: _Draws
    ) -> np.ndarray:
        """Count one lane's week under one routing; return which items people reviewed."""
        candidate = clears.all(axis=1)
        auto = candidate & ~draws.qa
        reviewed = ~auto
        caught = (~correct & ~draws.missed)[reviewed].sum()
        figures.items += len(auto)
        figures.auto += int(auto.sum())
        figures.escaped += int((auto & ~correct.all(axis=1)).sum())
        figures.reviewed += int(reviewed.sum())
        figures.active_seconds += float(
            draws.handle[reviewed].sum() + SECONDS_PER_CORRECTION * caught
        )
        return reviewed


@dataclass(frozen=True)
class _Draws:
    """Chance that is the same under both routings: QA draws, handle times, reviewer misses."""

    qa: np.ndarray
    handle: np.ndarray
    missed: np.ndarray


# What field_advice reads of a queue's history: the labeled rows' field names, scores and
# whether each was wrong, and the queue's current thresholds. The benchmark has no database
# history, so it hands over just that.
@dataclass(frozen=True)
class _Labeled:
    name: np.ndarray
    score: np.ndarray
    wrong: np.ndarray


@dataclass(frozen=True)
class _History:
    queue: Queue
    labeled: _Labeled
