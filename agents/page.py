"""What an agent's page shows: its versions' volume and corrections by field week by week (from
the dashboard's daily rollups, so the numbers match the dashboard's), and its calibration (from
agents.calibration, read-only), shaped for the template and the charts."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Min

from agents.calibration import fitting
from agents.calibration.selectors import FieldReport, calibration_report
from agents.models import Agent
from review.dashboard import metrics
from review.dashboard.metrics import Period, Totals
from review.dashboard.rollups import days_read, local_today
from review.models import DailyStats

WEEKS = 8
# More lines than this make the correction chart unreadable; the table below it has every field.
CHART_FIELDS = 8
NO_VERSION = "(no version)"


def window(today: dt.date) -> list[dt.date]:
    """The last WEEKS ISO weeks, Monday first, up to today (the running week is partial)."""
    start = today - dt.timedelta(days=today.weekday(), weeks=WEEKS - 1)
    return [start + dt.timedelta(days=n) for n in range((today - start).days + 1)]


def agent_queue_ids(agent: Agent, since: dt.date) -> set[int]:
    """Its queues now, and any queue its items were counted in since `since` (an agent can be
    taken off a queue whose history still holds its items)."""
    current = set(agent.queues.values_list("pk", flat=True))
    counted = DailyStats.objects.filter(agent=agent, day__gte=since).values_list("queue_id")
    return current | {pk for (pk,) in counted.distinct()}


@dataclass(frozen=True)
class Labels:
    labeled: int = 0  # every label of a first review: correct, corrected and not determinable
    corrected: int = 0
    undeterminable: int = 0

    @property
    def correction_rate(self) -> float | None:
        return metrics.ratio(self.corrected, self.labeled)

    def __add__(self, other: Labels) -> Labels:
        return Labels(
            self.labeled + other.labeled,
            self.corrected + other.corrected,
            self.undeterminable + other.undeterminable,
        )


@dataclass(frozen=True)
class VersionRow:
    version: str
    totals: Totals  # over the window
    labels: Labels  # over the window
    first_seen: dt.date | None  # first and last day with arrivals, all time
    last_seen: dt.date | None

    @property
    def label(self) -> str:
        return self.version or NO_VERSION


@dataclass(frozen=True)
class FieldWeeks:
    field_name: str
    weeks: list[Labels]  # one per week of Activity.weeks
    total: Labels


@dataclass(frozen=True)
class Activity:
    weeks: list[Period]
    versions: list[VersionRow]
    fields: list[FieldWeeks]  # most labels first


def activity(agent: Agent, *, now: dt.datetime) -> Activity:
    """The agent's last WEEKS weeks from the rollups (past days stored, today live)."""
    today = local_today(now)
    days = window(today)
    loaded = days_read(days, queue_ids=agent_queue_ids(agent, days[0]), now=now, detail=True)
    rows = [loaded[d] for d in days]
    stats = [r for d in rows for r in d.stats if r.agent_id == agent.pk]
    labels = [r for d in rows for r in d.fields if r.agent_id == agent.pk]
    weeks = metrics.weekly(rows, lambda r: r.agent_id == agent.pk, today)
    return Activity(
        weeks=weeks,
        versions=_versions(agent, stats, labels),
        fields=_fields(labels, [w.start for w in weeks]),
    )


def _versions(agent: Agent, stats: list[Any], labels: list[Any]) -> list[VersionRow]:
    totals = metrics.by_key(stats, lambda r: r.agent_version)
    by_version: dict[str, Labels] = defaultdict(Labels)
    for r in labels:
        by_version[r.agent_version] += Labels(r.labeled, r.corrected, r.undeterminable)
    seen = _seen(agent, stats)
    versions = set(totals) | set(by_version) | set(seen)
    found = [
        VersionRow(
            version=v,
            totals=totals.get(v, Totals()),
            labels=by_version.get(v, Labels()),
            first_seen=seen.get(v, (None, None))[0],
            last_seen=seen.get(v, (None, None))[1],
        )
        for v in versions
    ]
    # The version in production now first: latest arrival, then the highest version.
    return sorted(
        found, key=lambda v: (v.last_seen or dt.date.min, _natural(v.version)), reverse=True
    )


