"""The lead dashboard's numbers, from daily rollups. Each definition is in README "Metrics".

Everything here is arithmetic over DayRows: no queries, so it is tested against hand-computed
rows and stays fast however many items lie behind them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings

from review.dashboard.rollups import DayRows, add_histograms, percentile
from review.models import DailyFieldStats, DailyReviewerStats, DailyStats
from review.quality import EscapedErrors


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def fte(active_seconds: float, days: int = 7) -> float:
    """Active review hours over `days`, in full-time reviewers (a week is 7 days)."""
    hours_of_one = settings.FTE_PRODUCTIVE_HOURS_PER_WEEK * days / 7
    return active_seconds / 3600 / hours_of_one


@dataclass
class Totals:
    """The sums of DailyStats rows, and what follows from them."""

    arrivals: int = 0
    auto_accepted: int = 0
    qa_sampled: int = 0
    first_reviews: int = 0
    reviews: int = 0
    approved: int = 0
    rejected: int = 0
    escalated: int = 0
    overrides: int = 0
    qa_decided: int = 0
    qa_wrong: int = 0
    finished: int = 0
    finished_in_sla: int = 0
    timed_reviews: int = 0
    active_seconds: float = 0.0
    active_histogram: list[int] = field(default_factory=list)

    def add(self, row: DailyStats) -> None:
        # Spelled out, not a loop over names: dashboards add up thousands of rows per request.
        self.arrivals += row.arrivals
        self.auto_accepted += row.auto_accepted
        self.qa_sampled += row.qa_sampled
        self.first_reviews += row.first_reviews
        self.reviews += row.reviews
        self.approved += row.approved
        self.rejected += row.rejected
        self.escalated += row.escalated
        self.overrides += row.overrides
        self.qa_decided += row.qa_decided
        self.qa_wrong += row.qa_wrong
        self.finished += row.finished
        self.finished_in_sla += row.finished_in_sla
        self.timed_reviews += row.timed_reviews
        self.active_seconds += row.active_seconds
        self.active_histogram = add_histograms(self.active_histogram, row.active_histogram)

    @property
    def automation_rate(self) -> float | None:
        return ratio(self.auto_accepted, self.arrivals)

    @property
    def escaped(self) -> EscapedErrors:
        return EscapedErrors(samples=self.qa_decided, wrong=self.qa_wrong)

    @property
    def sla_compliance(self) -> float | None:
        return ratio(self.finished_in_sla, self.finished)

    @property
    def active_hours(self) -> float:
        return self.active_seconds / 3600

    @property
    def items_per_active_hour(self) -> float | None:
        return ratio(self.timed_reviews, self.active_hours)

    @property
    def median_seconds(self) -> float | None:
        return percentile(self.active_histogram, 0.5)

    @property
    def p90_seconds(self) -> float | None:
        return percentile(self.active_histogram, 0.9)


def totals(rows: Iterable[DailyStats]) -> Totals:
    total = Totals()
    for row in rows:
        total.add(row)
    return total


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date  # inclusive
    totals: Totals
    backlog: int  # at the end of the period's last day
    oldest_waiting_since: dt.datetime | None
    complete: bool = True  # False for the week still running

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def fte(self) -> float:
        return fte(self.totals.active_seconds, days=self.days)


def daily(days: list[DayRows], keep: Callable[[DailyStats], bool]) -> list[Period]:
    return [_period(day.day.isoformat(), [day], keep) for day in days]


def weekly(days: list[DayRows], keep: Callable[[DailyStats], bool], today: dt.date) -> list[Period]:
    """ISO weeks (Monday to Sunday) touched by `days`; a week still running says so."""
    weeks: dict[dt.date, list[DayRows]] = defaultdict(list)
    for day in days:
        weeks[day.day - dt.timedelta(days=day.day.weekday())].append(day)
    periods = []
    for monday, members in sorted(weeks.items()):
        period = _period(f"w/c {monday:%d %b}", members, keep)
        complete = members[-1].day < today and len(members) == 7
        periods.append(
            Period(
                label=period.label + ("" if complete else " (part)"),
                start=members[0].day,
                end=members[-1].day,
                totals=period.totals,
                backlog=period.backlog,
                oldest_waiting_since=period.oldest_waiting_since,
                complete=complete,
            )
        )
    return periods


def _period(label: str, days: list[DayRows], keep: Callable[[DailyStats], bool]) -> Period:
    total = totals(r for day in days for r in day.stats if keep(r))
    last = [r for r in days[-1].stats if keep(r)]
    oldest = [r.oldest_waiting_since for r in last if r.oldest_waiting_since]
    return Period(
        label=label,
        start=days[0].day,
        end=days[-1].day,
        totals=total,
        backlog=sum(r.backlog for r in last),
        oldest_waiting_since=min(oldest) if oldest else None,
    )


@dataclass(frozen=True)
class FieldQuality:
    queue_id: int
    field_name: str
    labeled: int
    corrected: int
    undeterminable: int

    @property
    def correction_rate(self) -> float | None:
        return ratio(self.corrected, self.labeled)


def by_field(
    rows: Iterable[DailyFieldStats], keep: Callable[[DailyFieldStats], bool]
) -> list[FieldQuality]:
    sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if keep(r):
            s = sums[(r.queue_id, r.field_name)]
            s[0], s[1], s[2] = s[0] + r.labeled, s[1] + r.corrected, s[2] + r.undeterminable
    found = [FieldQuality(q, name, *s) for (q, name), s in sums.items()]
    return sorted(found, key=lambda f: (-(f.correction_rate or 0), f.field_name))


def by_key(rows: Iterable[DailyStats], key: Callable[[DailyStats], object]) -> dict:
    groups: dict[object, Totals] = defaultdict(Totals)
    for r in rows:
        groups[key(r)].add(r)
    return dict(groups)


@dataclass
class ReviewerTotals:
    reviews: int = 0
    rejected: int = 0
    escalated: int = 0
    timed_reviews: int = 0
    active_seconds: float = 0.0
    active_histogram: list[int] = field(default_factory=list)
    fields_labeled: int = 0
    fields_corrected: int = 0
    fields_compared: int = 0
    fields_agreed: int = 0
    decisions_compared: int = 0
    decisions_agreed: int = 0

    def add(self, row: DailyReviewerStats) -> None:
        self.reviews += row.reviews
        self.rejected += row.rejected
        self.escalated += row.escalated
        self.timed_reviews += row.timed_reviews
        self.active_seconds += row.active_seconds
        self.fields_labeled += row.fields_labeled
        self.fields_corrected += row.fields_corrected
        self.fields_compared += row.fields_compared
        self.fields_agreed += row.fields_agreed
        self.decisions_compared += row.decisions_compared
        self.decisions_agreed += row.decisions_agreed
        self.active_histogram = add_histograms(self.active_histogram, row.active_histogram)

    @property
    def active_hours(self) -> float:
        return self.active_seconds / 3600

    @property
    def items_per_active_hour(self) -> float | None:
        return ratio(self.timed_reviews, self.active_hours)

    @property
    def median_seconds(self) -> float | None:
        return percentile(self.active_histogram, 0.5)

    @property
    def p90_seconds(self) -> float | None:
        return percentile(self.active_histogram, 0.9)

    @property
    def field_agreement(self) -> float | None:
        return ratio(self.fields_agreed, self.fields_compared)

    @property
    def decision_agreement(self) -> float | None:
        return ratio(self.decisions_agreed, self.decisions_compared)

    @property
    def correction_rate(self) -> float | None:
        return ratio(self.fields_corrected, self.fields_labeled)


def reviewer_totals(rows: Iterable[DailyReviewerStats]) -> ReviewerTotals:
    total = ReviewerTotals()
    for r in rows:
        total.add(r)
    return total


def weekly_reviewer(rows: Iterable[DailyReviewerStats]) -> list[tuple[dt.date, ReviewerTotals]]:
    """One reviewer's work per ISO week (Monday first), oldest first."""
    weeks: dict[dt.date, ReviewerTotals] = defaultdict(ReviewerTotals)
    for r in rows:
        weeks[r.day - dt.timedelta(days=r.day.weekday())].add(r)
    return sorted(weeks.items())
