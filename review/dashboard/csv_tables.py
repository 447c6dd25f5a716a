"""Every dashboard table as CSV: the numbers the page shows, unrounded, one row per line."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpResponse

from review.dashboard.metrics import Period, ReviewerTotals, Totals
from review.dashboard.pages import Dashboard
from review.dashboard.staffing import Staffing

TOTALS_COLUMNS = [
    "arrivals",
    "auto_accepted",
    "automation_rate",
    "first_reviews",
    "reviews",
    "approved",
    "rejected",
    "escalated",
    "qa_decided",
    "qa_wrong",
    "escaped_error_rate",
    "escaped_error_upper_95",
    "finished",
    "finished_in_sla",
    "sla_compliance",
    "active_hours",
    "items_per_active_hour",
    "median_active_seconds",
    "p90_active_seconds",
]


def _totals(t: Totals) -> list[object]:
    escaped = t.escaped
    interval = escaped.interval if escaped.enough else None
    return [
        t.arrivals,
        t.auto_accepted,
        _num(t.automation_rate),
        t.first_reviews,
        t.reviews,
        t.approved,
        t.rejected,
        t.escalated,
        t.qa_decided,
        t.qa_wrong,
        _num(escaped.rate if escaped.enough else None),
        _num(interval[1] if interval else None),
        t.finished,
        t.finished_in_sla,
        _num(t.sla_compliance),
        _num(t.active_hours),
        _num(t.items_per_active_hour),
        _num(t.median_seconds),
        _num(t.p90_seconds),
    ]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _periods(periods: Iterable[Period]) -> Iterable[list[object]]:
    yield ["start", "end", *TOTALS_COLUMNS, "fte", "backlog_at_end", "oldest_waiting_since"]
    for p in periods:
        oldest = p.oldest_waiting_since.isoformat() if p.oldest_waiting_since else ""
        yield [p.start, p.end, *_totals(p.totals), _num(p.fte), p.backlog, oldest]


def _tables(board: Dashboard) -> dict[str, Iterable[list[object]]]:
    return {
        "weekly": _periods(board.weeks),
        "daily": _periods(board.days),
        "queues": [
            ["queue", *TOTALS_COLUMNS],
            *([q.slug, *_totals(t)] for q, t in board.by_queue),
        ],
        "versions": [
            ["agent_version", *TOTALS_COLUMNS],
            *([name, *_totals(t)] for name, t in board.by_version),
        ],
        "fields": [
            ["queue_id", "field", "labeled", "corrected", "undeterminable", "correction_rate"],
            *(
                [
                    f.queue_id,
                    f.field_name,
                    f.labeled,
                    f.corrected,
                    f.undeterminable,
                    _num(f.correction_rate),
                ]  # fmt: skip
                for f in board.fields
            ),
        ],
        "reviewers": [
            ["reviewer", *REVIEWER_COLUMNS],
            *([u.get_username(), *_reviewer_cells(t)] for u, t in board.reviewers),
        ],
    }


def response(board: Dashboard, table: str) -> HttpResponse:
    tables = _tables(board)
    if table not in tables:
        raise Http404(f"no table {table!r}")
    name = f"{table}-{board.scope.start}-{board.scope.end}.csv"
    return _csv(tables[table], name)


def staffing_response(plan: Staffing) -> HttpResponse:
    rows = [
        ["weekday", "shift", "expected_items", "reviewers_needed", "reviewers_seen_at_work"],
        *(
            [s.weekday_name, s.shift, _num(s.arrivals), s.needed, _num(s.active)]
            for s in plan.shifts
        ),
    ]
    return _csv(rows, f"staffing-{plan.queue.slug}.csv")


def reviewer_weeks_response(
    person: Any, weeks: list[tuple[dt.date, ReviewerTotals]]
) -> HttpResponse:
    rows = [
        ["week_of", *REVIEWER_COLUMNS],
        *([monday, *_reviewer_cells(t)] for monday, t in weeks),
    ]
    return _csv(rows, f"reviewer-{person.get_username()}.csv")


REVIEWER_COLUMNS = [
    "reviews",
    "rejected",
    "escalated",
    "active_hours",
    "items_per_active_hour",
    "median_active_seconds",
    "p90_active_seconds",
    "fields_corrected_share",
    "double_review_field_agreement",
    "double_review_decision_agreement",
]


def _reviewer_cells(t: ReviewerTotals) -> list[object]:
    return [
        t.reviews,
        t.rejected,
        t.escalated,
        _num(t.active_hours),
        _num(t.items_per_active_hour),
        _num(t.median_seconds),
        _num(t.p90_seconds),
        _num(t.correction_rate),
        _num(t.field_agreement),
        _num(t.decision_agreement),
    ]


def _csv(rows: Iterable[list[object]], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
