"""Dashboard server time at scale: load synthetic history with COPY, then time the pages.

    manage.py bench_dashboard --items 1000000 --reviews 200000   (PostgreSQL only)

Loads 8 weeks of items, first reviews and their field labels straight into the tables (COPY,
not the services: the point is the read side at a size the services would take an hour to
write), stores the daily rollups, then requests the lead's pages through Django's full stack
and prints p50/p95 server time per page. Meant for a throwaway database (`make bench` makes
one); a second run on the same database times what the first one loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import statistics
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accountability.timing import figures_write, percentile
from agents.models import Agent
from review.bench_data import copy_rows, next_ids, reset_sequences, settle
from review.dashboard import rollups
from review.models import FieldLabel, Item, ItemField, Queue, Review

User = get_user_model()
FIELDS = ("amount", "reference")
DAYS = 56


class Command(BaseCommand):
    help = "Load synthetic history into PostgreSQL and time the dashboard pages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=1_000_000)
        parser.add_argument("--reviews", type=int, default=200_000)
        parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
        parser.add_argument("--json", type=Path, help="also write the figures here")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_dashboard needs PostgreSQL (set DATABASE_URL)")
        figures: dict[str, Any] = {"items": options["items"], "reviews": options["reviews"]}
        lead = _lead()
        if Queue.objects.filter(slug="bench-q0").exists():
            self.stdout.write("bench history already loaded: timing it as it is")
        else:
            started = time.perf_counter()
            _load(options["items"], options["reviews"], lead, random.Random(options["seed"]))
            figures["load_seconds"] = round(time.perf_counter() - started, 1)
            self.stdout.write(f"loaded in {figures['load_seconds']} s")
        settle()
        figures["items"] = Item.objects.count()
        figures["reviews"] = Review.objects.count()
        figures["today_live_ms"] = _time_ms(lambda: rollups.day_compute(rollups.local_today()))
        started = time.perf_counter()
        stored = rollups.rollups_rebuild()
        figures["rollup_rebuild_seconds"] = round(time.perf_counter() - started, 1)
        figures["rollup_days"] = stored
        figures["pages"] = _time_pages(lead, options["requests"])
        self._print(figures)
        if options["json"]:
            figures_write(options["json"], figures)

    def _print(self, figures: dict[str, Any]) -> None:
        self.stdout.write(
            f"\n{figures['items']:,} items, {figures['reviews']:,} reviews; today's rollup live: "
            f"{figures['today_live_ms']} ms; rebuilding {figures['rollup_days']} days: "
            f"{figures['rollup_rebuild_seconds']} s"
        )
        self.stdout.write(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}")
        for name, timing in figures["pages"].items():
            self.stdout.write(f"{name:<40} {timing['p50']:>8} {timing['p95']:>8}")


def _time_ms(work: Any) -> float:
    started = time.perf_counter()
    work()
    return round((time.perf_counter() - started) * 1000, 1)


def _time_pages(lead: Any, requests: int) -> dict[str, dict[str, float]]:
    client = Client()
    client.force_login(lead)
    today = rollups.local_today()
    week_ago = (today - dt.timedelta(days=7)).isoformat()
    pages = {
        "dashboard (8 weeks, all queues)": ("/dashboard/", {}),
        "dashboard (8 weeks, one queue)": ("/dashboard/", {"queue": "bench-q0"}),
        "live tiles (htmx)": ("/dashboard/", {"partial": "tiles"}),
        "drill-down (a week's reviews)": (
            "/dashboard/items/",
            {"metric": "reviewed", "start": week_ago, "end": today.isoformat()},
        ),
        "staffing (one queue)": ("/dashboard/staffing/", {"queue": "bench-q0"}),
        "queues (the lead's home page)": ("/", {}),
    }
    results = {}
    for name, (url, params) in pages.items():
        headers = {"HX-Request": "true"} if "partial" in params else {}
        client.get(url, params, headers=headers)  # warm caches and the stored rollups
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url, params, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        times.sort()
        results[name] = {
            "p50": round(statistics.median(times), 1),
            "p95": round(percentile(times, 0.95), 1),
        }
    return results


def _lead() -> Any:
    lead, _ = User.objects.get_or_create(username="bench-lead")
    return lead


def _load(n_items: int, n_reviews: int, lead: Any, rng: random.Random) -> None:
    reviewers = [User.objects.get_or_create(username=f"bench-reviewer-{i}")[0] for i in range(20)]
    queues, agents = [], []
    for i in range(3):
        queue = Queue.objects.create(
            slug=f"bench-q{i}",
            name=f"Bench queue {i}",
            field_schema=[{"name": f, "type": "string"} for f in FIELDS],
        )
        queue.leads.add(lead)
        queue.reviewers.add(*reviewers)
        agent = Agent.objects.create(slug=f"bench-agent-{i}", name=f"Bench agent {i}", owner=lead)
        agent.queues.add(queue)
        queues.append(queue)
        agents.append(agent)
    now = timezone.now()
    start = now - dt.timedelta(days=DAYS)
    human_share = n_reviews / n_items
    ids = next_ids(Item, ItemField, Review, FieldLabel)
    with transaction.atomic():
        items, fields, reviews, labels = [], [], [], []
        reviews_left, review_id, label_id = n_reviews, ids[Review], ids[FieldLabel]
        for n in range(n_items):
            item_id = ids[Item] + n
            created = start + dt.timedelta(seconds=(DAYS * 86400) * n / n_items)
            created = min(created + dt.timedelta(seconds=rng.random() * 30), now)
            q = n % 3
            human = rng.random() < human_share and reviews_left > 0
            decided = created + dt.timedelta(minutes=rng.expovariate(1 / 90))
            waiting = human and decided >= now
            status = "auto_accepted"
            if human and not waiting:
                status = rng.choices(["approved", "rejected", "escalated"], [97, 2.5, 0.5])[0]
            elif waiting:
                status = "pending_review"
            items.append(
                _item_row(item_id, queues[q], agents[q], n, created, status, human, decided, rng)
            )
            field_ids = [ids[ItemField] + 2 * n + position for position in range(len(FIELDS))]
            for position, name in enumerate(FIELDS):
                fields.append(_field_row(field_ids[position], item_id, position, name))
            if human and not waiting:
                reviewer = rng.choice(reviewers)
                reviews.append(_review_row(review_id, item_id, reviewer, status, decided, rng))
                for field_id in field_ids:
                    verdict = "corrected" if rng.random() < 0.08 else "correct"
                    labels.append(_label_row(label_id, review_id, field_id, verdict))
                    label_id += 1
                review_id += 1
                reviews_left -= 1
            if len(items) >= 50_000:
                _flush(items, fields, reviews, labels)
        _flush(items, fields, reviews, labels)
        reset_sequences(Item, ItemField, Review, FieldLabel)


def _item_row(item_id, queue, agent, n, created, status, human, decided, rng) -> dict:  # noqa: ANN001
    return {
        "id": item_id,
        "queue_id": queue.pk,
        "agent_id": agent.pk,
        "agent_version": "v2" if created > timezone.now() - dt.timedelta(days=28) else "v1",
        "external_id": f"bench-{n}",
        "payload_sha256": "0" * 64,
        "policy_version": 1,
        "status": status,
        "is_qa_sample": human and rng.random() < 0.05,
        "priority": 0,
        "due_at": created + dt.timedelta(hours=4),
        "confidence": None,
        "rationale": "",
        "metadata": "{}",
        "decided_at": decided
        if status in ("approved", "rejected")
        else (created if status == "auto_accepted" else None),  # fmt: skip
        "created_at": created,
        "updated_at": created,
    }


def _field_row(field_id: int, item_id: int, position: int, name: str) -> dict:
    return {"id": field_id, "item_id": item_id, "position": position, "name": name,
            "value": json.dumps("x"), "confidence": 0.9, "evidence": "[]",
            "alternatives": "[]", "rationale": "", "final_value": None, "verdict": ""}  # fmt: skip


def _review_row(review_id, item_id, reviewer, status, decided, rng) -> dict:  # noqa: ANN001
    decision = {"approved": "approve", "rejected": "reject", "escalated": "escalate"}[status]
    seconds = min(3000.0, rng.lognormvariate(math.log(45), 0.6))
    return {"id": review_id, "item_id": item_id, "lease_id": None, "reviewer_id": reviewer.pk,
            "decision": decision, "reason": "", "comment": "",
            "started_at": decided - dt.timedelta(seconds=seconds), "decided_at": decided,
            "active_seconds": seconds, "is_override": False, "second_of_id": None,
            "agreement": "{}"}  # fmt: skip


def _label_row(label_id: int, review_id: int, field_id: int, verdict: str) -> dict:
    return {"id": label_id, "review_id": review_id, "field_id": field_id, "verdict": verdict,
            "original_value": json.dumps("x"),
            "final_value": json.dumps("y" if verdict == "corrected" else "x"),
            "correction_reason": "wrong_value" if verdict == "corrected" else "",
            "note": ""}  # fmt: skip


def _flush(*tables: list[dict]) -> None:
    for model, rows in zip((Item, ItemField, Review, FieldLabel), tables, strict=True):
        copy_rows(model, rows)
        rows.clear()
