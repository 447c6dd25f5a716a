"""manage.py bench_machine: how fast this machine is right now, for reading the other figures.

The machine's speed swings by a factor of two within hours (README, Benchmarks), so a figure
from one run means little beside another run's without this. Fixed workloads that none of our
code takes part in, each the best of several tries:

- Python: build, encode, decode and sort 20,000 small records (what a request does, in kind:
  objects, dicts, strings, JSON);
- the same Python in one process per core at once: how much of the cores the processes get
  (the request-path benchmarks run several processes; on a shared host two cores can behave
  like fewer);
- PostgreSQL: sum 2,000,000 numbers from generate_series (one backend's CPU).

make bench runs it first and last (--when start, --when end): a run whose two readings differ
fell in a change of speed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from accountability.timing import figures_write

RECORDS = 20_000
LABELS = {
    "python_ms": "Python",
    "python_all_cores_ms": "Python on every core at once",
    "postgres_ms": "PostgreSQL",
}
POSTGRES_ROWS = 2_000_000


def python_workload() -> int:
    records = [
        {"id": n, "name": f"field_{n % 97}", "value": n * 1.5, "tags": [str(n % 7), "x"]}
        for n in range(RECORDS)
    ]
    back = json.loads(json.dumps(records))
    ordered = sorted(back, key=lambda record: (record["name"], -record["id"]))
    return sum(len(record["name"]) for record in ordered if record["id"] % 3)


def python_best_ms(tries: int) -> float:
    return best_ms(python_workload, tries)


def python_parallel_ms(tries: int) -> float:
    """The Python workload's best time in each of one process per core, all at once: the
    slowest process's. The processes never touch the database connection they inherit."""
    processes = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return max(pool.map(python_best_ms, [tries] * processes))


def postgres_workload() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(x) FROM generate_series(1, %s) x", [POSTGRES_ROWS])
        return cursor.fetchone()[0]


def best_ms(work: Callable[[], Any], tries: int) -> float:
    """The fastest of `tries` runs, in ms: the machine's speed, not its interruptions."""
    work()  # warm: imports, caches, the connection
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


class Command(BaseCommand):
    help = "Time two fixed workloads (Python, PostgreSQL) that show how fast the machine is now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--when", choices=["start", "end"], default="start")
        parser.add_argument("--tries", type=int, default=7)
        parser.add_argument("--json", dest="out", type=Path, default=Path(".bench/machine.json"))

    def handle(self, *args: Any, when: str, tries: int, out: Path, **options: Any) -> None:
        if tries < 1:
            raise CommandError("--tries must be at least 1")
        figures = {
            "python_ms": python_best_ms(tries),
            "python_all_cores_ms": python_parallel_ms(tries),
        }
        if connection.vendor == "postgresql":
            figures["postgres_ms"] = best_ms(postgres_workload, tries)
        # The start of a run begins the file afresh; its end joins it.
        earlier = _read(out) if when == "end" else {}
        figures_write(out, {**earlier, when: figures})
        shown = ", ".join(f"{LABELS[name]} {ms} ms" for name, ms in figures.items())
        self.stdout.write(f"machine speed at the {when} (best of {tries}): {shown}")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
