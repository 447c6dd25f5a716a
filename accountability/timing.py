"""For the benchmarks: one percentile, so every p95 printed means the same, and one way to
write their figures for bench_report."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or
    below it (share 0.95 for p95)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def figures_write(path: str | Path, figures: Any) -> Path:
    """Write a benchmark's figures as JSON (creating the folder), for bench_report to read."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    return out
