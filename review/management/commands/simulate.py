"""manage.py simulate: weeks of operation through the real services, in simulated time.

Agents with a known accuracy send the demo's kinds of documents to sandbox copies of the demo
queues (named --prefix-...), simulated reviewers claim and decide them on their shifts, a lead
handles escalations, overrides what is found wrong downstream and tunes thresholds weekly.
Prints the weekly table; --json and --chart write it to files. Everything happens in one
transaction in the configured database: use a scratch database for large runs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accountability import demo
from accountability.management.commands.seed_demo import quiet_task_log
from accountability.simulation import chart, report
from accountability.simulation.clock import SimClock
from accountability.simulation.engine import Plan, Result, Simulation, SimulationError
from accountability.simulation.policy import POLICIES, EscapedErrorStepPolicy
from accountability.simulation.report import WeekRow
from accountability.simulation.setup import PROFILES, sandbox_cast

QUEUES = [spec["slug"] for spec in demo.QUEUES]


class Command(BaseCommand):
    help = "Simulate weeks of agents, reviewers and leads through the real services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--weeks", type=int, default=8, help="Weeks to simulate (default 8).")
        parser.add_argument(
            "--items-per-day", type=float, default=80, help="All queues together, mean per day."
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same run (default 1).")
        parser.add_argument(
            "--start",
            type=dt.date.fromisoformat,
            help="First day (YYYY-MM-DD; default: the Monday --weeks weeks before this week's).",
        )
        parser.add_argument(
            "--queues",
            default=",".join(QUEUES),
            help=f"Comma-separated demo queues to simulate (default {','.join(QUEUES)}).",
        )
        parser.add_argument(
            "--agents",
            default="honest",
            choices=[*PROFILES, "mixed"],
            help="How the agents' confidences relate to their accuracy (default honest).",
        )
        parser.add_argument(
            "--reviewers", type=int, default=3, help="Simulated reviewers (default 3)."
        )
        parser.add_argument(
            "--policy",
            default="advice",
            choices=sorted(POLICIES),
            help="How the lead tunes thresholds weekly: the threshold advice (default), or the "
            "simple QA step policy.",
        )
        parser.add_argument(
            "--target",
            type=float,
            help="The error target: the queues' target_error_rate (per field) that the advice "
            f"aims for (default 0.01), or the step policy's QA-measured escaped-error rate per "
            f"item (default {EscapedErrorStepPolicy.target}).",
        )
        parser.add_argument(
            "--prefix", default="sim", help="Names of the simulated queues, agents and people."
        )
        parser.add_argument("--json", dest="json_path", help="Also write the table as JSON here.")
        parser.add_argument("--chart", dest="chart_path", help="Write a PNG chart here.")

    def handle(self, *args: Any, **options: Any) -> None:
        plan, slugs = self.plan(options)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            with quiet_task_log(), transaction.atomic(), SimClock(plan.start) as clock:
                cast = sandbox_cast(
                    prefix=options["prefix"],
                    queue_slugs=slugs,
                    profile=options["agents"],
                    reviewers=options["reviewers"],
                    seed=plan.seed,
                    target_error_rate=options["target"] if options["policy"] == "advice" else None,
                )
                result = Simulation(plan, cast, clock).run()
                queues = cast.queues()
            rows = report.week_rows(
                queues=queues, start=plan.start, weeks=plan.weeks, is_wrong=result.is_wrong
            )
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.print_result(result, rows, seconds, time.process_time() - cpu)
        if options["json_path"]:
            Path(options["json_path"]).write_text(
                json.dumps(self.as_json(plan, options, result, rows, seconds), indent=2)
            )
        if options["chart_path"]:
            # The step policy's target is per item, as the chart's rates; the advice's is not.
            target = getattr(plan.policy, "target", None)
            chart.draw(rows, target=target, title=self.title(options)).save(options["chart_path"])
            self.stdout.write(f"Chart written to {options['chart_path']}")

    def plan(self, options: dict[str, Any]) -> tuple[Plan, list[str]]:
        slugs = [slug.strip() for slug in options["queues"].split(",") if slug.strip()]
        if unknown := sorted(set(slugs) - set(QUEUES)):
            raise CommandError(f"--queues: no demo queue {', '.join(unknown)}; use {QUEUES}")
        if not slugs:
            raise CommandError("--queues: name at least one queue")
        for name in ("weeks", "reviewers"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be 1 or more")
        if options["items_per_day"] <= 0:
            raise CommandError("--items-per-day must be more than 0")
        if options["target"] is not None and not 0 < options["target"] < 1:
            raise CommandError("--target must be between 0 and 1")
        today = timezone.localdate()
        first = options["start"] or (
            today - dt.timedelta(days=today.weekday(), weeks=options["weeks"])
        )
        start = dt.datetime.combine(first, dt.time(), tzinfo=timezone.get_current_timezone())
        plan = Plan(
            start=start,
            end=start + dt.timedelta(weeks=options["weeks"]),
            items_per_day=options["items_per_day"],
            seed=options["seed"],
            policy=(
                EscapedErrorStepPolicy(target=options["target"] or EscapedErrorStepPolicy.target)
                if options["policy"] == "step"
                else POLICIES[options["policy"]]()
            ),
            id_prefix=f"{options['prefix']}-",
        )
        return plan, slugs

    def title(self, options: dict[str, Any]) -> str:
        return (
            f"{options['agents']} agents, {options['items_per_day']:g} items/day, "
            f"{options['reviewers']} reviewers, {options['policy']} policy, seed {options['seed']}"
        )

    def print_result(
        self, result: Result, rows: list[WeekRow], seconds: float, cpu_seconds: float
    ) -> None:
        self.stdout.write(report.table(rows))
        self.stdout.write("")
        for change in result.policy_changes:
            self.stdout.write(f"policy: {change}")
        counts = ", ".join(f"{name} {n}" for name, n in sorted(result.counts.items()))
        self.stdout.write(f"counts: {counts}")
        items = result.counts["items"]
        # CPU time too: on a shared machine the wall clock also measures everyone else.
        self.stdout.write(
            f"{items} items in {seconds:.1f} s, {cpu_seconds:.1f} s of CPU "
            f"({items / seconds:.0f} items/s; the run itself {result.seconds:.1f} s)"
        )

    def as_json(
        self,
        plan: Plan,
        options: dict[str, Any],
        result: Result,
        rows: list[WeekRow],
        seconds: float,
    ) -> dict[str, Any]:
        return {
            "start": plan.start.isoformat(),
            "weeks": plan.weeks,
            "items_per_day": plan.items_per_day,
            "seed": plan.seed,
            "agents": options["agents"],
            "reviewers": options["reviewers"],
            "target": options["target"],
            "rows": [row.as_dict() for row in rows],
            "policy_changes": result.policy_changes,
            "counts": dict(result.counts),
            "seconds": round(seconds, 2),
        }
