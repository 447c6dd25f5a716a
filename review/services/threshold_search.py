"""Choosing every field's threshold together, for a target on whole items.

An item is auto-accepted when each of its fields clears that field's threshold, and it has
escaped wrong when any of its fields is wrong. A target per field (each field's own error within
1 %) lets several times that share of items through wrong, so the target here is the share of
auto-accepted *items* with a wrong field, and the thresholds are searched together.

Pure numpy: the threshold advice (review.services.thresholds) and the headcount benchmark
(accountability.simulation.headcount) both call item_thresholds().

The search. Start with every threshold at the lowest candidate. Peel: while the target is not
met, raise the threshold of the field whose lowest auto-accepted values are the likeliest to be
on a wrong item (their items' mean risk), just past those values. Give back: then lower, one
slice at a time, the threshold whose slice just under it has the lowest risk among those the
target still allows. That spends the error budget where it buys the most automation per
expected wrong item.

The target is met when, of the labeled items the thresholds would auto-accept, the 95 % Wilson
upper bound of the share with a corrected field is within it. That needs no model, but tried on
many slices it is optimistic: the slices whose few labels happen to look clean are the ones let
through. So a slice is only given back when, besides, the recent arrivals auto-accepted are
expected to meet the target: their mean risk, where an item's risk is 1 - the product of its
fields' scores, its chance of a wrong field if the scores are calibrated confidences and fields
err independently. (Without the give-back, the headcount benchmark's true escaped error stayed
under the target with a little less automation; with it and the labels alone, it went over.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from review.quality import wilson_interval

# Thresholds the search considers: by 0.01 from 0.50, then by 0.001 from 0.98, where a good
# agent's fields hold most of their confidences.
CANDIDATES = [round(t / 100, 2) for t in range(50, 98)] + [
    round(t / 1000, 3) for t in range(980, 1001)
]


@dataclass(frozen=True)
class Grid:
    """Items by fields.

    level[i, j] is the index in CANDIDATES of the highest threshold field j of item i clears:
    -1 when it clears none (no confidence, or under every candidate), len(CANDIDATES) when the
    item has no such field, which never holds it back.
    """

    level: np.ndarray  # int, items x fields
    wrong: np.ndarray  # bool per item: a field was corrected (labeled items)
    risk: np.ndarray  # float per item: 1 - the product of all its fields' scores

    @classmethod
    def of(
        cls, scores: np.ndarray, wrong: np.ndarray | None = None, risk: np.ndarray | None = None
    ) -> Grid:
        """scores: items x fields, NaN for no confidence, +inf for a field the item lacks. The
        risk comes from these scores unless given (when the item has other fields too)."""
        candidates = np.asarray(CANDIDATES)
        level = np.searchsorted(candidates, scores + 1e-9, side="right") - 1
        level[np.isnan(scores)] = -1
        level[np.isposinf(scores)] = len(candidates)
        if risk is None:
            present = np.where(np.isposinf(scores), 1.0, np.nan_to_num(scores, nan=0.0))
            risk = 1 - np.clip(present, 0, 1).prod(axis=1)
        if wrong is None:
            wrong = np.zeros(len(scores), dtype=bool)
        return cls(level.astype(np.int16), wrong, risk)


def thresholds_at(levels: np.ndarray) -> list[float]:
    return [CANDIDATES[k] for k in levels]


def upper_bound(wrong: int, n: int) -> float:
    return wilson_interval(wrong, n)[1] if n else 1.0


class _Side:
    """One grid's items sorted by each field's level, and how many fields hold each back."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.order = np.argsort(grid.level, axis=0, kind="stable")
        self.sorted = np.take_along_axis(grid.level, self.order, axis=0)
        self.fails = (grid.level < 0).sum(axis=1)
        self.start = np.zeros(grid.level.shape[1], dtype=int)

    @property
    def accepted(self) -> np.ndarray:
        return self.fails == 0

    def lowest(self, j: int) -> tuple[int, np.ndarray]:
        """The lowest level of field j among accepted items, and the accepted items at it
        (len(CANDIDATES) + 1 and none when nothing is accepted). While thresholds only rise,
        an item once held back stays held back, so each search resumes where the last ended."""
        column, n = self.sorted[:, j], len(self.fails)
        at = self.start[j]
        while at < n:
            end = int(np.searchsorted(column, column[at], side="right"))
            items = self.order[at:end, j]
            items = items[self.fails[items] == 0]
            if len(items):
                self.start[j] = at
                return int(column[at]), items
            at = end
        self.start[j] = n
        return len(CANDIDATES) + 1, self.order[:0, j]

    def alone(self, j: int, k: int) -> np.ndarray:
        """Which items field j alone holds back (it is under level k and every other field
        clears)."""
        level = self.grid.level[:, j]
        return (self.fails == 1) & (level < k) & (level >= 0)

    def move(self, j: int, old: int, new: int) -> None:
        """Field j's threshold from level old to new, either way."""
        level = self.grid.level[:, j]
        if new > old:
            self.fails += (level >= old) & (level < new)
        else:
            self.fails -= (level >= new) & (level < old)


