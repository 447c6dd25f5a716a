"""Erlang C against hand-computed values, and a staffing plan from measured history."""

from __future__ import annotations

import datetime as dt

import pytest

from review.dashboard.staffing import (
    erlang_c,
    queue_staffing,
    reviewers_needed,
    service_level,
    shift_hours,
)
from review.models import Item, Review
from tests.dashboard_helpers import at, decide_at
from tests.factories import ingest


def test_erlang_c_matches_the_textbook_value():
    # 2 Erlangs on 3 servers: Erlang B = (8/6) / (1 + 2 + 2 + 8/6) = 0.2105, C = 0.4444.
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, abs=1e-4)
    assert erlang_c(2, 2.0) == 1.0  # no spare capacity: everyone waits
    assert erlang_c(1, 0.0) == 0.0


def test_service_level_and_the_staff_it_takes():
    # 120 items/h at 60 s each = 2 Erlangs. With 3 reviewers, P(wait <= 20 s)
    # = 1 - 0.4444 * exp(-(3 - 2) * 20 / 60) = 0.6816; 4 reviewers give 0.9107.
    assert service_level(3, 2.0, 60, 20) == pytest.approx(0.6816, abs=1e-4)
    assert service_level(4, 2.0, 60, 20) == pytest.approx(0.9107, abs=1e-3)
    assert reviewers_needed(120, 60, 20, 0.8) == 4
    # A long SLA still needs more reviewers than the load, or the backlog grows without end.
    assert reviewers_needed(120, 60, 4 * 3600, 0.9) == 3
    assert reviewers_needed(0, 60, 20, 0.9) == 0


def test_a_night_shift_runs_past_midnight():
    assert shift_hours(22, 6) == [22, 23, 0, 1, 2, 3, 4, 5]
    assert shift_hours(6, 14) == list(range(6, 14))


@pytest.mark.django_db
def test_the_plan_uses_measured_arrivals_and_handle_time(settings, agent, queue, reviewer):
    settings.REPORT_TIME_ZONE = "UTC"
    settings.STAFFING_SHIFTS = {"Day": [8, 16], "Rest": [16, 8]}
    monday = dt.date(2026, 3, 9)
    # Two weeks of history: each Monday at 09:xx, 6 items needing a person, 60 s each.
    for week in range(2):
        for n in range(6):
            item = ingest(agent, external_id=f"w{week}-{n}")
            when = at(monday + dt.timedelta(weeks=week), 9, n)
            Item.objects.filter(pk=item.pk).update(created_at=when, due_at=when)
            decide_at(queue, reviewer, item, when=when + dt.timedelta(minutes=5), seconds=60)
    plan = queue_staffing(queue, until=at(monday + dt.timedelta(weeks=2), 0), weeks=2)
    assert plan.handle_seconds == pytest.approx(60)
    nine = next(h for h in plan.hours if (h.weekday, h.hour) == (0, 9))
    assert nine.arrivals_per_hour == 6  # 12 items over 2 weeks
    assert nine.needed == reviewers_needed(6, 60, queue.sla_minutes * 60, 0.9) == 1
    assert nine.active == 1  # one reviewer decided in that hour each week
    day_shift = next(s for s in plan.shifts if (s.weekday, s.shift) == (0, "Day"))
    assert (day_shift.needed, day_shift.arrivals) == (1, 6)
    # Seen at work in its busiest hour, not averaged over 8 mostly idle hours.
    assert day_shift.active == 1
    tuesday = next(s for s in plan.shifts if (s.weekday, s.shift) == (1, "Day"))
    assert (tuesday.needed, tuesday.active) == (0, 0)
    assert Review.objects.count() == 12


@pytest.mark.django_db
def test_the_handle_time_is_of_timed_reviews_and_a_lead_at_work_counts(
    settings, agent, queue, reviewer, lead
):
    settings.REPORT_TIME_ZONE = "UTC"
    monday = dt.date(2026, 3, 9)
    timed, untimed, overridden = (ingest(agent, external_id=n) for n in "abc")
    for n, item in enumerate((timed, untimed, overridden)):
        Item.objects.filter(pk=item.pk).update(created_at=at(monday, 9, n))
    decide_at(queue, reviewer, timed, when=at(monday, 9, 5), seconds=90)
    decide_at(queue, reviewer, untimed, when=at(monday, 9, 6), seconds=0)  # an API client
    override = decide_at(queue, lead, overridden, when=at(monday, 9, 7), seconds=600)
    Review.objects.filter(pk=override.pk).update(is_override=True)
    plan = queue_staffing(queue, until=at(monday + dt.timedelta(weeks=1), 0), weeks=1)
    assert plan.handle_seconds == pytest.approx(90)
    nine = next(h for h in plan.hours if (h.weekday, h.hour) == (0, 9))
    assert (nine.arrivals_per_hour, nine.active) == (3, 2)
