"""manage.py bench_headcount: reviewers needed under a fixed 0.9 threshold on the agents' own
confidence against calibrated routing with threshold advice, at production volume.

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
    EqualError,
    WeekFigures,
    equal_error_fixed,
)
from accountability.simulation.setup import FIELD_ACCURACY, agent_model
from accountability.timing import figures_write


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
        parser.add_argument("--json", dest="json_path", help="Also write the figures here.")

    def handle(self, *args: Any, **options: Any) -> None:
        profiles = [p.strip() for p in options["profiles"].split(",") if p.strip()]
        if unknown := set(profiles) - set(Profile):
            raise CommandError(f"--profiles: unknown {', '.join(sorted(unknown))}")
        if options["items_per_day"] < 7 or options["weeks"] < 1:
            raise CommandError("--items-per-day must be 7 or more and --weeks 1 or more")
        bench = Bench(
            items_per_day=options["items_per_day"], weeks=options["weeks"], seed=options["seed"]
        )
        settings_ = {k: v for k, v in bench.__dict__.items() if k != "pool"}
        everything: dict[str, Any] = {"bench": settings_, "profiles": {}}
        for profile in profiles:
            started = time.perf_counter()
            figures = bench.run(lanes(Profile(profile)))
            seconds = time.perf_counter() - started
            self.print_profile(profile, bench, figures, seconds)
            equal = self.print_equal_error(bench, figures)
            everything["profiles"][profile] = {
                **{name: [week.as_dict() for week in weeks] for name, weeks in figures.items()},
                "fixed_at_equal_error": {
                    "threshold": equal.threshold,
                    "automation_rate": round(equal.automation_rate, 4),
                    "escaped_rate": equal.escaped_rate,
                    "fte": round(equal.fte, 2),
                },
            }
        if options["json_path"]:
            figures_write(options["json_path"], everything)

    def print_profile(
        self, profile: str, bench: Bench, figures: dict[str, list[WeekFigures]], seconds: float
    ) -> None:
        self.stdout.write(
            f"\n{profile} agents, {bench.items_per_day:,} items/day "
            f"({len(demo.AGENTS)} agents), {bench.weeks} weeks, seed {bench.seed} "
            f"- {seconds:.1f} s"
        )
        self.stdout.write(
            f"{'':>4} | {'fixed threshold ' + str(bench.fixed_threshold):^26} | "
            f"{'calibrated + advice (' + format(bench.target, '.0%') + '/field)':^26}"
        )
        self.stdout.write(
            f"{'week':>4} | {'auto':>7} {'escaped':>8} {'FTE':>8} | "
            f"{'auto':>7} {'escaped':>8} {'FTE':>8}"
        )
        for fixed, calibrated in zip(figures["fixed"], figures["calibrated"], strict=True):
            self.stdout.write(f"{fixed.week:>4} | {_cells(fixed)} | {_cells(calibrated)}")
        last = slice(-4, None)
        self.stdout.write(
            f"mean FTE of the last 4 weeks: fixed {_mean_fte(figures['fixed'][last]):.1f}, "
            f"calibrated {_mean_fte(figures['calibrated'][last]):.1f}"
        )
        plain = figures["one_threshold"][last]
        auto = sum(w.auto for w in plain)
        escaped = f"{sum(w.escaped for w in plain) / auto:.2%}" if auto else "-"
        self.stdout.write(
            f"the same advice rule without calibration (one threshold for every field on the "
            f"agents' own confidence), last 4 weeks: automates "
            f"{auto / sum(w.items for w in plain):.1%}, escapes {escaped}, "
            f"FTE {_mean_fte(plain):.1f}"
        )

    def print_equal_error(self, bench: Bench, figures: dict[str, list[WeekFigures]]) -> EqualError:
        """The fair comparison: one threshold on the agents' own confidence, tuned with
        hindsight to escape no more than calibrated routing did in the same weeks."""
        weeks = figures["calibrated"][-COMPARED_WEEKS:]
        auto = sum(w.auto for w in weeks)
        escaped_rate = sum(w.escaped for w in weeks) / auto if auto else 0.0
        equal = equal_error_fixed(bench.pool, escaped_rate, len(weeks))
        calibrated_fte = _mean_fte(weeks)
        if equal.threshold is None:
            self.stdout.write(
                f"at calibrated routing's escaped-error rate ({escaped_rate:.2%}), no single "
                f"threshold on the agents' own confidence auto-accepts anything: "
                f"FTE {equal.fte:.1f} against {calibrated_fte:.1f}"
            )
        else:
            self.stdout.write(
                f"equal error: one threshold {equal.threshold:.3f} on the agents' own confidence, "
                f"tuned with hindsight to escape at most {escaped_rate:.2%} (it escapes "
                f"{equal.escaped_rate:.2%}), automates {equal.automation_rate:.1%} with "
                f"FTE {equal.fte:.1f}; calibrated routing: "
                f"{sum(w.auto for w in weeks) / sum(w.items for w in weeks):.1%}, "
                f"FTE {calibrated_fte:.1f}"
            )
        return equal


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


def _cells(week: WeekFigures) -> str:
    escaped = "-" if week.escaped_rate is None else f"{week.escaped_rate:.2%}"
    return f"{week.automation_rate:>7.1%} {escaped:>8} {week.fte:>8.1f}"


def _mean_fte(weeks: list[WeekFigures]) -> float:
    return sum(week.fte for week in weeks) / len(weeks)