class _Search:
    def __init__(self, labeled: Grid, arrivals: Grid, target: float) -> None:
        self.labeled, self.arrivals, self.target = labeled, arrivals, target
        self.lab, self.arr = _Side(labeled), _Side(arrivals)
        self.levels = np.zeros(labeled.level.shape[1], dtype=int)

    def meets(self, labeled: np.ndarray) -> bool:
        """The labeled items accepted show the target met: their Wilson upper bound."""
        n = int(labeled.sum())
        return bool(n) and upper_bound(int(self.labeled.wrong[labeled].sum()), n) <= self.target

    def expected(self, arrivals: np.ndarray) -> bool:
        """The arrivals accepted are expected to meet the target: their mean risk."""
        return not arrivals.any() or float(self.arrivals.risk[arrivals].mean()) <= self.target

    def risk(self, labeled: np.ndarray, arrivals: np.ndarray) -> float:
        """Mean risk of a slice: of its arrivals, of its labeled items when it has none."""
        if len(arrivals):
            return float(self.arrivals.risk[arrivals].mean())
        return float(self.labeled.risk[labeled].mean())

    def peel(self) -> bool:
        """Raise thresholds until the target is met; False when it cannot be."""
        top = len(CANDIDATES) - 1
        while not self.meets(self.lab.accepted):
            riskiest = None
            for j in range(len(self.levels)):
                level_l, labeled = self.lab.lowest(j)
                level_a, arrivals = self.arr.lowest(j)
                level = min(level_l, level_a)
                if level >= top:  # only what the highest candidate accepts is left
                    continue
                risk = self.risk(
                    labeled if level_l == level else labeled[:0],
                    arrivals if level_a == level else arrivals[:0],
                )
                if riskiest is None or risk > riskiest[0]:
                    riskiest = (risk, j, level + 1)
            if riskiest is None:
                return False
            _, j, level = riskiest
            self.move(j, level)
        return True

    def under(self, j: int, below: int) -> tuple[int, np.ndarray, np.ndarray]:
        """The highest level under `below` at which field j alone holds items back, and those
        labeled and arriving items (-1 and none when there are none)."""
        alone_l, alone_a = self.lab.alone(j, below), self.arr.alone(j, below)
        level_l, level_a = self.labeled.level[:, j], self.arrivals.level[:, j]
        level = max(int(level_l[alone_l].max(initial=-1)), int(level_a[alone_a].max(initial=-1)))
        labeled = np.flatnonzero(alone_l & (level_l == level))
        return level, labeled, np.flatnonzero(alone_a & (level_a == level))

    def give_back(self) -> None:
        """Lower thresholds again while the target allows, the least risky slice first."""
        while True:
            safest = None
            for j in np.flatnonzero(self.levels > 0):
                level, labeled, arrivals = self.under(j, self.levels[j])
                if level < 0:
                    continue
                with_l, with_a = self.lab.accepted.copy(), self.arr.accepted.copy()
                with_l[labeled], with_a[arrivals] = True, True
                if not (self.meets(with_l) and self.expected(with_a)):
                    continue
                risk = self.risk(labeled, arrivals)
                if safest is None or risk < safest[0]:
                    safest = (risk, j, level)
            if safest is None:
                return
            _, j, level = safest
            self.move(j, level)
            # As low as it goes without letting more through: just above the next slice.
            self.move(j, self.under(j, level)[0] + 1)

    def move(self, j: int, level: int) -> None:
        self.lab.move(j, self.levels[j], level)
        self.arr.move(j, self.levels[j], level)
        self.levels[j] = level


def item_thresholds(labeled: Grid, arrivals: Grid, target: float) -> np.ndarray | None:
    """Per field (the grids' columns), the index in CANDIDATES of its threshold, chosen
    together so that the auto-accepted items meet `target`; None when no thresholds do.

    labeled: items people labeled (wrong: one of their fields was corrected); arrivals: recent
    items, on which automation is counted. Items that something other than these fields holds
    back are left out by the caller.
    """
    search = _Search(labeled, arrivals, target)
    if not search.peel():
        return None
    search.give_back()
    return search.levels
