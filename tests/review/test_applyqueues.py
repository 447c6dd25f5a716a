from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from accountability.models import AuditEvent
from review.models import Queue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

POLICY = """\
queues:
  - slug: claims-intake
    name: Insurance claim intake
    default_threshold: 0.85
    qa_sample_rate: 0.02
    sla_minutes: 240
    lease_minutes: 10
    fields:
      - {name: policy_number, type: string, required: true, threshold: 0.95}
      - {name: loss_date, type: date, required: true}
      - {name: amount, type: number, required: true}
      - {name: claim_type, type: string, enum: [auto, home, health]}
    reviewers: [reviewer1, reviewer2]
    leads: [lead1]
"""


@pytest.fixture
def people() -> None:
    for username in ("reviewer1", "reviewer2", "lead1"):
        UserFactory(username=username)


def write(tmp_path: Path, fmt: str, data: dict) -> Path:
    path = tmp_path / f"queues.{fmt}"
    path.write_text(json.dumps(data, indent=2) if fmt == "json" else yaml.safe_dump(data))
    return path


def run(path: Path, *args: str) -> str:
    """Run expecting success; returns what was printed to stdout."""
    out = StringIO()
    call_command("applyqueues", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def fails(path: Path, *args: str, match: str = "nothing was changed") -> str:
    """Run expecting a CommandError; returns what was printed to stderr."""
    err = StringIO()
    with pytest.raises(CommandError, match=match):
        call_command("applyqueues", str(path), *args, stdout=StringIO(), stderr=err)
    return err.getvalue()


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_file_creates_queue_with_policy_and_people(tmp_path, people, fmt):
    out = run(write(tmp_path, fmt, yaml.safe_load(POLICY)))

    assert out == "created claims-intake\n"
    queue = Queue.objects.get(slug="claims-intake")
    assert queue.name == "Insurance claim intake"
    assert queue.default_threshold == 0.85
    assert queue.threshold_for("policy_number") == 0.95
    assert queue.threshold_for("amount") == 0.85
    assert [spec["name"] for spec in queue.field_schema] == [
        "policy_number",
        "loss_date",
        "amount",
        "claim_type",
    ]
    assert queue.field_spec("claim_type")["enum"] == ["auto", "home", "health"]
    assert {u.username for u in queue.reviewers.all()} == {"reviewer1", "reviewer2"}
    assert [u.username for u in queue.leads.all()] == ["lead1"]
    assert AuditEvent.objects.filter(action="review.queue.created").count() == 1


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_same_file_again_is_unchanged(tmp_path, people, fmt):
    path = write(tmp_path, fmt, yaml.safe_load(POLICY))
    run(path)
    events = AuditEvent.objects.count()

    out = run(path)

    assert out == "unchanged claims-intake\n"
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_changed_threshold_is_updated_and_audited(tmp_path, people, fmt):
    data = yaml.safe_load(POLICY)
    run(write(tmp_path, fmt, data))
    data["queues"][0]["default_threshold"] = 0.9

    out = run(write(tmp_path, fmt, data))

    assert out == "updated claims-intake\n"
    assert Queue.objects.get().default_threshold == 0.9
    event = AuditEvent.objects.get(action="review.queue.policy_changed")
    assert event.actor_label == "manage.py applyqueues"
    assert event.data["changes"] == {
        "default_threshold": {"before": 0.85, "after": 0.9},
        "policy_version": {"before": 1, "after": 2},
    }
    version = Queue.objects.get().policy_versions.get(version=2)
    assert version.policy["default_threshold"] == 0.9
    assert (
        version.reason.startswith("applied from ") and version.changed_by == "manage.py applyqueues"
    )


def test_membership_change_is_updated(tmp_path, people):
    data = yaml.safe_load(POLICY)
    run(write(tmp_path, "yaml", data))
    data["queues"][0]["reviewers"] = ["reviewer1"]

    out = run(write(tmp_path, "yaml", data))

    assert out == "updated claims-intake\n"
    assert [u.username for u in Queue.objects.get().reviewers.all()] == ["reviewer1"]


def test_dates_in_yaml_stay_strings(tmp_path, people):
    path = tmp_path / "queues.yml"
    path.write_text(
        "queues:\n"
        "  - slug: dated\n"
        "    name: Dated\n"
        "    fields:\n"
        "      - {name: period, type: date, enum: [2024-01-01, 2024-07-01]}\n"
    )

    run(path)

    assert Queue.objects.get().field_spec("period")["enum"] == ["2024-01-01", "2024-07-01"]


BAD_YAML = """\
queues:
  - slug: claims-intake
    name: Claims
    fields:
      - name: policy_number
        type: string
      - name: amount
        type: number
        threshold: 1.5
    reviewers:
      - reviewer1
      - ghost
  - slug: fine
    description: has no name
  - slug: claims-intake
    name: Claims again
"""


def test_yaml_problems_give_their_lines_and_nothing_is_written(tmp_path, people):
    path = tmp_path / "queues.yaml"
    path.write_text(BAD_YAML)

    err = fails(path, match=r"^4 problems in .*; nothing was changed$")

    assert err.splitlines() == [
        f"{path}:9: queues[0].fields[1].threshold: must be a number between 0 and 1",
        f"{path}:12: queues[0].reviewers[1]: no user named 'ghost'",
        f"{path}:13: queues[1].name: is required",  # missing: the line of its mapping
        f"{path}:15: queues[2].slug: 'claims-intake' is already used by queues[0]",
    ]
    assert Queue.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_one_bad_queue_stops_the_good_ones(tmp_path, people):
    data = yaml.safe_load(POLICY)
    data["queues"].append({"slug": "other", "name": "Other", "sla_minutes": 0})

    err = fails(write(tmp_path, "yaml", data))

    assert "queues[1].sla_minutes: must be a whole number of minutes" in err
    assert Queue.objects.count() == 0


def test_json_problems_give_their_lines(tmp_path, people):
    path = tmp_path / "queues.json"
    path.write_text(
        "{\n"
        '  "queues": [\n'
        "    {\n"
        '      "slug": "claims-intake",\n'
        '      "name": "Claims",\n'
        '      "fields": [\n'
        '        {"name": "policy_number"},\n'
        "        {\n"
        '\t\t\t"name": "amount",\n'
        '\t\t\t"threshold": 2\n'
        "        }\n"
        "      ],\n"
        '      "reviewers": ["reviewer1",\n'
        '                    "ghost"]\n'
        "    }\n"
        "  ]\n"
        "}\n"
    )

    err = fails(path)

    assert err.splitlines() == [
        f"{path}:10: queues[0].fields[1].threshold: must be a number between 0 and 1",
        f"{path}:14: queues[0].reviewers[1]: no user named 'ghost'",
    ]
    assert Queue.objects.count() == 0


def test_yaml_syntax_error_gives_its_line(tmp_path):
    path = tmp_path / "queues.yaml"
    path.write_text("queues:\n  - slug: a\n    name: x\n   bad: y\n")

    err = fails(path)

    assert err.startswith(f"{path}:4: expected <block end>")


def test_json_syntax_error_gives_its_line(tmp_path):
    path = tmp_path / "queues.json"
    path.write_text(
        '{\n  "queues": [\n    {"slug": "a", "name": "A"}\n    {"slug": "b", "name": "B"}\n  ]\n}\n'
    )

    err = fails(path)

    assert err == f"{path}:4: Expecting ',' delimiter (column 5)\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- slug: a\n", ":1: must be a mapping with the list of queues under 'queues'"),
        ("# policy\nqueue:\n  - slug: a\n", ":2: queue: unknown attribute; allowed: queues"),
        ("queues: {slug: a}\n", ":1: queues: must be a list of queue definitions"),
    ],
)
def test_top_level_must_hold_a_queue_list(tmp_path, text, expected):
    path = tmp_path / "queues.yaml"
    path.write_text(text)

    assert expected in fails(path)


def test_missing_file_is_a_clear_error(tmp_path):
    fails(tmp_path / "nope.yaml", match="nope.yaml: no such file")


def test_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "queues.txt"
    path.write_text(POLICY)

    fails(path, match=r"must end in \.json, \.yaml or \.yml")


def test_check_writes_nothing(tmp_path, people):
    path = write(tmp_path, "yaml", yaml.safe_load(POLICY))

    out = run(path, "--check")

    assert out == f"{path}: 1 queue(s), no problems\n"
    assert Queue.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_check_reports_problems(tmp_path):
    path = write(tmp_path, "yaml", yaml.safe_load(POLICY))  # nobody exists yet

    err = fails(path, "--check")

    assert "queues[0].reviewers[0]: no user named 'reviewer1'" in err
