"""Headcount benchmark: how many reviewers each routing needs at production volume, and how many
wrong items it lets through.

Pure (numpy and the pure models, no database), so 10,000 items a day for 8 weeks takes
seconds. The very same outputs go through every routing:

- fixed: auto-accept an item when every field's own confidence is at least 0.9, as an
  activation condition on a model's confidence does;
- calibrated: the queue starts with everything going to people (every threshold 1.0, so the
  first week's labels cover every kind of item); each Monday every field gets a calibrator
  fitted on the labels people gave so far (agents.calibration.fitting, choosing its method as
  the app does), and the thresholds become the threshold advice's
  (review.services.threshold_search.item_thresholds, as the thresholds page advises): chosen
  together so that the auto-accepted items meet the target as a share of whole items with a
  wrong field. As in the app, a field with a calibrator is routed by its calibrated confidence;
- uncalibrated: the same advice on the agents' own confidences, never calibrated.

Then, for the comparison at equal error, the best the fixed routing could have done: the one
threshold on the agents' own confidence that auto-accepts the most of the compared weeks' items
while escaping no more than calibrated routing truly did, chosen knowing the true outcomes
(hindsight no deployment has).

Every routing sends the same share of what it would auto-accept to QA. A reviewed item costs
lognormal handle time plus 20 s per correction; reviewers miss a share of wrong values, which
then enter the labels as right, as they would in production. FTE = active hours / FTE hours per
week.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings

from accountability.simulation.agents import AgentModel
from agents.calibration import fitting
from review.services.threshold_search import Grid, item_thresholds, thresholds_at

SECONDS_PER_CORRECTION = 20.0
HANDLE_SPREAD = 0.45  # sigma of the lognormal handle time, as ReviewerModel's default
COMPARED_WEEKS = 4  # the weeks compared: after the advice has had labels to learn from
ROUTINGS = ("fixed", "calibrated", "uncalibrated")


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
        """The true escaped-error rate: auto-accepted items with a wrong field."""
        return self.escaped / self.auto if self.auto else None


def _fte(active_seconds: float, weeks: int) -> float:
    return active_seconds / 3600 / settings.FTE_PRODUCTIVE_HOURS_PER_WEEK / weeks


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
        return _fte(self.active_seconds, 1)

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


@dataclass(frozen=True)
class Outcome(_Rates):
    """A routing over the compared weeks: counts in all, people per week."""

    weeks: int
    items: int
    auto: int
    escaped: int
    reviewed: int
    active_seconds: float
    # The hindsight thresholds: one for every agent, or one per agent of `lanes` (None: that
    # agent's items all go to people).
    thresholds: tuple[float | None, ...] = ()
    lanes: tuple[str, ...] = ()

    @classmethod
    def of(cls, figures: list[WeekFigures]) -> Outcome:
        return cls(
            len(figures),
            sum(w.items for w in figures),
            sum(w.auto for w in figures),
            sum(w.escaped for w in figures),
            sum(w.reviewed for w in figures),
            sum(w.active_seconds for w in figures),
        )

    @property
    def reviewed_per_week(self) -> float:
        return self.reviewed / self.weeks

    @property
    def fte(self) -> float:
        """Per week."""
        return _fte(self.active_seconds, self.weeks)

    def as_dict(self) -> dict:
        return {
            "thresholds": dict(zip(self.lanes, self.thresholds, strict=True))
            if self.lanes
            else list(self.thresholds),
            "escaped_rate": None if self.escaped_rate is None else round(self.escaped_rate, 4),
            "reviewed_per_week": round(self.reviewed_per_week),
            "fte": round(self.fte, 2),
            "automation_rate": round(self.automation_rate, 4),
        }


@dataclass
class Learner:
    """One lane's calibrators and thresholds under advised routing, and what they learn from:
    every label so far, and the last week's arrivals."""

    fields: tuple[str, ...]
    thresholds: np.ndarray
    calibrate: bool = True
    labeled: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per week
    arrivals: np.ndarray | None = None
    calibrators: list[tuple[str, dict] | None] = field(default_factory=list)

    @classmethod
    def starting_at(cls, fields: tuple[str, ...], threshold: float, *, calibrate: bool) -> Learner:
        n = len(fields)
        return cls(fields, np.full(n, threshold), calibrate, calibrators=[None] * n)

    def scored(self, confidence: np.ndarray) -> np.ndarray:
        """What routing goes by: the calibrated confidence where a field has a calibrator."""
        scored = confidence.astype(float)
        for j, calibrator in enumerate(self.calibrators):
            if calibrator:
                scored[:, j] = fitting.apply(*calibrator, confidence[:, j])
        return scored

    def clears(self, confidence: np.ndarray) -> np.ndarray:
        """Per item and field: it reaches the field's threshold."""
        return self.scored(confidence) >= self.thresholds - 1e-9

    def learn(self, arrivals: np.ndarray, confidence: np.ndarray, right: np.ndarray) -> None:
        """A week: all its arrivals, and the confidences and labels of the items people saw."""
        self.arrivals = arrivals
        self.labeled.append((confidence, right))

    def refit(self, target: float) -> None:
        """Monday: new calibrators from every label so far, then the advice on their scores.
        Without advice (no thresholds can be shown to meet the target) the thresholds stay."""
        confidence = np.concatenate([c for c, _ in self.labeled])
        right = np.concatenate([r for _, r in self.labeled])
        if self.calibrate:
            for j in range(len(self.fields)):
                method = fitting.choose_method(len(right), int(right[:, j].sum()))
                if method:
                    parameters = fitting.fit_parameters(method, confidence[:, j], right[:, j])
                    self.calibrators[j] = (method, parameters)
        labeled = Grid.of(self.scored(confidence), ~right.all(axis=1))
        levels = item_thresholds(labeled, Grid.of(self.scored(self.arrivals)), target)
        if levels is not None:
            self.thresholds = np.array(thresholds_at(levels))


