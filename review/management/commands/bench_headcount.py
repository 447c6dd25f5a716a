"""manage.py bench_headcount: reviewers needed, and wrong items let through, under a fixed 0.9
threshold on the agents' own confidence and under calibrated routing with threshold advice, at
production volume; then the two compared at equal or lower true escaped error.

Runs the pure models only (accountability.simulation.headcount): no database is touched.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accountability import demo
from accountability.simulation.agents import Profile
from accountability.simulation.headcount import (
    COMPARED_WEEKS,
    Bench,
    BenchLane,
    Outcome,
    WeekFigures,
)
from accountability.simulation.setup import FIELD_ACCURACY, agent_model
from accountability.timing import figures_write

LABELS = {
    "fixed": "fixed 0.9 on own confidence",
    "calibrated": "calibrated + advice",
    "uncalibrated": "advice, no calibration",
    "hindsight": "one threshold, hindsight",
    "hindsight_per_agent": "one per agent, hindsight",
}
COLUMNS = {
    "fixed": "fixed 0.9",
    "calibrated": "calibrated + advice",
    "uncalibrated": "advice, no calibration",
}


class Command(BaseCommand):
    help = "Compare the headcount of fixed-threshold and calibrated routing (no database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items-per-day", type=int, default=10_000)
        parser.add_argument("--weeks", type=int, default=8)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--profiles",
            default=",".join(Profile),
            help="Comma-separated agent profiles to compare under (default: all).",
        )
        parser.add_argument(
            "--targets",
            default="0.01,0.03,0.05",
            help="Comma-separated targets the advice aims for: the share of auto-accepted "
            "items with a wrong field (default: 0.01, a queue's default, 0.03 and 0.05).",
        )
        parser.add_argument("--json", dest="json_path", help="Also write the figures here.")

    def handle(self, *args: Any, **options: Any) -> None:
        profiles = [p.strip() for p in options["profiles"].split(",") if p.strip()]
        if unknown := set(profiles) - set(Profile):
            raise CommandError(f"--profiles: unknown {', '.join(sorted(unknown))}")
        if options["items_per_day"] < 7 or options["weeks"] < 1:
            raise CommandError("--items-per-day must be 7 or more and --weeks 1 or more")
        try:
            targets = [float(t) for t in options["targets"].split(",") if t.strip()]
        except ValueError:
            targets = []
        if not targets or not all(0 < t < 1 for t in targets):
            raise CommandError("--targets: give rates between 0 and 1, such as 0.01,0.03")
        runs, summary = [], []
        for profile in profiles:
            for target in targets:
                bench = Bench(
                    items_per_day=options["items_per_day"],
                    weeks=options["weeks"],
                    seed=options["seed"],
                    target=target,
                )
                started = time.perf_counter()
                figures = bench.run(lanes(Profile(profile)))
                compared = bench.compare(figures)
                seconds = time.perf_counter() - started
                self.print_run(profile, bench, figures, compared, seconds)
                summary.append((profile, target, compared))
                runs.append(
                    {
                        "profile": profile,
                        "target": target,
                        "weeks": {
                            name: [w.as_dict() for w in weeks] for name, weeks in figures.items()
                        },
                        "compared": {name: o.as_dict() for name, o in compared.items()},
                    }
                )
        self.print_summary(summary)
        if options["json_path"]:
            settings_ = {k: v for k, v in bench.__dict__.items() if k not in ("pool", "target")}
            figures_write(
                options["json_path"],
                {
                    "bench": {**settings_, "targets": targets},
                    "compared_weeks": COMPARED_WEEKS,
                    "runs": runs,
                },
            )

    def print_run(
        self,
        profile: str,
        bench: Bench,
        figures: dict[str, list[WeekFigures]],
        compared: dict[str, Outcome],
        seconds: float,
    ) -> None:
        self.stdout.write(
            f"\n{profile} agents, {bench.items_per_day:,} items/day ({len(demo.AGENTS)} agents), "
            f"{bench.weeks} weeks, seed {bench.seed}; advice for at most {bench.target:.1%} of "
            f"auto-accepted items wrong - {seconds:.1f} s"
        )
        names = list(figures)
        self.stdout.write(f"{'':>4} | " + " | ".join(f"{COLUMNS[n]:^24}" for n in names))
        self.stdout.write(
            f"{'week':>4} | " + " | ".join(f"{'auto':>7} {'escaped':>8} {'FTE':>7}" for _ in names)
        )
        for week, row in enumerate(zip(*figures.values(), strict=True), start=1):
            self.stdout.write(f"{week:>4} | " + " | ".join(_cells(w) for w in row))
        self.stdout.write(
            f"last {min(COMPARED_WEEKS, bench.weeks)} weeks {'true escaped':>18} "
            f"{'reviewed/week':>14} {'FTE':>6} {'automated':>10}"
        )
        for name, outcome in compared.items():
            self.stdout.write(f"  {LABELS[name]:<31}{_outcome(outcome)}  {_thresholds(outcome)}")
        self.stdout.write(_verdict(compared))

    def print_summary(self, summary: list[tuple[str, float, dict[str, Outcome]]]) -> None:
        """One table of every run, for the README: markdown."""
        self.stdout.write(
            "\n| agents | target | routing | true escaped error | human-reviewed items / week "
            "| FTE |\n| --- | --- | --- | --- | --- | --- |"
        )
        for profile, target, compared in summary:
            for name, outcome in compared.items():
                shown = _thresholds(outcome) if name == "hindsight" else ""
                label = LABELS[name] + (f" ({shown})" if shown else "")
                self.stdout.write(
                    f"| {profile} | {target:.0%} | {label} | {_rate(outcome.escaped_rate)} "
                    f"| {outcome.reviewed_per_week:,.0f} | {outcome.fte:.1f} |"
                )


def _verdict(compared: dict[str, Outcome]) -> str:
    calibrated = compared["calibrated"]
    if not calibrated.auto:
        return (
            "calibrated routing auto-accepts nothing (no thresholds can be shown to meet the "
            "target): every item goes to people"
        )
    one, each = compared["hindsight"], compared["hindsight_per_agent"]
    return (
        f"at equal or lower true escaped error (at most {_rate(calibrated.escaped_rate)}): "
        f"calibrated routing {calibrated.fte:.1f} FTE; thresholds on the agents' own confidence "
        f"chosen with hindsight {one.fte:.1f} FTE (one for all), {each.fte:.1f} FTE (one per "
        "agent)"
    )


def _thresholds(outcome: Outcome) -> str:
    shown = ["-" if t is None else f"{t:.3f}" for t in outcome.thresholds]
    if outcome.lanes:
        shown = [f"{lane} {t}" for lane, t in zip(outcome.lanes, shown, strict=True)]
    return ", ".join(shown)


def lanes(profile: Profile) -> list[BenchLane]:
    """The demo's three agents, all of one profile, sharing the volume."""
    return [
        BenchLane(
            spec.slug,
            agent_model(spec.slug, profile),
            tuple(FIELD_ACCURACY[spec.slug]),
            spec.review_seconds,
        )
        for spec in demo.AGENTS
    ]


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _cells(week: WeekFigures) -> str:
    return f"{week.automation_rate:>7.1%} {_rate(week.escaped_rate):>8} {week.fte:>7.1f}"


def _outcome(outcome: Outcome) -> str:
    return (
        f"{_rate(outcome.escaped_rate):>12} {outcome.reviewed_per_week:>14,.0f} "
        f"{outcome.fte:>6.1f} {outcome.automation_rate:>10.1%}"
    )
