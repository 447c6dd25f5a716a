"""manage.py bench_export: loads decided items with COPY and streams every format."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from review.models import Item
from tests.conftest import ON_POSTGRES, postgres_only

pytestmark = pytest.mark.django_db


@postgres_only
def test_loads_once_and_reports_every_format(tmp_path):
    out = tmp_path / "export.json"
    call_command("bench_export", items=40, pages=2, json=str(out), stdout=io.StringIO())
    figures = json.loads(out.read_text())
    assert figures["items"] == Item.objects.filter(agent__slug="bench-export-bot").count() == 40
    by_format = {e["format"]: e for e in figures["exports"]}
    assert set(by_format) == {"jsonl", "csv", "supervised", "preference"}
    assert by_format["jsonl"]["records"] == by_format["csv"]["records"] == 40
    statuses = dict.fromkeys(Item.objects.values_list("status", flat=True))
    assert set(statuses) == {"auto_accepted", "approved", "rejected"}
    call_command("bench_export", items=40, pages=1, json=str(out), stdout=io.StringIO())
    assert json.loads(out.read_text())["load_seconds"] is None  # already there: not loaded again


@pytest.mark.skipif(ON_POSTGRES, reason="the refusal is for other databases")
def test_refuses_a_database_without_copy():
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("bench_export", items=10)
