"""The operations simulator: its pure models, and a small run through the real services."""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
from collections import Counter

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import Sum
from PIL import Image

from accountability.audit import Actor
from accountability.models import AuditEvent
from accountability.simulation import chart, report
from accountability.simulation.agents import AgentModel, FieldTruth, Profile, corrupt
from accountability.simulation.clock import HOUR_SHAPE, SimClock, arrival_times, day_volume
from accountability.simulation.engine import Plan, Simulation
from accountability.simulation.headcount import Bench, BenchLane
from accountability.simulation.policy import EscapedErrorStepPolicy, Thresholds
from accountability.simulation.reviewers import FieldSeen, ReviewerModel, Shift
from accountability.simulation.setup import sandbox_cast
from review.models import Item, Lease, Review
from review.quality import EscapedErrors
from review.services import item_override
from tests.factories import UserFactory, ingest

MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a past week, far from the test's own clock
TRUTHS = [
    FieldTruth("policy_number", "string", "POL-4412093"),
    FieldTruth("loss_date", "date", "2026-03-05", decoy="2026-03-09"),
    FieldTruth("amount", "number", 1234.56, decoy=1020.0),
    FieldTruth("claim_type", "string", "home", choices=("auto", "home", "health")),
]


def reads(model: AgentModel, n: int, seed: int = 1) -> list:
    rng = random.Random(seed)
    truth = FieldTruth("amount", "number", 1234.56)
    return [model.guess(truth, rng) for _ in range(n)]


# --- agents ----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_outputs():
    model = AgentModel(Profile.HONEST, accuracy=0.9, sharpness=10)

    assert model.read(TRUTHS, random.Random(5)) == model.read(TRUTHS, random.Random(5))
    assert [model.read(TRUTHS, random.Random(s)) for s in range(5)] != [
        model.read(TRUTHS, random.Random(s + 1)) for s in range(5)
    ]


def test_an_honest_agent_is_right_as_often_as_it_says():
    guesses = reads(AgentModel(Profile.HONEST, accuracy=0.85, sharpness=8), 20_000)

    right = [g.correct for g in guesses]
    assert statistics.mean(right) == pytest.approx(0.85, abs=0.01)
    # Calibrated: in each confidence band the share right matches the mean confidence.
    for low, high in ((0.5, 0.75), (0.75, 0.9), (0.9, 1.0)):
        band = [g for g in guesses if low <= g.confidence < high]
        assert len(band) > 1000
        said = statistics.mean(g.confidence for g in band)
        assert statistics.mean(g.correct for g in band) == pytest.approx(said, abs=0.02)


def test_an_overconfident_agent_says_95_percent_and_is_right_80_percent_of_the_time():
    guesses = reads(AgentModel(Profile.OVERCONFIDENT, accuracy=0.8, sharpness=8), 10_000)

    assert min(g.confidence for g in guesses) >= 0.95
    assert statistics.mean(g.correct for g in guesses) == pytest.approx(0.8, abs=0.015)
    # It still ranks: its surer half is right more often than its other half.
    ranked = sorted(guesses, key=lambda g: g.confidence)
    low, high = ranked[:5000], ranked[5000:]
    assert statistics.mean(g.correct for g in high) > statistics.mean(g.correct for g in low) + 0.1


def test_an_uninformative_agents_confidence_says_nothing_about_being_right():
    guesses = reads(AgentModel(Profile.UNINFORMATIVE, accuracy=0.8, sharpness=8), 10_000)

    ranked = sorted(guesses, key=lambda g: g.confidence)
    low, high = ranked[:5000], ranked[5000:]
    assert statistics.mean(g.confidence for g in high) > statistics.mean(g.confidence for g in low)
    assert statistics.mean(g.correct for g in high) == pytest.approx(
        statistics.mean(g.correct for g in low), abs=0.025
    )


