"""manage.py applyqueues FILE [--check]: create or update queues from a YAML or JSON policy file.

All or nothing: every queue is checked first, and each problem is reported with the line it is
on (FILE:LINE: queues[0].fields[1].threshold: ...). Only a file without problems is applied, in
one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accountability.audit import Actor
from review.models import Queue
from review.services.queues import POLICY_KEYS, queue_apply, queue_spec_errors

FORMATS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


class _Loader(yaml.SafeLoader):
    """Safe YAML in which dates stay strings, as in JSON: policy is stored in a JSONField."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)


@dataclass(frozen=True)
class Problem:
    line: int | None
    path: str
    message: str

    def format(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class Unreadable(Exception):
    """The file is not valid JSON or YAML."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Command(BaseCommand):
    help = "Create or update queues (routing policy, schema, people) from a YAML or JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A .yaml, .yml or .json file with a list under 'queues'.")
        parser.add_argument(
            "--check", action="store_true", help="Only check the file; change nothing."
        )
        parser.add_argument(
            "--reason", default="", help="Why the policy changes (kept with each new version)."
        )

    def handle(self, *args: object, file: str, check: bool, reason: str, **opts: object) -> None:
        specs = self.load_valid(file)
        if check:
            self.stdout.write(f"{file}: {len(specs)} queue(s), no problems")
            return
        for outcome, slug in queues_apply(specs, reason=reason or f"applied from {file}"):
            self.stdout.write(f"{outcome} {slug}")

    def load_valid(self, file: str) -> list[dict]:
        """The queue definitions in file; prints every problem and raises if there is one."""
        data, problems = file_problems(file)
        if problems:
            for problem in sorted(problems, key=lambda p: (p.line or 0, p.path)):
                self.stderr.write(problem.format(file))
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise CommandError(f"{count} in {file}; nothing was changed")
        return data["queues"]


def file_problems(file: str) -> tuple[Any, list[Problem]]:
    path = Path(file)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CommandError(f"{file}: the name must end in .json, .yaml or .yml")
    text = read_text(path)
    try:
        data, lines = load_json(text) if fmt == "json" else load_yaml(text)
    except Unreadable as exc:
        return None, [exc.problem]
    errors = file_errors(data)
    return data, [Problem(line_of(p, lines), p, message) for p, message in errors.items()]


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except (OSError, UnicodeError) as exc:
        raise CommandError(f"{path}: cannot read it ({exc})") from None


def load_json(text: str) -> tuple[Any, dict[str, int]]:
    """The data, and the line of each path in it (see lines_by_path)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{exc.msg} (column {exc.colno})"
        raise Unreadable(Problem(exc.lineno, "", message)) from None
    # JSON is nearly a YAML subset, so PyYAML can tell where things are. It rejects tabs as
    # indentation; in valid JSON every tab is whitespace between tokens, so swap it for a space.
    try:
        return data, lines_by_path(yaml.compose(text.replace("\t", " "), Loader=_Loader))
    except yaml.YAMLError:
        return data, {}  # valid JSON that PyYAML cannot read: report problems without lines


def load_yaml(text: str) -> tuple[Any, dict[str, int]]:
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
        return data, lines_by_path(yaml.compose(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"{problem} ({context})" if context else problem
        raise Unreadable(Problem(mark.line + 1 if mark else None, "", message)) from None


def lines_by_path(root: yaml.Node | None) -> dict[str, int]:
    """Line (1-based) of every path in the document: a key's line, or a list entry's line."""
    lines: dict[str, int] = {}
    if root is not None:
        lines[""] = root.start_mark.line + 1
        _walk(root, "", lines)
    return lines


def _walk(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    # Later duplicates overwrite earlier ones, as they do in the loaded data.
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[f"{path}[{index}]"] = item.start_mark.line + 1
            _walk(item, f"{path}[{index}]", lines)


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of path or, when its key is missing, of the nearest enclosing entry."""
    while path and path not in lines:
        path = path[: max(path.rfind("."), path.rfind("["), 0)]
    return lines.get(path)


def file_errors(data: Any) -> dict[str, str]:
    """Every problem in a policy file, keyed by its path (queues[0].fields[1].threshold)."""
    if not isinstance(data, dict):
        return {"": "must be a mapping with the list of queues under 'queues'"}
    errors = {str(key): "unknown attribute; allowed: queues" for key in data if key != "queues"}
    queues = data.get("queues")
    if not isinstance(queues, list):
        errors["queues"] = "must be a list of queue definitions"
        return errors
    for index, spec in enumerate(queues):
        for path, message in queue_spec_errors(spec).items():
            errors[f"queues[{index}].{path}" if path else f"queues[{index}]"] = message
    for path, message in duplicate_slug_errors(queues).items():
        errors.setdefault(path, message)
    return errors


def duplicate_slug_errors(queues: list) -> dict[str, str]:
    first: dict[str, int] = {}
    errors: dict[str, str] = {}
    for index, spec in enumerate(queues):
        slug = spec.get("slug") if isinstance(spec, dict) else None
        if not isinstance(slug, str):
            continue
        if slug in first:
            errors[f"queues[{index}].slug"] = f"{slug!r} is already used by queues[{first[slug]}]"
        else:
            first[slug] = index
    return errors


def queues_apply(specs: list[dict], *, reason: str = "") -> list[tuple[str, str]]:
    """Apply every (valid) spec in one transaction; returns (outcome, slug) for each."""
    actor = Actor.system("manage.py applyqueues")
    outcomes = []
    with transaction.atomic():
        for spec in specs:
            before = queue_state(spec["slug"])
            try:
                queue, created = queue_apply(spec=spec, actor=actor, reason=reason)
            except ValidationError as exc:  # e.g. a reviewer deleted since the check
                details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                raise CommandError(f"{spec['slug']}: {details}; nothing was changed") from exc
            if created:
                outcomes.append(("created", queue.slug))
            elif queue_state(queue.slug) == before:
                outcomes.append(("unchanged", queue.slug))
            else:
                outcomes.append(("updated", queue.slug))
    return outcomes


def queue_state(slug: str) -> dict[str, Any] | None:
    """Everything queue_apply may change, to tell an update from a no-op."""
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        return None
    state = {key: getattr(queue, key) for key in POLICY_KEYS}
    state["reviewers"] = set(queue.reviewers.values_list("pk", flat=True))
    state["leads"] = set(queue.leads.values_list("pk", flat=True))
    return state
