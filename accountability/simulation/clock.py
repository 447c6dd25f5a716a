"""Simulated time: when outputs arrive, and the clock every service reads.

Arrivals follow the working week: fewer at weekends, and within a day mostly in working hours
with a tail in the evening (agents run batches overnight too). SimClock moves timezone.now()
(and time.time()) with time-machine, so every timestamp a service writes without being told
the time (created_at, decided_at, leases, audit events) is simulated time.
"""

from __future__ import annotations

import datetime as dt
import random
from types import TracebackType

import time_machine

# Relative volume by weekday (Monday first): the mean over a week is 1.
WEEKDAY_SHAPE = (1.15, 1.2, 1.2, 1.15, 1.1, 0.6, 0.6)
# Relative arrivals per hour of the day (local time), mostly 08:00-18:00.
HOUR_SHAPE = (
    0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.8,  # 00-07
    3.0, 4.0, 4.2, 4.0, 3.0, 3.6, 4.0, 3.8,  # 08-15
    3.0, 1.8, 0.6, 0.3, 0.2, 0.15, 0.1, 0.05,  # 16-23
)  # fmt: skip


def day_volume(day: dt.date, mean_per_day: float, rng: random.Random) -> int:
    """How many outputs arrive on day: the weekday's share of the mean, with Poisson noise."""
    expected = mean_per_day * WEEKDAY_SHAPE[day.weekday()] / (sum(WEEKDAY_SHAPE) / 7)
    return poisson(expected, rng)


def poisson(mean: float, rng: random.Random) -> int:
    """A Poisson draw; normal approximation for large means (exact enough, and O(1))."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    # Knuth's method: multiply uniforms until the product drops below e^-mean.
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def arrival_times(
    day: dt.date, count: int, rng: random.Random, tz: dt.tzinfo = dt.UTC
) -> list[dt.datetime]:
    """count arrival times on day, sorted, shaped by HOUR_SHAPE."""
    hours = rng.choices(range(24), weights=HOUR_SHAPE, k=count)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return sorted(
        midnight + dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600)) for hour in hours
    )


class SimClock:
    """The simulated now: `with SimClock(start) as clock: clock.move_to(later)`.

    Time stands still between moves (tick=False), so a service called twice at one simulated
    moment sees one time, and a run does not depend on how fast the machine is.
    """

    def __init__(self, start: dt.datetime) -> None:
        self.now = start
        self._travel = time_machine.travel(start, tick=False)
        self._coordinates: time_machine.Coordinates | None = None

    def __enter__(self) -> SimClock:
        self._coordinates = self._travel.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._travel.stop()
        self._coordinates = None

    def move_to(self, moment: dt.datetime) -> None:
        """Go to moment; never backwards, so timestamps keep their order."""
        if moment > self.now:
            self.now = moment
            if self._coordinates is not None:
                self._coordinates.move_to(moment)