def test_wrong_values_are_plausible_corruptions_of_the_right_one():
    rng = random.Random(3)
    seen: Counter[str] = Counter()
    for _ in range(400):
        for truth in TRUTHS:
            value, kind = corrupt(truth, rng)
            seen[kind] += 1
            assert value != truth.value and type(value) is type(truth.value), (truth, value)
            if kind == "date_swap":
                assert value == "2026-05-03"
            if kind == "digit_swap" and truth.type == "number":
                assert sorted(f"{value:.2f}") == sorted("1234.56")
            if kind == "wrong_place":
                assert value == truth.decoy
            if kind == "wrong_choice":
                assert value in truth.choices
    assert {"wrong_place", "date_swap", "date_shift", "digit_swap", "digit_slip"} <= set(seen)
    assert {"lookalike", "wrong_choice"} <= set(seen)
    # Nothing to get wrong: an optional field the source lacks, with no decoy.
    assert corrupt(FieldTruth("vat", "string", None), rng) == (None, "")


def test_the_vectorised_sample_is_the_same_model():
    generator = np.random.default_rng(1)
    names = ["a", "b"]
    honest = AgentModel(Profile.HONEST, accuracy=0.85, field_accuracy={"b": 0.95}, sharpness=8)
    confidence, correct = honest.sample(names, 20_000, generator)

    assert confidence.shape == correct.shape == (20_000, 2)
    assert correct.mean(axis=0) == pytest.approx([0.85, 0.95], abs=0.01)
    assert confidence.mean(axis=0) == pytest.approx([0.85, 0.95], abs=0.01)
    band = (confidence[:, 0] >= 0.9) & (confidence[:, 0] < 1)
    assert correct[band, 0].mean() == pytest.approx(confidence[band, 0].mean(), abs=0.02)
    loud = AgentModel(Profile.OVERCONFIDENT, accuracy=0.8, sharpness=8)
    confidence, correct = loud.sample(names, 10_000, generator)
    assert confidence.min() >= 0.95 and correct.mean() == pytest.approx(0.8, abs=0.015)


def test_the_headcount_bench_routes_the_same_outputs_every_way():
    def lanes(profile: Profile) -> list[BenchLane]:
        model = AgentModel(profile, accuracy=0.97, sharpness=25)
        return [BenchLane("x", model, ("a", "b", "c"), 40.0)]

    bench = Bench(items_per_day=1500, weeks=3, seed=2, target=0.03)
    loud = bench.run(lanes(Profile.OVERCONFIDENT))
    compared = bench.compare(loud)

    fixed, calibrated = loud["fixed"], loud["calibrated"]
    assert [w.items for w in fixed] == [w.items for w in calibrated] == [10_500] * 3
    assert all(w.auto + w.reviewed == w.items for ws in loud.values() for w in ws)
    # The first week everything goes to people: the advice has no labels yet.
    assert calibrated[0].auto == loud["uncalibrated"][0].auto == 0
    # Overconfident: 0.9 on its own word lets nearly everything through, errors included; the
    # advice, from what people found, auto-accepts only what meets the item-level target.
    assert fixed[-1].automation_rate > 0.95 and fixed[-1].escaped_rate > 0.06
    assert 0 < calibrated[-1].automation_rate < 0.5
    assert calibrated[-1].escaped_rate <= bench.target
    # The comparison: what the weeks add up to, and one threshold that escapes no more.
    weeks = calibrated[-3:]
    assert compared["calibrated"].escaped == sum(w.escaped for w in weeks)
    assert compared["calibrated"].reviewed_per_week == sum(w.reviewed for w in weeks) / 3
    assert compared["calibrated"].fte == pytest.approx(sum(w.fte for w in weeks) / 3)
    hindsight = compared["hindsight"]
    assert hindsight.auto == 0 or hindsight.escaped_rate <= compared["calibrated"].escaped_rate
    assert bench.run(lanes(Profile.OVERCONFIDENT))["calibrated"][-1] == calibrated[-1]


def test_a_confidence_that_says_nothing_earns_no_automation():
    model = AgentModel(Profile.UNINFORMATIVE, accuracy=0.97, sharpness=25)
    bench = Bench(items_per_day=1500, weeks=3, seed=2, target=0.03)
    figures = bench.run([BenchLane("x", model, ("a", "b", "c"), 40.0)])
    assert figures["calibrated"][-1].automation_rate == 0 < figures["fixed"][-1].automation_rate


# --- people, clock and the lead's policy --------------------------------------------------------


