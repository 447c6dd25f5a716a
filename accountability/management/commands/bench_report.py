"""manage.py bench_report: one table of every benchmark's figures against its target.

Reads what the bench_* commands wrote under .bench/ (make bench runs them all first), prints
each figure beside the target set for this 2-core machine and Label Studio 1.23 measured on the
same kind of machine, and writes .bench/summary.json. A missing file is reported as not run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accountability.timing import figures_write


@dataclass(frozen=True)
class Row:
    name: str
    source: str  # file under .bench/
    path: tuple[str, ...]  # keys into its JSON
    unit: str
    target: float | None
    higher_is_better: bool
    label_studio: str = ""

    def value(self, figures: dict[str, Any]) -> float | None:
        found: Any = figures.get(self.source)
        for key in self.path:
            if isinstance(found, list):
                found = next((x for x in found if x.get("format") == key), None)
            elif isinstance(found, dict):
                found = found.get(key)
            else:
                return None
        return found if isinstance(found, int | float) else None

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "not run"
        if self.target is None:
            return ""
        met = value >= self.target if self.higher_is_better else value <= self.target
        return "met" if met else "NOT met"


ROWS = [
    Row("machine: Python reference, start", "machine", ("start", "python_ms"), "ms", None, False),
    Row("machine: Python reference, end", "machine", ("end", "python_ms"), "ms", None, False),
    Row(
        "machine: the same on every core, start",
        "machine",
        ("start", "python_all_cores_ms"),
        "ms",
        None,
        False,
    ),  # fmt: skip
    Row(
        "machine: the same on every core, end",
        "machine",
        ("end", "python_all_cores_ms"),
        "ms",
        None,
        False,
    ),  # fmt: skip
    Row(
        "machine: PostgreSQL reference, start",
        "machine",
        ("start", "postgres_ms"),
        "ms",
        None,
        False,
    ),  # fmt: skip
    Row(
        "machine: PostgreSQL reference, end",
        "machine",
        ("end", "postgres_ms"),
        "ms",
        None,
        False,
    ),  # fmt: skip
    Row("single-item ingest p50", "ingest", ("single_p50_ms",), "ms", 8, False, "53 ms"),
    Row("single-item ingest p95", "ingest", ("single_p95_ms",), "ms", None, False),
    Row("single items, 4 clients", "ingest", ("concurrent_items_per_s",), "items/s", 300, True),
    Row(
        "batch ingest, 1 process",
        "ingest",
        ("batch_items_per_s",),
        "items/s",
        None,
        True,
        "~277 tasks/s bulk import",
    ),  # fmt: skip
    Row(
        "raw COPY of the same rows",
        "ingest",
        ("copy_items_per_s",),
        "items/s",
        None,
        True,
        "~5,400 rows/s",
    ),  # fmt: skip
    Row(
        "raw COPY into temporary tables (no WAL)",
        "ingest",
        ("copy_temporary_items_per_s",),
        "items/s",
        None,
        True,
    ),  # fmt: skip
    Row(
        "raw COPY with the same foreign keys",
        "ingest",
        ("copy_foreign_keys_items_per_s",),
        "items/s",
        None,
        True,
    ),  # fmt: skip
    Row("batch ÷ COPY", "ingest", ("batch_share_of_copy",), "share", 0.5, True),
    Row(
        "batch ÷ COPY with the same foreign keys",
        "ingest",
        ("batch_share_of_copy_foreign_keys",),
        "share",
        None,
        True,
    ),  # fmt: skip
    Row(
        "claim-next p50, 1M waiting, 20 reviewers",
        "claim",
        ("claim_p50_ms",),
        "ms",
        5,
        False,
        "127 ms at 10k tasks",
    ),  # fmt: skip
    Row(
        "claim-next p95, 1M waiting, 20 reviewers",
        "claim",
        ("claim_p95_ms",),
        "ms",
        15,
        False,
        "165 ms",
    ),  # fmt: skip
    Row(
        "claim service alone p50 (no HTTP)", "claim", ("service_claim_p50_ms",), "ms", None, False
    ),  # fmt: skip
    Row(
        "claim service alone p95 (no HTTP)", "claim", ("service_claim_p95_ms",), "ms", None, False
    ),  # fmt: skip
    Row(
        "claim-next p50, back to back (1 reviewer)",
        "claim",
        ("back_to_back_claim_p50_ms",),
        "ms",
        None,
        False,
    ),
    Row("double claims", "claim", ("double_claims",), "", 0, False),
    Row(
        "claim + decide, 4 reviewers",
        "claim",
        ("cycles_per_second",),
        "cycles/s",
        150,
        True,
        "~7 cycles/s",
    ),  # fmt: skip
    Row("review page p50", "review", ("page_p50_ms",), "ms", None, False, "217 ms list page"),
    Row("review page p95", "review", ("page_p95_ms",), "ms", 50, False),
    Row(
        "decide + next item p50",
        "review",
        ("decide_next_p50_ms",),
        "ms",
        None,
        False,
        "127 ms submit",
    ),  # fmt: skip
    Row(
        "dashboard p95, 1M items",
        "dashboard",
        ("pages", "dashboard (8 weeks, all queues)", "p95"),
        "ms",
        200,
        False,
    ),  # fmt: skip
    Row(
        "live tiles p95, 1M items",
        "dashboard",
        ("pages", "live tiles (htmx)", "p95"),
        "ms",
        None,
        False,
    ),  # fmt: skip
    Row(
        "export JSONL, 1M records",
        "export",
        ("exports", "jsonl", "records_per_s"),
        "records/s",
        20_000,
        True,
    ),  # fmt: skip
    Row(
        "export CSV, 1M records",
        "export",
        ("exports", "csv", "records_per_s"),
        "records/s",
        20_000,
        True,
    ),  # fmt: skip
    Row(
        "export memory growth (CSV)",
        "export",
        ("exports", "csv", "rss_growth_mb"),
        "MB",
        None,
        False,
    ),  # fmt: skip
]


class Command(BaseCommand):
    help = "Print every benchmark's figures against the targets; write .bench/summary.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=Path(".bench"))

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["dir"]
        figures = {
            name: json.loads(path.read_text())
            for name in ("machine", "ingest", "claim", "review", "dashboard", "export")
            if (path := folder / f"{name}.json").exists()
        }
        summary = []
        self.stdout.write(f"\n{'benchmark':<42} {'value':>12} {'target':>9}  {'':<8} Label Studio")
        for row in ROWS:
            value = row.value(figures)
            target = (
                ""
                if row.target is None
                else f"{'≥' if row.higher_is_better else '≤'}{row.target:g}"
            )
            shown = "—" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")
            self.stdout.write(
                f"{row.name:<42} {shown:>9} {row.unit:<9} {target:>9}  "
                f"{row.verdict(value):<8} {row.label_studio}"
            )
            summary.append({"benchmark": row.name, "value": value, "unit": row.unit,
                            "target": row.target, "verdict": row.verdict(value)})  # fmt: skip
        figures_write(folder / "summary.json", summary)