def _seen(agent: Agent, stats: Iterable[Any]) -> dict[str, tuple[dt.date, dt.date]]:
    """First and last day with arrivals per version: the stored rollups of all time, and the
    window's rows (today's are live, never stored)."""
    spans: dict[str, tuple[dt.date, dt.date]] = {}

    def widen(version: str, first: dt.date, last: dt.date) -> None:
        old = spans.get(version)
        spans[version] = (first, last) if old is None else (min(old[0], first), max(old[1], last))

    stored = (
        DailyStats.objects.filter(agent=agent, arrivals__gt=0)
        .values("agent_version")
        .annotate(first=Min("day"), last=Max("day"))
        .order_by()
    )
    for row in stored:
        widen(row["agent_version"], row["first"], row["last"])
    for r in stats:
        if r.arrivals:
            widen(r.agent_version, r.day, r.day)
    return spans


def _fields(labels: list[Any], mondays: list[dt.date]) -> list[FieldWeeks]:
    week_of = {monday: index for index, monday in enumerate(mondays)}
    counts: dict[str, list[Labels]] = defaultdict(lambda: [Labels() for _ in mondays])
    for r in labels:
        index = week_of[r.day - dt.timedelta(days=r.day.weekday())]
        counts[r.field_name][index] += Labels(r.labeled, r.corrected, r.undeterminable)
    found = [FieldWeeks(name, weeks, sum(weeks, Labels())) for name, weeks in counts.items()]
    return sorted(found, key=lambda f: (-f.total.labeled, f.field_name))


# --- Calibration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BinRow:
    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None
    calibrated: float | None  # the latest calibrator applied to mean_confidence


@dataclass(frozen=True)
class FieldCalibration:
    chart_id: str
    report: FieldReport
    bins: list[BinRow] = field(default_factory=list)

    @property
    def filled_bins(self) -> list[BinRow]:
        return [b for b in self.bins if b.count]

    @property
    def n_wrong(self) -> int:
        return self.report.n_labels - self.report.n_correct


@dataclass(frozen=True)
class VersionCalibration:
    version: str
    fields: list[FieldCalibration]

    @property
    def label(self) -> str:
        return self.version or NO_VERSION


def calibration(agent: Agent) -> list[VersionCalibration]:
    """Per agent version (the highest first: v10 before v9) and field: the reliability of the
    raw confidence, and where the latest calibrator moves each bin."""
    grouped: dict[str, list[FieldCalibration]] = defaultdict(list)
    for index, report in enumerate(calibration_report(agent.pk)):
        grouped[report.agent_version].append(
            FieldCalibration(chart_id=f"calibration-{index}", report=report, bins=_bins(report))
        )
    versions = sorted(grouped, key=_natural, reverse=True)
    return [VersionCalibration(v, grouped[v]) for v in versions]


def _natural(version: str) -> list[tuple[int, int | str]]:
    """Sort key reading digit runs as numbers, so "v10" sorts after "v9"."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", version)]


def _bins(report: FieldReport) -> list[BinRow]:
    """Each bin's mean confidence run through the calibrator: one vectorised call per field,
    cheap next to the report itself. It approximates rebinning every calibrated label, and is
    in-sample; the table's ECE after calibration is the cross-validated figure."""
    bins = report.reliability
    calibrated: list[float | None] = [None] * len(bins)
    c = report.calibrator
    filled = [i for i, b in enumerate(bins) if b.count]
    if c is not None and filled:
        means = [bins[i].mean_confidence for i in filled]
        for i, value in zip(filled, fitting.apply(c.method, c.parameters, means), strict=True):
            calibrated[i] = float(value)
    return [
        BinRow(b.low, b.high, b.count, b.mean_confidence, b.accuracy, calibrated[i])
        for i, b in enumerate(bins)
    ]


# --- Chart data --------------------------------------------------------------------------------


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def chart_data(board: Activity) -> dict[str, Any]:
    """What agent.js draws for the correction chart: the numbers of the table below it."""
    return {
        "labels": [w.label for w in board.weeks],
        "series": [
            {
                "label": f.field_name,
                "rates": [_pct(week.correction_rate) for week in f.weeks],
                "labeled": [week.labeled for week in f.weeks],
            }
            for f in board.fields[:CHART_FIELDS]
        ],
    }


def calibration_chart_data(calibrations: list[VersionCalibration]) -> list[dict[str, Any]]:
    """One reliability diagram per version and field: the bins of the table below each."""
    return [
        {
            "id": panel.chart_id,
            "title": f"{version.label} · {panel.report.field_name}",
            "raw": [
                {"x": _pct(b.mean_confidence), "y": _pct(b.accuracy), "n": b.count}
                for b in panel.filled_bins
            ],
            "calibrated": [
                {"x": _pct(b.calibrated), "y": _pct(b.accuracy), "n": b.count}
                for b in panel.filled_bins
            ]
            if panel.report.calibrator
            else None,
        }
        for version in calibrations
        for panel in version.fields
    ]
