"""The weekly table: what the database says happened each week, beside what only the simulator
knows (which auto-accepted outputs were really wrong).

- volume: items that arrived in the week (created_at);
- auto-accepted: of those, the ones routed without a person: auto-accepted, or auto-accepted
  and later overridden by a lead (an override is not a review of the routing);
- escaped errors measured: QA samples that arrived in the week and a person decided, wrong when
  rejected or a field corrected (review.quality), with a 95 % Wilson interval;
- true escaped errors: auto-accepted items of the week whose output was wrong in truth;
- active hours: the active review time of every review decided in the week; FTE = active hours
  / settings.FTE_PRODUCTIVE_HOURS_PER_WEEK.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Sum

from review.models import Item, Queue, Review
from review.quality import EscapedErrors, escaped_errors


@dataclass(frozen=True)
class WeekRow:
    week: int  # from 1
    start: dt.date
    volume: int
    auto_accepted: int
    qa_samples: int  # QA samples a person decided
    qa_wrong: int
    true_wrong: int  # auto-accepted items that were wrong
    active_seconds: float

    @property
    def automation_rate(self) -> float | None:
        return self.auto_accepted / self.volume if self.volume else None

    @property
    def measured(self) -> EscapedErrors:
        return EscapedErrors(samples=self.qa_samples, wrong=self.qa_wrong)

    @property
    def true_escaped_rate(self) -> float | None:
        return self.true_wrong / self.auto_accepted if self.auto_accepted else None

    @property
    def active_hours(self) -> float:
        return self.active_seconds / 3600

    @property
    def fte(self) -> float:
        return self.active_hours / settings.FTE_PRODUCTIVE_HOURS_PER_WEEK

    def as_dict(self) -> dict:
        interval = self.measured.interval
        return {
            **asdict(self),
            "start": self.start.isoformat(),
            "automation_rate": self.automation_rate,
            "escaped_rate_measured": self.measured.rate,
            "escaped_interval_95": list(interval) if interval else None,
            "escaped_rate_true": self.true_escaped_rate,
            "active_hours": round(self.active_hours, 2),
            "fte": round(self.fte, 3),
        }


def routed_automatically() -> QuerySet[Item]:
    """Items no person was asked to review at routing: still auto-accepted, or overridden by a
    lead afterwards without any other review."""
    reviewed = Review.objects.filter(item=OuterRef("pk"), is_override=False)
    return Item.objects.filter(
        is_qa_sample=False,
        status__in=[Item.Status.AUTO_ACCEPTED, Item.Status.APPROVED, Item.Status.REJECTED],
    ).exclude(Exists(reviewed))


def week_rows(
    *,
    queues: list[Queue],
    start: dt.datetime,
    weeks: int,
    is_wrong: Callable[[int, str], bool],
) -> list[WeekRow]:
    """One row per week from start; is_wrong(agent_id, external_id) is the simulator's truth."""
    rows = []
    for week in range(weeks):
        since, until = start + dt.timedelta(weeks=week), start + dt.timedelta(weeks=week + 1)
        arrived = Item.objects.filter(queue__in=queues, created_at__gte=since, created_at__lt=until)
        auto = list(
            routed_automatically()
            .filter(pk__in=arrived.values("pk"))
            .values_list("agent_id", "external_id")
        )
        measured = [escaped_errors(queue=queue, since=since, until=until) for queue in queues]
        active = Review.objects.filter(
            item__queue__in=queues, decided_at__gte=since, decided_at__lt=until
        ).aggregate(total=Sum("active_seconds"))["total"]
        rows.append(
            WeekRow(
                week=week + 1,
                start=since.date(),
                volume=arrived.count(),
                auto_accepted=len(auto),
                qa_samples=sum(m.samples for m in measured),
                qa_wrong=sum(m.wrong for m in measured),
                true_wrong=sum(is_wrong(agent_id, ext) for agent_id, ext in auto),
                active_seconds=round(active or 0.0, 1),
            )
        )
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


HEADER = (
    f"{'week':>4} {'start':>10} {'volume':>7} {'auto':>6} {'auto %':>7} "
    f"{'QA':>4} {'escaped (QA, 95% CI)':>24} {'true esc.':>9} {'hours':>7} {'FTE':>6}"
)


def table(rows: list[WeekRow]) -> str:
    lines = [HEADER]
    for row in rows:
        measured = row.measured
        if measured.samples:
            low, high = measured.interval
            qa = f"{measured.rate:.1%} ({low:.1%}-{high:.1%})"
        else:
            qa = "no samples"
        lines.append(
            f"{row.week:>4} {row.start:%Y-%m-%d} {row.volume:>7} {row.auto_accepted:>6} "
            f"{_percent(row.automation_rate):>7} {measured.samples:>4} {qa:>24} "
            f"{_percent(row.true_escaped_rate):>9} {row.active_hours:>7.1f} {row.fte:>6.2f}"
        )
    return "\n".join(lines)
