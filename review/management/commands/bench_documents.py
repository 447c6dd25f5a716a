"""manage.py bench_documents: what a long PDF costs, to process and to review.

(a) Intake and processing of a 20-page text PDF (accountability.demo_documents.long_pdf): the
    upload in its transaction, then the processing its commit sets off (run in this process).
(b) The server time of the workspace of an item whose source is that PDF, through Django's test
    client (every middleware, no socket), and of the page images it loads lazily.

Run it against a throwaway database (make bench does): it leaves its documents and items behind.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accountability import celery_app
from accountability.audit import Actor
from accountability.demo_documents import long_pdf
from accountability.management.commands.seed_demo import quiet_task_log
from accountability.timing import percentile
from agents import services as agent_services
from agents.models import Agent
from agents.payload import parse_item
from review import services
from review.documents.intake import document_store
from review.models import Document, Item, Queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

KEY = "wording"


class Command(BaseCommand):
    help = "Measure processing a long PDF and the review page of an item that uses it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pages", type=int, default=20)
        parser.add_argument("--runs", type=int, default=5, help="PDFs processed (median shown)")
        parser.add_argument("--requests", type=int, default=30, help="workspace GETs timed")

    def handle(self, *args: object, pages: int, runs: int, requests: int, **opts: object) -> None:
        # Processing runs on commit in this process, whatever the broker: that is what we time.
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            with quiet_task_log():
                agent, queue, reviewer = self._setup()
                document = self._processing(agent, pages, runs)
                self._review(agent, queue, reviewer, document, requests)
        finally:
            celery_app.conf.task_always_eager = eager

    def _processing(self, agent: Agent, pages: int, runs: int) -> Document:
        stored, processed, document, size = [], [], None, 0
        for run in range(runs):
            data = long_pdf(pages, variant=run)  # new bytes each run: the same would be reused
            size = len(data)
            start = time.perf_counter()
            with transaction.atomic():
                document, _ = document_store(
                    data=data, filename="wording.pdf", agent=agent, actor=Actor.agent(agent)
                )
                intake_done = time.perf_counter()
            processed.append(time.perf_counter() - intake_done)  # commit, render, extract, save
            stored.append(intake_done - start)
        assert document is not None
        document.refresh_from_db()
        if document.status != Document.Status.READY or document.page_count != pages:
            raise RuntimeError(f"document {document.pk} ended {document.status}, {document.flags}")
        total = statistics.median(a + b for a, b in zip(stored, processed, strict=True))
        dpi = settings.DOCUMENT_RENDER_DPI
        self.stdout.write(f"Document benchmark: a {pages}-page text PDF, rendered at {dpi} dpi")
        self._line("intake (store the file)", stored, f"{size // 1024} KiB")
        self._line("processing (all pages)", processed, "render, text and boxes, save")
        self.stdout.write(
            f"  {'intake + processing':<26}p50 {_ms(total)}   {pages / total:5.1f} pages/s"
            f"   ({runs} runs)"
        )
        return document

    def _line(self, label: str, times: list[float], note: str) -> None:
        self.stdout.write(
            f"  {label:<26}p50 {_ms(statistics.median(times))}   "
            f"p95 {_ms(percentile(times, 0.95))}   ({note})"
        )

    def _review(
        self, agent: Agent, queue: Queue, reviewer: User, document: Document, requests: int
    ) -> None:
        item = self._item(agent, queue, document)
        lease = services.lease_claim_next(queue=queue, reviewer=reviewer)
        if lease is None or lease.item_id != item.pk:
            raise RuntimeError(f"item {item.pk} is {item.status}, not waiting for review")
        client = Client()
        client.force_login(reviewer)
        url = reverse("review:workspace", args=[item.pk])
        client.get(url)  # warm: templates compiled, connections open
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        page_times = []
        for number in range(1, document.page_count + 1):
            start = time.perf_counter()
            response = client.get(reverse("review:document-page", args=[document.pk, number]))
            page_times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        html = len(client.get(url).content) // 1024
        self._line("workspace GET", times, f"{requests} requests, {html} KiB of HTML")
        image = len(response.content) // 1024
        self._line("page image GET", page_times, f"each page once, ~{image} KiB each")

    def _item(self, agent: Agent, queue: Queue, document: Document) -> Item:
        """An item quoting the first, a middle and the last page, and boxing one more."""
        texts = document.text.split("\f")  # one per page
        middle = len(texts) // 2 + 1

        def quote(page: int, line: int) -> dict:
            return {"document": KEY, "quote": texts[page - 1].splitlines()[line][:60]}

        evidence = {  # a page's second line is its section heading, the third starts a clause
            "section": [quote(1, 1)],
            "clause": [quote(middle, 2)],
            "last_section": [quote(len(texts), 1)],
            "boxed": [{"document": KEY, "page": middle, "bbox": [0.07, 0.2, 0.93, 0.26]}],
        }
        payload = {
            "queue": queue.slug,
            "external_id": f"bench-{uuid.uuid4().hex[:8]}",
            "documents": [{"key": KEY, "document_id": document.pk}],
            "fields": [
                {"name": name, "value": f"value of {name}", "confidence": 0.97, "evidence": given}
                for name, given in evidence.items()
            ],
        }
        parsed, errors = parse_item(payload)
        if parsed is None:
            raise RuntimeError(errors)
        (result,) = services.items_ingest(agent=agent, payloads=[parsed])
        return result.item

    def _setup(self) -> tuple[Agent, Queue, User]:
        User = get_user_model()
        slug = f"bench-documents-{uuid.uuid4().hex[:8]}"
        reviewer = User.objects.create(username=slug)
        queue = Queue.objects.create(
            slug=slug,
            name="Document benchmark",
            field_schema=[
                {"name": name, "type": "string", "required": True}
                for name in ("section", "clause", "last_section", "boxed")
            ],
            default_threshold=0.99,  # everything goes to a person
            qa_sample_rate=0,
        )
        queue.reviewers.add(reviewer)
        agent = agent_services.agent_create(
            slug=slug, name=slug, owner=reviewer, queues=[queue], actor=Actor.system("bench")
        )
        return agent, queue, reviewer


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"