@dataclass(frozen=True)
class _Draws:
    """Chance that is the same under every routing: QA draws, handle times, reviewer misses."""

    qa: np.ndarray
    handle: np.ndarray
    missed: np.ndarray


@dataclass(frozen=True)
class _Pooled:
    """What thresholds on the agents' own confidence do to one agent's items."""

    lowest: np.ndarray  # each item's lowest field confidence
    right: np.ndarray  # every field right
    qa: np.ndarray
    seconds: np.ndarray  # a person's active time on it: handle time plus caught corrections
    lane: str = ""

    @classmethod
    def of(cls, lane: str, confidence: np.ndarray, correct: np.ndarray, draws: _Draws) -> _Pooled:
        caught = (~correct & ~draws.missed).sum(axis=1)
        return cls(
            confidence.min(axis=1),
            correct.all(axis=1),
            draws.qa,
            draws.handle + SECONDS_PER_CORRECTION * caught,
            lane,
        )

    @classmethod
    def join(cls, parts: list[_Pooled]) -> _Pooled:
        return cls(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in _ARRAYS),
            parts[0].lane if parts else "",
        )


_ARRAYS = ("lowest", "right", "qa", "seconds")


@dataclass(frozen=True)
class _Choices:
    """What each candidate threshold on one agent's items does: counts and review seconds.
    The last candidate (None) accepts nothing."""

    thresholds: list[float | None]
    auto: np.ndarray
    escaped: np.ndarray
    review_seconds: np.ndarray

    @classmethod
    def of(cls, items: _Pooled, candidates: np.ndarray) -> _Choices:
        order = np.argsort(items.lowest, kind="stable")
        eligible = ~items.qa[order]

        def from_each(values: np.ndarray) -> np.ndarray:
            """Per start position, the sum from there on (and 0 after the end)."""
            return np.concatenate([np.cumsum(values[::-1])[::-1], [0]])

        auto = from_each(eligible.astype(int))
        escaped = from_each((eligible & ~items.right[order]).astype(int))
        accepted_seconds = from_each(np.where(eligible, items.seconds[order], 0.0))
        # Accept the items at or above a candidate: from its first position in sorted order.
        at = np.append(np.searchsorted(items.lowest[order], candidates), len(order))
        return cls(
            [float(t) for t in candidates] + [None],
            auto[at],
            escaped[at],
            float(items.seconds.sum()) - accepted_seconds[at],
        )


def _candidates(lowest: np.ndarray) -> np.ndarray:
    # 401 candidates, each a confidence some item really has: thresholds between two of them
    # decide nothing more.
    return np.unique(np.quantile(lowest, np.linspace(0, 1, 401), method="lower"))


