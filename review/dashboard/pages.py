"""What the dashboard pages show: filters read, rollups read once, numbers shaped for templates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from agents.models import Agent
from review.dashboard import metrics, rollups
from review.dashboard.metrics import Period, Totals
from review.dashboard.rollups import DayRows, day_bounds, days_read, local_today
from review.models import FieldLabel, Item, Queue, Review, Verdict

DEFAULT_DAYS = 56
MAX_DAYS = 366
# The days a report may cover: no item is older than 1970, and a year past 9998 leaves no room
# for the day arithmetic around it (0001-01-01 minus the default range was a 500).
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)


def _report_day() -> forms.DateField:
    return forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[
            MinValueValidator(FIRST_DAY, f"Choose a day from {FIRST_DAY:%Y-%m-%d} on."),
            MaxValueValidator(LAST_DAY, f"Choose a day up to {LAST_DAY:%Y-%m-%d}."),
        ],
    )


class DashboardFilters(forms.Form):
    start = _report_day()
    end = _report_day()
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.none(), required=False, to_field_name="slug", empty_label="All"
    )
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False, empty_label="All")

    def __init__(self, data: Any, *, queues: QuerySet[Queue], today: dt.date) -> None:
        super().__init__(data)
        self.today = today
        self.fields["queue"].queryset = queues
        self.fields["agent"].queryset = Agent.objects.filter(queues__in=queues).distinct()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("start", "The start must be on or before the end.")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", f"Choose at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data


@dataclass(frozen=True)
class Scope:
    """The queues and agent a page reports on, and the days."""

    queues: list[Queue]
    agent: Agent | None
    start: dt.date
    end: dt.date

    @cached_property
    def queue_ids(self) -> set[int]:
        return {q.pk for q in self.queues}

    def keep(self, row: Any) -> bool:
        return row.queue_id in self.queue_ids and (
            self.agent is None or row.agent_id == self.agent.pk
        )

    def keep_queue(self, row: Any) -> bool:
        """For rows that belong to no agent (a reviewer's work)."""
        return row.queue_id in self.queue_ids

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def query(self, *, dates: bool = True, **extra: Any) -> str:
        params = {"start": self.start.isoformat(), "end": self.end.isoformat()} if dates else {}
        if len(self.queues) == 1:
            params["queue"] = self.queues[0].slug
        if self.agent:
            params["agent"] = self.agent.pk
        return urlencode({**params, **extra})


def scope_from(form: DashboardFilters, led: QuerySet[Queue]) -> Scope:
    data = form.cleaned_data
    queues = [data["queue"]] if data.get("queue") else list(led)
    return Scope(queues=queues, agent=data.get("agent"), start=data["start"], end=data["end"])


@dataclass(frozen=True)
class Tiles:
    arrivals_today: int
    backlog: int
    oldest_waiting_since: dt.datetime | None
    at_risk: int  # waiting items due within the hour or past due
    fte_last_7: float
    fte_8_weeks_before: float
    range_totals: Totals


def tile_days(scope: Scope, today: dt.date) -> set[dt.date]:
    """The days the tiles need besides the range: the last 7, and the same 7 eight weeks back."""
    week = {today - dt.timedelta(days=i) for i in range(7)}
    return week | {d - dt.timedelta(weeks=8) for d in week} | set(scope.days)


def history(scope: Scope, *, now: dt.datetime, detail: bool) -> dict[dt.date, DayRows]:
    """Everything a dashboard request reads, in one pass over the rollups."""
    return days_read(
        tile_days(scope, local_today(now)), queue_ids=scope.queue_ids, now=now, detail=detail
    )


def tiles(scope: Scope, rows: dict[dt.date, DayRows], *, now: dt.datetime) -> Tiles:
    today = local_today(now)
    week = [today - dt.timedelta(days=i) for i in range(6, -1, -1)]
    recent = [rows[d] for d in week]
    earlier = [rows[d - dt.timedelta(weeks=8)] for d in week]
    today_rows = [r for r in rows[today].stats if scope.keep(r)]
    oldest = [r.oldest_waiting_since for r in today_rows if r.oldest_waiting_since]
    return Tiles(
        arrivals_today=sum(r.arrivals for r in today_rows),
        backlog=sum(r.backlog for r in today_rows),
        oldest_waiting_since=min(oldest) if oldest else None,
        at_risk=_at_risk(scope, now),
        fte_last_7=metrics.fte(_active(recent, scope)),
        fte_8_weeks_before=metrics.fte(_active(earlier, scope)),
        range_totals=metrics.totals(r for d in scope.days for r in rows[d].stats if scope.keep(r)),
    )


def _active(days: list[DayRows], scope: Scope) -> float:
    return sum(r.active_seconds for d in days for r in d.stats if scope.keep(r))


def _at_risk(scope: Scope, now: dt.datetime) -> int:
    waiting = Item.objects.filter(
        queue__in=scope.queue_ids,
        status__in=[Item.Status.PENDING, Item.Status.ESCALATED],
        due_at__lt=now + dt.timedelta(hours=1),
    )
    if scope.agent:
        waiting = waiting.filter(agent=scope.agent)
    return waiting.count()


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    days: list[Period]
    weeks: list[Period]
    by_queue: list[tuple[Queue, Totals]]
    by_version: list[tuple[str, Totals]]
    fields: list[metrics.FieldQuality]
    reviewers: list[tuple[Any, metrics.ReviewerTotals]]
    totals: Totals


def dashboard(scope: Scope, loaded: dict[dt.date, DayRows], *, now: dt.datetime) -> Dashboard:
    rows = [loaded[d] for d in scope.days]
    stats = [r for d in rows for r in d.stats if scope.keep(r)]
    queues = {q.pk: q for q in scope.queues}
    agents = {a.pk: a for a in Agent.objects.filter(pk__in={r.agent_id for r in stats})}
    by_version = metrics.by_key(stats, lambda r: f"{agents[r.agent_id].name} {r.agent_version}")
    reviewers = _reviewers(rows, scope)
    return Dashboard(
        scope=scope,
        days=metrics.daily(rows, scope.keep),
        weeks=metrics.weekly(rows, scope.keep, local_today(now)),
        by_queue=sorted(
            ((queues[k], t) for k, t in metrics.by_key(stats, lambda r: r.queue_id).items()),
            key=lambda pair: pair[0].name,
        ),
        by_version=sorted(by_version.items()),
        fields=metrics.by_field((r for d in rows for r in d.fields), scope.keep),
        reviewers=reviewers,
        totals=metrics.totals(stats),
    )


def _reviewers(rows: list[DayRows], scope: Scope) -> list[tuple[Any, metrics.ReviewerTotals]]:
    grouped: dict[int, list] = {}
    for day in rows:
        for r in day.reviewers:
            if r.queue_id in scope.queue_ids:
                grouped.setdefault(r.reviewer_id, []).append(r)
    users = get_user_model().objects.in_bulk(list(grouped))
    found = [(users[pk], metrics.reviewer_totals(rs)) for pk, rs in grouped.items()]
    # Alphabetical, never by output: this is for coaching, not a league table.
    return sorted(found, key=lambda pair: pair[0].get_username())


def drill_urls(scope: Scope, metric: str, periods: list[Period]) -> list[str]:
    """The drill-down URL of each period (hundreds per page: the fixed part is built once)."""
    base = f"{reverse('review:dashboard-items')}?{scope.query(dates=False, metric=metric)}"
    return [f"{base}&{urlencode({'start': p.start, 'end': p.end})}" for p in periods]


def chart_data(board: Dashboard) -> dict[str, Any]:
    """Series for the charts, each point with the URL of the items behind it."""
    scope, weeks, days = board.scope, board.weeks, board.days

    def pct(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 2)

    def escaped(period: Period) -> tuple[float | None, float | None]:
        e = period.totals.escaped
        return (pct(e.rate), pct(e.interval[1])) if e.enough else (None, None)

    return {
        "weeks": {
            "labels": [w.label for w in weeks],
            "fte": [round(w.fte, 2) for w in weeks],
            "automation": [pct(w.totals.automation_rate) for w in weeks],
            "escaped": [escaped(w)[0] for w in weeks],
            "escapedUpper": [escaped(w)[1] for w in weeks],
            "medianSeconds": [_round(w.totals.median_seconds) for w in weeks],
            "p90Seconds": [_round(w.totals.p90_seconds) for w in weeks],
            "drill": drill_urls(scope, "reviewed", weeks),
            "drillEscaped": drill_urls(scope, "qa_wrong", weeks),
        },
        "days": {
            "labels": [d.label for d in days],
            "arrivals": [d.totals.arrivals for d in days],
            "auto": [d.totals.auto_accepted for d in days],
            "reviewed": [d.totals.first_reviews for d in days],
            "backlog": [d.backlog for d in days],
            "oldestHours": [_age_hours(d) for d in days],
            "sla": [pct(d.totals.sla_compliance) for d in days],
            "drill": {
                metric: drill_urls(scope, metric, days)
                for metric in ("arrivals", "auto_accepted", "reviewed", "backlog", "sla_missed")
            },
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _age_hours(period: Period) -> float | None:
    if period.oldest_waiting_since is None:
        return None
    _, end = day_bounds(period.end)
    moment = min(end, timezone.now())
    return round((moment - period.oldest_waiting_since).total_seconds() / 3600, 1)


DRILL_METRICS = {
    "arrivals": "arrived",
    "auto_accepted": "arrived and were auto-accepted",
    "reviewed": "had their first review",
    "qa_wrong": "were QA samples found wrong",
    "sla_missed": "were finished after their due time",
    "backlog": "were waiting for a person at the end",
}


def _id_list(ids: QuerySet) -> Any:
    """Ids for an IN filter: on PostgreSQL one array parameter (25,000 placeholders cost more
    than the query), elsewhere the plain list."""
    values = list(ids)
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [values])
    return values


def drill_items(scope: Scope, metric: str, start: dt.datetime, end: dt.datetime) -> QuerySet[Item]:
    """The items behind one point of a chart, by the same rules as rollups.py counts them."""
    items = Item.objects.filter(queue__in=scope.queue_ids)
    if scope.agent:
        items = items.filter(agent=scope.agent)
    arrived = Q(created_at__gte=start, created_at__lt=end)
    # Driven from the reviews decided in the range (an index on decided_at), their item ids
    # fetched first: as a subquery, PostgreSQL walks the queue's items in page order testing
    # each for a review (0.5 s at 1M items) instead of looking up the few reviewed ones.
    first_reviews = Review.objects.filter(
        decided_at__gte=start,
        decided_at__lt=end,
        is_override=False,
        second_of__isnull=True,
    ).exclude(rollups.follow_up())
    if metric == "arrivals":
        items = items.filter(arrived)
    elif metric == "auto_accepted":
        items = items.filter(arrived, status=Item.Status.AUTO_ACCEPTED)
    elif metric == "reviewed":
        items = items.filter(pk__in=_id_list(first_reviews.values_list("item_id", flat=True)))
    elif metric == "qa_wrong":
        not_right = FieldLabel.objects.filter(
            review=OuterRef("pk"), verdict__in=[Verdict.CORRECTED, Verdict.UNDETERMINABLE]
        )
        wrong = first_reviews.filter(Q(decision=Review.Decision.REJECT) | Exists(not_right))
        wrong_ids = _id_list(wrong.values_list("item_id", flat=True))
        items = items.filter(pk__in=wrong_ids, is_qa_sample=True)
    elif metric == "sla_missed":
        items = items.filter(
            decided_at__gte=start,
            decided_at__lt=end,
            status__in=[Item.Status.APPROVED, Item.Status.REJECTED],
            decided_at__gt=F("due_at"),
        ).exclude(rollups.overridden())
    elif metric == "backlog":
        items = items.filter(
            rollups.WAITING,
            rollups.routed_to_people(),
            Q(decided_at__isnull=True) | Q(decided_at__gte=end),
            created_at__lt=end,
        )
    else:
        raise ValueError(metric)
    return items.select_related("queue", "agent").order_by("created_at", "id")
