"""bench_machine: the machine's speed at the start and end of a benchmark run, in its report."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db


def test_a_run_records_the_machines_speed_at_its_start_and_end(tmp_path):
    out = tmp_path / "machine.json"
    out.write_text(json.dumps({"end": {"python_ms": 1.0}}))  # a stale reading of an earlier run
    call_command("bench_machine", "--tries", "1", "--json", str(out), stdout=StringIO())
    assert set(json.loads(out.read_text())) == {"start"}  # the start begins the file afresh
    printed = StringIO()
    call_command(
        "bench_machine", "--when", "end", "--tries", "1", "--json", str(out), stdout=printed
    )

    readings = json.loads(out.read_text())
    assert set(readings) == {"start", "end"}
    expected = {"python_ms", "python_all_cores_ms"}
    if connection.vendor == "postgresql":
        expected.add("postgres_ms")
    for when in ("start", "end"):
        assert set(readings[when]) == expected
        assert all(ms > 0 for ms in readings[when].values())
    assert "machine speed at the end (best of 1): Python" in printed.getvalue()

    report = StringIO()
    call_command("bench_report", "--dir", str(tmp_path), stdout=report)
    line = next(x for x in report.getvalue().splitlines() if "Python reference, end" in x)
    assert f"{readings['end']['python_ms']:,.1f}".rstrip("0").rstrip(".") in line


def test_tries_below_one_are_refused(tmp_path):
    with pytest.raises(CommandError, match="--tries"):
        call_command("bench_machine", "--tries", "0", "--json", str(tmp_path / "m.json"))