def equal_error_fixed(
    pooled: list[_Pooled], escaped_at_most: float, weeks: int, *, per_agent: bool = False
) -> Outcome:
    """Thresholds on the lowest field confidence, chosen with hindsight to leave people the
    least work while the true escaped-error rate of all the items stays at or under
    `escaped_at_most`: one for every agent, or (per_agent) one for each agent, the best of those
    the sweep finds."""
    everything = _Pooled.join(pooled)
    n = len(everything.lowest)
    best = Outcome(weeks, n, 0, 0, n, float(everything.seconds.sum()))
    if not n:
        return best
    lanes = sorted({p.lane for p in pooled})
    parts = [_Pooled.join([p for p in pooled if p.lane == lane]) for lane in lanes]
    common = _candidates(everything.lowest)
    # One threshold for every agent: each candidate on each agent's items.
    tables = [_Choices.of(part, common) for part in parts]
    tried = [(tables, [c] * len(parts)) for c in range(len(common))]
    if per_agent:
        # One each: for a price (in seconds of review) on an escaped error over the rate, each
        # agent's threshold that is best at that price; the prices sweep from free to
        # prohibitive.
        own = [_Choices.of(part, _candidates(part.lowest)) for part in parts]
        for price in np.concatenate([[0.0], np.geomspace(1e-2, 1e8, 600)]):
            value = [
                -t.review_seconds - price * (t.escaped - escaped_at_most * t.auto) for t in own
            ]
            tried.append((own, [int(np.argmax(v)) for v in value]))
    for choices, pick in tried:
        chosen = list(zip(choices, pick, strict=True))
        auto = sum(int(t.auto[c]) for t, c in chosen)
        escaped = sum(int(t.escaped[c]) for t, c in chosen)
        seconds = sum(float(t.review_seconds[c]) for t, c in chosen)
        if auto and seconds < best.active_seconds and escaped / auto <= escaped_at_most + 1e-12:
            thresholds = tuple(t.thresholds[c] for t, c in chosen)
            best = Outcome(weeks, n, auto, escaped, n - auto, seconds, thresholds, tuple(lanes))
    if best.thresholds and not per_agent:
        best = replace(best, thresholds=best.thresholds[:1], lanes=())
    return best


@dataclass(frozen=True)
class Bench:
    items_per_day: int = 10_000
    weeks: int = 8
    fixed_threshold: float = 0.9
    calibrated_start: float = 1.0
    target: float = 0.01  # share of auto-accepted items with a wrong field, as a queue's
    qa_rate: float = 0.02
    miss_rate: float = 0.03
    seed: int = 1
    # The compared weeks' items, kept by run() for the equal-error comparison.
    pool: list[_Pooled] = field(default_factory=list, compare=False, repr=False)

    def run(self, lanes: list[BenchLane]) -> dict[str, list[WeekFigures]]:
        """Week by week, each routing's figures (ROUTINGS)."""
        generator = np.random.default_rng(self.seed)
        figures = {name: [WeekFigures(week + 1) for week in range(self.weeks)] for name in ROUTINGS}
        self.pool.clear()
        learners = {
            (lane.name, name): Learner.starting_at(
                lane.fields, self.calibrated_start, calibrate=name == "calibrated"
            )
            for lane in lanes
            for name in ROUTINGS[1:]
        }
        per_lane = self.items_per_day * 7 // len(lanes)
        for week in range(self.weeks):
            for lane in lanes:
                confidence, correct = lane.model.sample(lane.fields, per_lane, generator)
                draws = _Draws(
                    qa=generator.random(per_lane) < self.qa_rate,
                    handle=lane.review_seconds * generator.lognormal(0, HANDLE_SPREAD, per_lane),
                    missed=generator.random(correct.shape) < self.miss_rate,
                )
                fixed = confidence >= self.fixed_threshold
                self._route(figures["fixed"][week], fixed, correct, draws)
                if week >= self.weeks - COMPARED_WEEKS:
                    self.pool.append(_Pooled.of(lane.name, confidence, correct, draws))
                for name in ROUTINGS[1:]:
                    learner = learners[lane.name, name]
                    clears = learner.clears(confidence)
                    reviewed = self._route(figures[name][week], clears, correct, draws)
                    # What people label: right, or wrong and caught (a miss is labeled right).
                    labels = (correct | draws.missed)[reviewed]
                    learner.learn(confidence, confidence[reviewed], labels)
            for learner in learners.values():
                learner.refit(self.target)
        return figures

    def compare(self, figures: dict[str, list[WeekFigures]]) -> dict[str, Outcome]:
        """The compared weeks of each routing, and the fixed threshold tuned with hindsight to
        escape no more than calibrated routing truly did ("hindsight")."""
        compared = {name: Outcome.of(weeks[-COMPARED_WEEKS:]) for name, weeks in figures.items()}
        escaped = compared["calibrated"].escaped_rate or 0.0
        weeks = min(COMPARED_WEEKS, self.weeks)
        compared["hindsight"] = equal_error_fixed(self.pool, escaped, weeks)
        compared["hindsight_per_agent"] = equal_error_fixed(
            self.pool, escaped, weeks, per_agent=True
        )
        return compared

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
