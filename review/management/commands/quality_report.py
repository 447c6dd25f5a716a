"""manage.py quality_report: each queue's escaped-error rate from its QA samples."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from review.models import Queue
from review.quality import escaped_errors


class Command(BaseCommand):
    help = "Escaped-error rate of auto-accepted outputs per queue, measured by QA sampling."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="How far back (default 30).")
        parser.add_argument("--queue", action="append", default=[], help="A queue slug.")

    def handle(self, *args: object, days: int, queue: list[str], **opts: object) -> None:
        until = timezone.now()
        since = until - dt.timedelta(days=days)
        queues = Queue.objects.filter(slug__in=queue) if queue else Queue.objects.all()
        for q in queues.order_by("slug"):
            self.stdout.write(f"{q.slug}: {escaped_errors(queue=q, since=since, until=until)}")
