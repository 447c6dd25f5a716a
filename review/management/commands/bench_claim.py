"""Claim-next at scale: a million waiting items, many reviewers at once, no item claimed twice.

    manage.py bench_claim --waiting 1000000 --reviewers 20 --cycles 100   (PostgreSQL only)

Loads `--waiting` items awaiting review with COPY (two fields each; priorities and due times
spread like a real backlog), then runs two rounds of reviewer processes, each a separate Django
process with its own database connection calling the reviewer API through the full stack
(in-process test client: middleware, session auth, DRF, services):

1. `--reviewers` processes claim and approve `--cycles` items each, spending about `--think`
   seconds between items as people do (20 busy loops would only measure 2 cores shared 20
   ways); the claim's latency is recorded on its own (p50/p95).
2. 4 processes claim and approve as fast as they can for `--seconds`: cycles per second.

Each process first runs a few untimed cycles (its connection and caches, as a server that has
been up a while has them), and in round 1 each reviewer starts within one think time of the
others rather than all at the same instant.

Afterwards it counts double claims: items reviewed twice, or leased twice at the same time.
Meant for a throwaway database (`make bench`); a second run reuses the loaded items.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
import statistics
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from accountability.timing import figures_write, percentile
from agents.models import Agent
from review.bench_data import copy_rows, next_ids, reset_sequences, settle
from review.models import Item, ItemField, Lease, Queue, Review
from review.services import lease_claim_next

User = get_user_model()
SLUG = "bench-claim"
FIELDS = ("amount", "reference")


class Command(BaseCommand):
    help = "Time claim-next with a million waiting items and concurrent reviewers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--waiting", type=int, default=1_000_000)
        parser.add_argument("--reviewers", type=int, default=20)
        parser.add_argument("--cycles", type=int, default=30, help="per reviewer, round 1")
        parser.add_argument(
            "--think",
            type=float,
            default=1.0,
            help="round 1: mean seconds a reviewer spends between a claim and the next",
        )
        parser.add_argument("--seconds", type=float, default=10, help="round 2 duration")
        parser.add_argument("--json", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_claim needs PostgreSQL (set DATABASE_URL)")
        queue = Queue.objects.filter(slug=SLUG).first()
        if queue is None:
            started = time.perf_counter()
            queue = _load(options["waiting"], options["reviewers"])
            self.stdout.write(f"loaded {options['waiting']:,} items in "
                              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        settle()
        waiting = Item.objects.filter(queue=queue, status=Item.Status.PENDING).count()
        connections.close_all()  # the children open their own
        claims = _round(
            options["reviewers"], cycles=options["cycles"], seconds=None, think=options["think"]
        )
        service = _round(
            options["reviewers"],
            cycles=options["cycles"],
            seconds=None,
            think=options["think"],
            service=True,
        )
        # One reviewer claiming back to back: the same requests without the pause between them.
        # On this machine a process idle for a think time pays ~1 ms more per round trip to
        # wake up (and so does its PostgreSQL backend): this separates the two.
        back_to_back = _round(1, cycles=BACK_TO_BACK_CLAIMS, seconds=None, think=0)
        cycles = _round(4, cycles=None, seconds=options["seconds"], think=0)
        figures = {
            "waiting": waiting,
            "reviewers": options["reviewers"],
            "think_seconds": options["think"],
            "claim_p50_ms": _ms(statistics.median(claims["claim"])),
            "claim_p95_ms": _ms(percentile(claims["claim"], 0.95)),
            "claims": len(claims["claim"]),
            "service_claim_p50_ms": _ms(statistics.median(service["claim"])),
            "service_claim_p95_ms": _ms(percentile(service["claim"], 0.95)),
            "back_to_back_claim_p50_ms": _ms(statistics.median(back_to_back["claim"])),
            "back_to_back_claim_p95_ms": _ms(percentile(back_to_back["claim"], 0.95)),
            "cycle_reviewers": 4,
            "cycles_per_second": round(len(cycles["cycle"]) / options["seconds"], 1),
            "cycle_p50_ms": _ms(statistics.median(cycles["cycle"])),
            "double_claims": _double_claims(queue),
        }
        self._print(figures)
        if options["json"]:
            figures_write(options["json"], figures)

    def _print(self, f: dict[str, Any]) -> None:
        self.stdout.write(
            f"\nclaim-next with {f['waiting']:,} waiting, {f['reviewers']} reviewers at once "
            f"(~{f['think_seconds']} s between items): "
            f"p50 {f['claim_p50_ms']} ms, p95 {f['claim_p95_ms']} ms ({f['claims']} claims "
            f"through the API); the claim service alone (query, lease, audit event): "
            f"p50 {f['service_claim_p50_ms']} ms, p95 {f['service_claim_p95_ms']} ms\n"
            f"claim-next back to back (one reviewer, no pause between items): "
            f"p50 {f['back_to_back_claim_p50_ms']} ms, p95 {f['back_to_back_claim_p95_ms']} ms\n"
            f"claim + approve with {f['cycle_reviewers']} reviewers: {f['cycles_per_second']} "
            f"cycles/s (p50 {f['cycle_p50_ms']} ms per cycle)\n"
            f"double claims: {f['double_claims']}"
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _round(
    processes: int,
    *,
    cycles: int | None,
    seconds: float | None,
    think: float,
    service: bool = False,
) -> dict[str, list]:
    """Run `processes` reviewers at once; each returns its timings."""
    ctx = multiprocessing.get_context("fork")
    start_at = time.time() + 1.0  # everyone starts together, after their setup
    with ctx.Pool(processes) as pool:
        results = pool.starmap(
            _reviewer,
            [(n, cycles, seconds, think, start_at, service) for n in range(processes)],
        )
    merged: dict[str, list] = {"claim": [], "cycle": []}
    for result in results:
        for key, values in result.items():
            merged[key] += values
    return merged


WARM_UP_CYCLES = 3
BACK_TO_BACK_CLAIMS = 200


def _reviewer(
    n: int, cycles: int | None, seconds: float | None, think: float, start_at: float,
    service: bool,
) -> dict:  # fmt: skip
    connections.close_all()
    rng = random.Random(n)
    client = Client()
    reviewer = User.objects.get(username=f"{SLUG}-reviewer-{n}")
    client.force_login(reviewer)
    queue = Queue.objects.get(slug=SLUG)
    # Untimed: a process's first requests open its connection and fill its caches, which a
    # long-running server did once at start, not on a reviewer's claim.
    for _ in range(WARM_UP_CYCLES):
        _cycle(client, queue, reviewer, service)
    time.sleep(max(0.0, start_at - time.time()))
    if think:  # people do not all click at the same instant: each starts within one think time
        time.sleep(rng.uniform(0, think))
    claims, whole = [], []
    deadline = time.perf_counter() + (seconds or 0)
    done = 0
    while (cycles is not None and done < cycles) or (seconds and time.perf_counter() < deadline):
        claim_seconds, cycle_seconds = _cycle(client, queue, reviewer, service)
        claims.append(claim_seconds)
        whole.append(cycle_seconds)
        done += 1
        if think:  # looking at the item: 20 people at work, not 20 busy loops on 2 cores
            time.sleep(rng.uniform(0.5, 1.5) * think)
    connections.close_all()
    return {"claim": claims, "cycle": whole}


def _cycle(client: Client, queue: Queue, reviewer: Any, service: bool) -> tuple[float, float]:
    """Claim the next item and approve it; the claim's seconds and the whole cycle's."""
    started = time.perf_counter()
    if service:  # the claim itself, without HTTP, auth and the item's serialisation
        taken = lease_claim_next(queue=queue, reviewer=reviewer)
        claimed = time.perf_counter()
        lease = {"item": {"id": taken.item_id}, "token": str(taken.token)}
    else:
        response = client.post(f"/api/v1/queues/{SLUG}/claim")
        claimed = time.perf_counter()
        assert response.status_code == 200, response.status_code
        lease = response.json()
    decision = client.post(
        f"/api/v1/items/{lease['item']['id']}/decision",
        {
            "lease": lease["token"],
            "decision": "approve",
            "fields": [{"name": name, "verdict": "correct"} for name in FIELDS],
        },
        content_type="application/json",
    )
    assert decision.status_code == 200, decision.content[:300]
    return claimed - started, time.perf_counter() - started


def _double_claims(queue: Queue) -> int:
    """Items reviewed twice, plus pairs of leases on one item that were open at the same time.

    Two leases one after the other are no double claim: a lease that ran out (a reviewer who
    walked away) is rightly taken over by the next claim.
    """
    reviewed_twice = (
        Review.objects.filter(item__queue=queue)
        .values("item")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    lease = Lease._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM {lease} a JOIN {lease} b
                 ON a.item_id = b.item_id AND a.id < b.id
                JOIN {Item._meta.db_table} i ON i.id = a.item_id AND i.queue_id = %s
               WHERE b.claimed_at < LEAST(COALESCE(a.ended_at, 'infinity'), a.expires_at)
                 AND a.claimed_at < LEAST(COALESCE(b.ended_at, 'infinity'), b.expires_at)""",  # noqa: S608
            [queue.pk],
        )
        overlapping = cursor.fetchone()[0]
    return reviewed_twice + overlapping