def test_a_reviewer_takes_lognormal_time_and_sometimes_misses_a_wrong_value():
    model = ReviewerModel("r", speed=1.2, miss_rate=0.1, escalate_rate=0.0)
    rng = random.Random(2)
    fields = [FieldSeen("amount", 1243.56, 1234.56, "digit_swap"), FieldSeen("id", "A", "A")]

    outcomes = [model.review(fields, typical_seconds=40, rng=rng) for _ in range(4000)]

    clean = [model.handle_seconds(40, rng) for _ in range(4000)]
    assert statistics.median(clean) == pytest.approx(48, rel=0.05)  # 40 s x speed 1.2
    missed = sum(o.missed for o in outcomes) / len(outcomes)
    assert missed == pytest.approx(0.1, abs=0.015)
    caught = next(o for o in outcomes if not o.missed)
    assert caught.verdicts[0].value == 1234.56 and caught.verdicts[0].correction_reason == "misread"
    assert all(0 < o.active_seconds <= o.seconds for o in outcomes)
    rejected = model.review(fields, typical_seconds=40, rng=rng, reject=("duplicate", "seen"))
    assert (rejected.decision, rejected.reason) == ("reject", "duplicate")


def test_shifts_say_when_someone_works():
    model = ReviewerModel("r", shifts=(Shift(9, 17),))
    friday_evening = dt.datetime(2026, 3, 6, 18, tzinfo=dt.UTC)

    assert model.next_on_shift(friday_evening) == dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)
    assert model.shift_end(dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC)).hour == 17
    assert model.shift_end(friday_evening) is None


def test_arrivals_come_mostly_in_working_hours_and_less_at_weekends():
    rng = random.Random(4)
    times = arrival_times(dt.date(2026, 3, 2), 5000, rng)
    working = sum(8 <= t.hour < 18 for t in times) / len(times)
    assert working == pytest.approx(sum(HOUR_SHAPE[8:18]) / sum(HOUR_SHAPE), abs=0.02)
    assert times == sorted(times) and {t.date() for t in times} == {dt.date(2026, 3, 2)}
    weekdays = [day_volume(dt.date(2026, 3, 2), 100, rng) for _ in range(300)]
    sundays = [day_volume(dt.date(2026, 3, 8), 100, rng) for _ in range(300)]
    assert statistics.mean(sundays) < statistics.mean(weekdays) / 1.5


def test_the_step_policy_loosens_below_target_and_tightens_when_clearly_above():
    policy = EscapedErrorStepPolicy(target=0.04, step=0.01, floor=0.9)
    current = Thresholds(0.95, {"amount": 0.97, "loss_date": 0.905})

    down, why = policy.decide(current, EscapedErrors(samples=40, wrong=1))
    assert down == Thresholds(0.94, {"amount": 0.96, "loss_date": 0.9})  # not below the floor
    assert "below the 4% target" in why
    up, why = policy.decide(current, EscapedErrors(samples=40, wrong=8))  # 20 %, 95 % CI 10-35 %
    assert up == Thresholds(0.96, {"amount": 0.98, "loss_date": 0.915})
    assert policy.decide(current, EscapedErrors(samples=40, wrong=2)) is None  # 5 %: not clear
    assert policy.decide(current, EscapedErrors(samples=0, wrong=0)) is None


# --- the weekly table ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_true_escaped_error_rate_counts_wrong_auto_accepted_items(agent, queue, reviewer):
    lead = UserFactory(username="lena")
    queue.leads.add(lead)
    accepted = [ingest(agent, external_id=f"a{n}", confidence=0.99) for n in range(4)]
    reviewed = ingest(agent, external_id="p1")  # waits for a person: not automation's error
    assert {item.status for item in accepted} == {Item.Status.AUTO_ACCEPTED}
    item_override(item=accepted[0], lead=lead, decision="reject", fields=[], reason="found")
    wrong = {"a0", "a2", "p1"}

    [row] = report.week_rows(
        queues=[queue],
        start=reviewed.created_at - dt.timedelta(days=1),
        weeks=1,
        is_wrong=lambda agent_id, external_id: external_id in wrong,
    )

    # a0 was auto-accepted, wrong, and later overridden: still automation's escaped error.
    assert (row.volume, row.auto_accepted, row.true_wrong) == (5, 4, 2)
    assert row.automation_rate == 0.8 and row.true_escaped_rate == 0.5


# --- a run through the services -------------------------------------------------------------


