"""manage.py bench_review: server time per reviewed item, through the workspace's own requests.

One reviewer works a queue of demo-shaped items the way the page does: each item costs one
htmx POST (decide, claim the next, render its workspace) and, for a reviewer spending ~30 s on
it, two heartbeats. Run it against a throwaway database: it leaves its items behind.
"""

from __future__ import annotations

import statistics
import time
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client
from django.urls import reverse

from accountability.audit import Actor
from accountability.timing import figures_write, percentile
from agents import services as agent_services
from agents.management.commands.bench_ingest import FIELDS, payload
from agents.payload import parse_item
from review import services
from review.models import Lease, Queue

HTMX = {"HX-Request": "true"}


class Command(BaseCommand):
    help = "Measure the server time one reviewed item costs (decide + next item + heartbeats)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=200)
        parser.add_argument("--json", dest="json_path", default=".bench/review.json")

    def handle(self, *args: object, items: int, json_path: str, **opts: object) -> None:
        client, queue = self._setup(items)
        first = client.post(reverse("review:queue-start", args=[queue.slug]))
        item_id = int(first.url.rstrip("/").split("/")[-1])
        client.get(first.url)
        per_item, beats, pages = [], [], []
        for n in range(items - 1):
            lease = Lease.objects.get(item_id=item_id, ended_at__isnull=True)
            # The review page itself, as a reload or a first visit asks for it.
            start = time.perf_counter()
            page = client.get(reverse("review:workspace", args=[item_id]))
            pages.append(time.perf_counter() - start)
            assert page.status_code == 200, page.status_code
            beat_url = reverse("review:workspace-heartbeat", args=[item_id])
            for _ in range(2):
                start = time.perf_counter()
                client.post(beat_url, {"lease": str(lease.token), "active_seconds": "15"})
                beats.append(time.perf_counter() - start)
            form = {"lease": str(lease.token), "action": "approve", "active_seconds": "2"}
            form.update({f"f{i}-verdict": "correct" for i in range(len(FIELDS))})
            if n % 3 == 0:  # a third of the items need one correction
                form.update(
                    {"f3-verdict": "corrected", "f3-value": "1205.5", "f3-reason": "misread"}
                )
            start = time.perf_counter()
            response = client.post(
                reverse("review:workspace-submit", args=[item_id]), form, headers=HTMX
            )
            per_item.append(time.perf_counter() - start)
            assert response.status_code == 200, response.content[:300]
            item_id = int(response["HX-Push-Url"].rstrip("/").split("/")[-1])
        ms = {
            name: (statistics.median(values) * 1000, percentile(values, 0.95) * 1000)
            for name, values in (("decide", per_item), ("beat", beats), ("page", pages))
        }
        (decide, decide_p95), (beat, beat_p95), (page_p50, page_p95) = ms.values()
        self.stdout.write(f"Review benchmark: {len(per_item)} items, {len(FIELDS)} fields each")
        self.stdout.write(f"  decide + next item   p50 {decide:6.1f} ms   p95 {decide_p95:6.1f} ms")
        self.stdout.write(f"  heartbeat            p50 {beat:6.1f} ms   p95 {beat_p95:6.1f} ms")
        self.stdout.write(
            f"  server time per item (decision + 2 heartbeats) p50 {decide + 2 * beat:6.1f} ms"
        )
        self.stdout.write(f"  review page GET      p50 {page_p50:6.1f} ms   p95 {page_p95:6.1f} ms")
        figures = {
            "items": len(per_item),
            "decide_next_p50_ms": round(decide, 1),
            "decide_next_p95_ms": round(decide_p95, 1),
            "heartbeat_p50_ms": round(beat, 1),
            "page_p50_ms": round(page_p50, 1),
            "page_p95_ms": round(page_p95, 1),
        }
        figures_write(json_path, figures)

    def _setup(self, items: int) -> tuple[Client, Queue]:
        User = get_user_model()
        reviewer, _ = User.objects.get_or_create(username=f"bench-reviewer-{uuid.uuid4().hex[:6]}")
        slug = f"bench-review-{uuid.uuid4().hex[:8]}"
        queue = Queue.objects.create(
            slug=slug,
            name="Review benchmark",
            field_schema=[
                {"name": name, "type": kind, "required": True} for name, _, kind in FIELDS
            ],
            default_threshold=0.99,  # everything goes to a person
            qa_sample_rate=0,
        )
        queue.reviewers.add(reviewer)
        actor = Actor.system("bench_review")
        agent = agent_services.agent_create(
            slug=slug, name=slug, owner=reviewer, queues=[queue], actor=actor
        )
        for start in range(0, items, 500):
            batch = [parse_item(payload(n, slug))[0] for n in range(start, min(items, start + 500))]
            services.items_ingest(agent=agent, payloads=batch)
        client = Client()
        client.force_login(reviewer)
        return client, queue
