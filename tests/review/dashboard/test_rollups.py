"""Daily rollups and the dashboard's measures, checked against hand-computed small datasets."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from review.dashboard import metrics
from review.dashboard.rollups import (
    day_bounds,
    day_compute,
    days_read,
    histogram,
    percentile,
)
from review.models import DailyStats, Item, Review, RollupDay
from review.services import FieldVerdictIn, item_decide
from tests.dashboard_helpers import FIELDS, at, decide_at
from tests.factories import ingest

UTC = dt.UTC
D = dt.date(2026, 3, 10)


def arrive(
    agent, name: str, when: dt.datetime, *, due: dt.datetime, confidence: float = 0.5
) -> Item:
    item = ingest(agent, external_id=name, confidence=confidence)
    Item.objects.filter(pk=item.pk).update(created_at=when, due_at=due)
    item.refresh_from_db()
    return item


@pytest.fixture
def utc_reports(settings):
    settings.REPORT_TIME_ZONE = "UTC"


@pytest.fixture
def story(db, utc_reports, agent, queue, reviewer):
    """Day D: A auto-accepted; B reviewed in time with one correction; C arrives late at night
    and is rejected after midnight, past its due time."""
    auto = arrive(agent, "a", at(D, 9), due=at(D, 13), confidence=0.99)
    assert auto.status == Item.Status.AUTO_ACCEPTED
    b = arrive(agent, "b", at(D, 10), due=at(D, 12))
    c = arrive(agent, "c", at(D, 23, 30), due=at(D + dt.timedelta(days=1), 0))
    decide_at(queue, reviewer, b, "approve", when=at(D, 11), seconds=40, corrected="claim_type")
    decide_at(queue, reviewer, c, "reject", when=at(D + dt.timedelta(days=1), 1), seconds=100)
    return {"auto": auto, "b": b, "c": c}


def test_a_day_counts_each_event_on_the_day_it_happened(story, agent, queue):
    [row] = day_compute(D).stats
    assert (row.queue_id, row.agent_id, row.agent_version) == (queue.pk, agent.pk, "v1.0")
    assert (row.arrivals, row.auto_accepted) == (3, 1)
    assert (row.first_reviews, row.approved, row.rejected) == (1, 1, 0)
    assert (row.finished, row.finished_in_sla) == (1, 1)
    assert row.active_seconds == 40 and row.timed_reviews == 1
    # C arrived at 23:30 and was still waiting at midnight.
    assert row.backlog == 1 and row.oldest_waiting_since == at(D, 23, 30)


def test_an_item_spanning_midnight_is_decided_on_the_next_day(story):
    [row] = day_compute(D + dt.timedelta(days=1)).stats
    assert (row.arrivals, row.first_reviews, row.rejected) == (0, 1, 1)
    assert (row.finished, row.finished_in_sla) == (1, 0)  # due at midnight, decided at 01:00
    assert row.backlog == 0 and row.oldest_waiting_since is None


def test_field_labels_count_corrections_per_field(story):
    fields = {f.field_name: f for f in day_compute(D).fields}
    assert set(fields) == set(FIELDS)
    assert (fields["claim_type"].labeled, fields["claim_type"].corrected) == (1, 1)
    assert fields["amount"].corrected == 0


def test_reviewer_rows_carry_active_time(story, reviewer):
    [row] = day_compute(D).reviewers
    assert (row.reviewer_id, row.reviews, row.active_seconds) == (reviewer.pk, 1, 40)
    assert (row.fields_labeled, row.fields_corrected) == (4, 1)


def test_a_blind_second_review_counts_for_its_reviewer_not_in_the_field_rows(
    db, utc_reports, agent, queue, reviewer, other_reviewer
):
    queue.double_review_rate = 1.0
    queue.save()
    item = arrive(agent, "twice", at(D, 9), due=at(D, 20))
    decide_at(queue, reviewer, item, when=at(D, 10), seconds=30, corrected="policy_number")
    decide_at(queue, other_reviewer, item, when=at(D, 11), seconds=30, corrected="claim_type")
    day = day_compute(D)
    fields = {f.field_name: f for f in day.fields}
    assert {name: (f.labeled, f.corrected) for name, f in fields.items()} == {
        "policy_number": (1, 1),
        "loss_date": (1, 0),
        "amount": (1, 0),
        "claim_type": (1, 0),
    }
    by_reviewer = {r.reviewer_id: r for r in day.reviewers}
    assert (by_reviewer[reviewer.pk].fields_labeled, by_reviewer[reviewer.pk].fields_corrected) == (
        4,
        1,
    )
    assert by_reviewer[other_reviewer.pk].fields_labeled == 4
    assert by_reviewer[other_reviewer.pk].fields_corrected == 1
    # Each corrected a field the other found correct: 2 of 4 fields agreed, and the decision.
    for person in (reviewer, other_reviewer):
        row = by_reviewer[person.pk]
        assert (row.fields_compared, row.fields_agreed) == (4, 2)
        assert (row.decisions_compared, row.decisions_agreed) == (1, 1)


def test_an_empty_day_has_no_rows_and_no_rates(story, queue):
    empty = D + dt.timedelta(days=5)
    rows = list(
        days_read([empty], queue_ids=[queue.pk], now=at(D + dt.timedelta(days=30), 12)).values()
    )
    assert rows[0].stats == []
    period = metrics.daily(rows, lambda r: True)[0]
    assert period.totals.arrivals == 0
    assert period.totals.automation_rate is None and period.totals.sla_compliance is None


def test_past_days_are_stored_on_first_read_and_today_stays_live(story, queue):
    now = at(D + dt.timedelta(days=1), 15)
    rows = days_read([D, D + dt.timedelta(days=1)], queue_ids=[queue.pk], now=now)
    assert [d.stats[0].arrivals for d in rows.values()] == [3, 0]
    assert list(RollupDay.objects.values_list("day", flat=True)) == [D]  # today is not stored
    assert DailyStats.objects.filter(day=D).count() == 1
    # A second read takes the stored rows (same numbers) and stores nothing new.
    [again] = days_read([D], queue_ids=[queue.pk], now=now).values()
    assert again.stats[0].id is not None and again.stats[0].arrivals == 3
    assert RollupDay.objects.count() == 1
    # The review-time histograms come back as they were counted (40 s: one review).
    assert again.stats[0].active_histogram == histogram([40])
    assert again.reviewers[0].active_histogram == histogram([40])
    assert percentile(again.stats[0].active_histogram, 0.5) == percentile(histogram([40]), 0.5)


def test_a_queue_outside_the_scope_is_left_out(story, queue):
    assert days_read([D], queue_ids=[queue.pk + 1000], now=at(D, 23, 59))[D].stats == []


def test_days_follow_the_report_time_zone(db, settings, agent, queue):
    settings.REPORT_TIME_ZONE = "Europe/Paris"
    # 23:30 UTC on 10 March is 00:30 on 11 March in Paris.
    arrive(agent, "late", at(D, 23, 30), due=at(D + dt.timedelta(days=1), 6))
    assert day_compute(D).stats == []
    assert day_compute(D + dt.timedelta(days=1)).stats[0].arrivals == 1
    # The day the clocks go forward has 23 hours (subtracting in one zone would say 24).
    start, end = day_bounds(dt.date(2026, 3, 29))
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=23)
    assert start.tzinfo == zoneinfo.ZoneInfo("Europe/Paris")


def test_escaped_errors_count_qa_samples_by_their_review_day(
    db, utc_reports, agent, queue, reviewer
):
    queue.qa_sample_rate = 1.0
    queue.save()
    right = arrive(agent, "qa-right", at(D, 9), due=at(D, 20), confidence=0.99)
    wrong = arrive(agent, "qa-wrong", at(D, 9, 5), due=at(D, 20), confidence=0.99)
    assert right.is_qa_sample and wrong.is_qa_sample
    decide_at(queue, reviewer, right, "approve", when=at(D, 10), seconds=30)
    decide_at(queue, reviewer, wrong, "approve", when=at(D, 11), seconds=30, corrected="claim_type")
    [row] = day_compute(D).stats
    assert (row.qa_sampled, row.qa_decided, row.qa_wrong, row.auto_accepted) == (2, 2, 1, 0)
    escaped = metrics.totals([row]).escaped
    assert escaped.samples == 2 and not escaped.enough  # 30 are needed before a rate is stated


def test_percentiles_come_from_the_histogram_to_the_nearest_bucket():
    counts = histogram([8, 12, 12, 25, 50, 50, 50, 50, 200, 5000])
    assert sum(counts) == 10
    # Median: the 5th of 10 lies in (45, 60], which holds 4 values -> 45 + 15 * 1/4.
    assert percentile(counts, 0.5) == pytest.approx(48.75)
    # The 9th of 10 lies in (180, 240], which holds 1 -> its top.
    assert percentile(counts, 0.9) == pytest.approx(240)
    assert percentile(counts, 1.0) == 3600  # the open last bucket says "at least"
    assert percentile([], 0.5) is None


def test_fte_divides_active_hours_by_one_reviewers_productive_hours(settings):
    settings.FTE_PRODUCTIVE_HOURS_PER_WEEK = 30
    assert metrics.fte(15 * 3600) == pytest.approx(0.5)  # 15 h in a week
    assert metrics.fte(3 * 3600, days=1) == pytest.approx(3 / (30 / 7))


def test_weeks_start_on_monday_and_a_running_week_says_so(story, queue):
    days = [D + dt.timedelta(days=i) for i in range(-1, 9)]  # Mon 9 March .. Wed 18 March
    today = days[-1]
    rows = list(days_read(days, queue_ids=[queue.pk], now=at(today, 12)).values())
    weeks = metrics.weekly(rows, lambda r: True, today)
    assert [w.start for w in weeks] == [dt.date(2026, 3, 9), dt.date(2026, 3, 16)]
    assert weeks[0].complete and not weeks[1].complete and weeks[1].label.endswith("(part)")
    assert weeks[0].totals.arrivals == 3 and weeks[0].totals.first_reviews == 2
    assert weeks[0].totals.automation_rate == pytest.approx(1 / 3)


def test_a_lead_deciding_an_escalation_is_no_second_first_review(
    db, utc_reports, agent, queue, reviewer
):
    from review.services import lease_claim_escalated

    lead = queue.reviewers.exclude(pk=reviewer.pk).first()
    queue.leads.add(lead)
    item = arrive(agent, "e", at(D, 9), due=at(D, 20))
    decide_at(queue, reviewer, item, "escalate", when=at(D, 10), seconds=20)
    lease = lease_claim_escalated(item=item, lead=lead)
    review = item_decide(
        item_id=item.pk, reviewer=lead, lease_token=lease.token, decision="approve",
        fields=[FieldVerdictIn(n, "correct") for n in FIELDS], active_seconds=50,
    )  # fmt: skip
    Review.objects.filter(pk=review.pk).update(decided_at=at(D, 12), active_seconds=50)
    Item.objects.filter(pk=item.pk).update(decided_at=at(D, 12))
    [row] = day_compute(D).stats
    assert (row.first_reviews, row.escalated, row.reviews) == (1, 1, 2)
    assert (row.finished, row.finished_in_sla) == (1, 1)
    assert row.active_seconds == 70  # both passes took someone's time


def test_an_overridden_auto_acceptance_never_waited(db, utc_reports, agent, queue, reviewer):
    from review.services.lead import item_override

    lead = queue.reviewers.exclude(pk=reviewer.pk).first()
    queue.leads.add(lead)
    item = arrive(agent, "auto", at(D, 9), due=at(D, 10), confidence=0.99)
    item_override(item=item, lead=lead, decision="reject", fields=[], reason="wrong customer")
    Item.objects.filter(pk=item.pk).update(decided_at=at(D + dt.timedelta(days=2), 9))
    Review.objects.filter(item=item).update(decided_at=at(D + dt.timedelta(days=2), 9))
    [arrival_day] = day_compute(D).stats
    assert (arrival_day.arrivals, arrival_day.auto_accepted, arrival_day.backlog) == (1, 0, 0)
    [override_day] = day_compute(D + dt.timedelta(days=2)).stats
    assert (override_day.overrides, override_day.first_reviews, override_day.finished) == (1, 0, 0)
    assert override_day.backlog == 0