def _load(waiting: int, reviewers: int) -> Queue:
    people = [User.objects.get_or_create(username=f"{SLUG}-reviewer-{n}")[0] for n in range(20)]
    people += [User.objects.get_or_create(username=f"{SLUG}-reviewer-{n}")[0]
               for n in range(20, max(20, reviewers))]  # fmt: skip
    queue = Queue.objects.create(
        slug=SLUG,
        name="Claim benchmark",
        field_schema=[{"name": f, "type": "string"} for f in FIELDS],
        sla_minutes=24 * 60,
        qa_sample_rate=0,
        double_review_rate=0,
    )
    queue.reviewers.add(*people)
    agent = Agent.objects.create(slug=SLUG, name="Claim benchmark", owner=people[0])
    agent.queues.add(queue)
    rng, now = random.Random(11), timezone.now()
    ids = next_ids(Item, ItemField)
    with transaction.atomic():
        items, fields = [], []
        for n in range(waiting):
            created = now - dt.timedelta(seconds=rng.random() * 20 * 3600)
            items.append(
                {
                    "id": ids[Item] + n,
                    "queue_id": queue.pk,
                    "agent_id": agent.pk,
                    "agent_version": "v1",
                    "external_id": f"claim-{n}",
                    "payload_sha256": "0" * 64,
                    "policy_version": 1,
                    "status": Item.Status.PENDING,
                    "is_qa_sample": False,
                    "priority": rng.randint(0, 100),
                    "due_at": created + dt.timedelta(minutes=queue.sla_minutes),
                    "metadata": "{}",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            for position, name in enumerate(FIELDS):
                fields.append({"id": ids[ItemField] + 2 * n + position, "item_id": ids[Item] + n,
                               "position": position, "name": name, "value": json.dumps("x"),
                               "confidence": 0.5, "evidence": "[]", "alternatives": "[]",
                               "rationale": "", "final_value": None, "verdict": ""})  # fmt: skip
            if len(items) >= 50_000:
                copy_rows(Item, items)
                copy_rows(ItemField, fields)
                items, fields = [], []
        copy_rows(Item, items)
        copy_rows(ItemField, fields)
        reset_sequences(Item, ItemField)
    return queue