def run(prefix: str, *, seed: int = 11, items_per_day: float = 14) -> tuple:
    with SimClock(MONDAY) as clock:
        cast = sandbox_cast(
            prefix=prefix,
            queue_slugs=["claims-intake", "invoice-extraction"],
            profile="honest",
            reviewers=2,
            seed=seed,
        )
        plan = Plan(
            start=MONDAY,
            end=MONDAY + dt.timedelta(weeks=1),
            items_per_day=items_per_day,
            seed=seed,
            policy=EscapedErrorStepPolicy(),
            id_prefix=f"{prefix}-",
        )
        result = Simulation(plan, cast, clock).run()
    rows = report.week_rows(queues=cast.queues(), start=MONDAY, weeks=1, is_wrong=result.is_wrong)
    return cast, result, rows


@pytest.mark.django_db
def test_a_week_runs_through_the_services_in_simulated_time():
    cast, result, [row] = run("t")
    queues = cast.queues()
    week_end = MONDAY + dt.timedelta(weeks=1)

    items = Item.objects.filter(queue__in=queues)
    assert items.count() == result.counts["items"] > 70
    assert all(MONDAY <= at < week_end for at in items.values_list("created_at", flat=True))
    reviews = Review.objects.filter(item__queue__in=queues).select_related("lease", "item")
    assert reviews.count() > 50
    for review in reviews:
        # Decided at simulated times, after a claim at a simulated time, within the lease.
        assert MONDAY <= review.started_at < review.decided_at < week_end + dt.timedelta(hours=1)
        assert review.lease.claimed_at == review.started_at
        assert 3 <= review.active_seconds <= (review.decided_at - review.started_at).total_seconds()
        assert review.decided_at <= review.lease.expires_at
    people = {review.reviewer.username for review in reviews}
    assert {"t-reviewer-1", "t-reviewer-2"} <= people
    assert statistics.median(r.active_seconds for r in reviews) == pytest.approx(40, rel=0.5)
    events = AuditEvent.objects.filter(target_type="review.item", target_id__in=[
        str(pk) for pk in items.values_list("pk", flat=True)
    ])  # fmt: skip
    assert {e.created_at.date() for e in events} <= {
        (MONDAY + dt.timedelta(days=d)).date() for d in range(8)
    }
    assert Counter(events.values_list("action", flat=True))["review.decision.recorded"] > 50
    assert Lease.objects.filter(item__queue__in=queues, ended_at__isnull=True).count() <= 2

    # The table agrees with the database, counted here another way.
    assert row.volume == items.count()
    automated = (
        items.filter(status=Item.Status.AUTO_ACCEPTED).count()
        + Review.objects.filter(item__queue__in=queues, is_override=True).count()
    )
    assert row.auto_accepted == automated > 0
    qa = items.filter(is_qa_sample=True, status__in=["approved", "rejected"])
    assert row.qa_samples == qa.count()
    assert row.active_seconds == pytest.approx(reviews.aggregate(s=Sum("active_seconds"))["s"])
    assert row.fte == pytest.approx(row.active_seconds / 3600 / 30)  # FTE_PRODUCTIVE_HOURS 30
    wrong_auto = [
        sent
        for (agent_id, external_id), sent in result.items.items()
        if sent.wrong
        and Item.objects.filter(
            agent_id=agent_id, external_id=external_id, status=Item.Status.AUTO_ACCEPTED
        ).exists()
    ]
    assert row.true_wrong >= len(wrong_auto)


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_week():
    _, first, rows_a = run("a", items_per_day=6)
    _, second, rows_b = run("b", items_per_day=6)

    assert rows_a == rows_b
    assert first.counts == second.counts


@pytest.mark.django_db
def test_the_command_prints_the_table_and_writes_json_and_a_chart(tmp_path):
    out = tmp_path / "sim.json"
    picture = tmp_path / "sim.png"
    printed = call_command_output(
        "simulate", "--weeks", "2", "--items-per-day", "5", "--queues", "claims-intake",
        "--reviewers", "1", "--start", "2026-03-02", "--policy", "step", "--prefix", "cmd",
        "--json", str(out), "--chart", str(picture),
    )  # fmt: skip

    data = json.loads(out.read_text())
    assert [row["week"] for row in data["rows"]] == [1, 2]
    assert (
        sum(row["volume"] for row in data["rows"])
        == Item.objects.filter(queue__slug="cmd-claims-intake").count()
    )
    assert "auto %" in printed and "items/s" in printed
    with Image.open(picture) as image:
        assert image.size == (chart.WIDTH, chart.HEIGHT)
        assert len(image.convert("L").getcolors()) > 10  # lines, markers and text drawn
    assert Actor.system("manage.py simulate").label in set(
        AuditEvent.objects.values_list("actor_label", flat=True)
    )


def call_command_output(*args: str) -> str:
    from io import StringIO

    buffer = StringIO()
    call_command(*args, stdout=buffer)
    return buffer.getvalue()


def test_the_equal_error_comparison_picks_the_most_automating_threshold_within_the_error(
    settings,
):
    import numpy as np

    from accountability.simulation.headcount import _Pooled, equal_error_fixed

    settings.FTE_PRODUCTIVE_HOURS_PER_WEEK = 1  # seconds / 3600 is then FTE for one week
    # Lowest confidences 0.99, 0.95, 0.90, 0.80; the 0.90 one is wrong; no QA draws.
    pooled = _Pooled(
        lowest=np.array([0.99, 0.95, 0.90, 0.80]),
        right=np.array([True, True, False, True]),
        qa=np.zeros(4, dtype=bool),
        seconds=np.full(4, 3600.0),
    )
    # No escaped error allowed: accept down to 0.95 (2 items), review the other 2 (2 h).
    strict = equal_error_fixed([pooled], 0.0, weeks=1)
    assert (strict.thresholds, strict.auto, strict.escaped, strict.fte) == ((0.95,), 2, 0, 2.0)
    # A third wrong is allowed: down to 0.90 escapes 1 of 3; 0.80 escapes 1 of 4 (better).
    loose = equal_error_fixed([pooled], 1 / 3, weeks=1)
    assert (loose.thresholds, loose.auto, loose.escaped, loose.fte) == ((0.80,), 4, 1, 0.0)


def test_one_threshold_per_agent_with_hindsight_beats_one_for_all(settings):
    from accountability.simulation.headcount import _Pooled, equal_error_fixed

    settings.FTE_PRODUCTIVE_HOURS_PER_WEEK = 1
    # Agent a is right at 0.80; agent b is wrong at 0.85 and right at 0.95. One threshold low
    # enough for a's items would take b's wrong one too.
    a = _Pooled(
        np.array([0.8, 0.8]), np.array([True, True]), np.zeros(2, bool), np.full(2, 3600.0), "a"
    )
    b = _Pooled(
        np.array([0.85, 0.95]), np.array([False, True]), np.zeros(2, bool), np.full(2, 3600.0), "b"
    )
    one = equal_error_fixed([a, b], 0.0, weeks=1)
    each = equal_error_fixed([a, b], 0.0, weeks=1, per_agent=True)
    assert (one.thresholds, one.auto, one.fte) == ((0.95,), 1, 3.0)
    assert (each.thresholds, each.lanes, each.auto, each.escaped, each.fte) == (
        (0.8, 0.95),
        ("a", "b"),
        3,
        0,
        1.0,
    )


def test_advised_routing_goes_by_the_calibrated_confidence_where_there_is_one():
    from accountability.simulation.headcount import Learner

    learner = Learner.starting_at(("a", "b"), 0.9, calibrate=True)
    learner.calibrators[0] = ("platt", {"constant": 0.95})  # a: 95 % whatever it says
    confidence = np.array([[0.5, 0.95], [0.99, 0.85]])
    assert learner.clears(confidence).tolist() == [[True, True], [True, False]]


def test_the_headcount_command_prints_each_routing_and_writes_json(tmp_path):
    out = tmp_path / "headcount.json"
    printed = call_command_output(
        "bench_headcount", "--items-per-day", "300", "--weeks", "2", "--profiles", "honest",
        "--targets", "0.05", "--json", str(out),
    )  # fmt: skip
    data = json.loads(out.read_text())
    (run,) = data["runs"]
    assert (run["profile"], run["target"]) == ("honest", 0.05)
    assert set(run["compared"]) == {
        "fixed", "calibrated", "uncalibrated", "hindsight", "hindsight_per_agent"
    }  # fmt: skip
    assert [w["week"] for w in run["weeks"]["calibrated"]] == [1, 2]
    assert "| honest | 5% | calibrated + advice |" in printed
