"""manage.py seed_demo: demo people, queues, agents, weeks of history, and today's outputs.

Everything goes through the services the API and the pages use, so demo items carry the same
assessment, routing and audit trail as real traffic. First, on a database whose demo queues
have no items yet, it simulates --history-weeks of operation in simulated time
(accountability.simulation): the queues start cautious, the demo reviewers work their shifts,
the lead handles escalations and tunes thresholds every Monday. Then today's outputs arrive. A
share of those send their source as a PDF or a scan (accountability.demo.delivery), some
uploaded first and referred to by id, some inline. Safe to run twice: people and agents are
reused, files are found by their content, items replay by their external ids, the history is
only simulated into empty queues, and today's reviews only added to queues that have none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accountability import demo
from accountability.audit import Actor
from accountability.simulation import report, setup
from accountability.simulation.clock import SimClock
from accountability.simulation.engine import Simulation, verdicts_in
from agents import services as agent_services
from agents.models import Agent
from agents.payload import ItemIn, parse_item
from review import services as review_services
from review.documents.intake import document_store
from review.models import Document, Item, Queue, Review

if TYPE_CHECKING:
    from django.contrib.auth.models import User

URL = "http://127.0.0.1:8000/"
# items_ingest writes a batch in one transaction; 50 is the size agents are advised to send.
BATCH = 50


class Command(BaseCommand):
    help = "Load demo users, queues, agents and items for trying the app. Safe to run twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=120, help="Items per queue (default 120).")
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help="Seed for the generated content. Keep it the same between runs: other content "
            "under the same external ids is refused as a conflict.",
        )
        parser.add_argument(
            "--history-weeks",
            type=int,
            default=demo.HISTORY_WEEKS,
            help=f"Weeks of simulated history before today (default {demo.HISTORY_WEEKS}; 0 "
            "for none). Only simulated into demo queues that have no items yet.",
        )
        parser.add_argument(
            "--history-items-per-day",
            type=float,
            default=demo.HISTORY_ITEMS_PER_DAY,
            help=f"Outputs per day in the history, all agents together (default "
            f"{demo.HISTORY_ITEMS_PER_DAY:g}).",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="Print only the tokens of new agents."
        )

    def handle(
        self,
        *args: Any,
        items: int,
        seed: int,
        quiet: bool,
        history_weeks: int,
        history_items_per_day: float,
        **options: Any,
    ) -> None:
        if items < 0:
            raise CommandError("--items must be 0 or more")
        if history_weeks < 0 or history_items_per_day <= 0:
            raise CommandError("--history-weeks must be 0 or more, --history-items-per-day > 0")
        self.quiet = quiet
        started = time.monotonic()
        actor = Actor.system("seed_demo")
        now = timezone.now()
        history = None
        # One transaction: a failed run leaves nothing half-seeded, and SQLite commits once.
        # Files are processed when it commits (eagerly, in this process, without a worker), and
        # only then are their items routed: the seeded history decides text items only, and
        # every PDF and scan is left for people to try.
        with quiet_task_log(), transaction.atomic():
            start = self.history_start(now, history_weeks)
            # With a history, people, queues and agents are made when it starts.
            with SimClock(start) if start else nullcontext() as clock:
                users = self.ensure_users()
                queues = self.ensure_queues(actor, cautious=start is not None)
                agents, tokens = self.ensure_agents(users, queues, actor)
                if start:
                    history = self.simulate(clock, start, now, users, queues, agents, seed,
                                            history_items_per_day)  # fmt: skip
            for spec in demo.AGENTS:
                generated = demo.generate(spec, count=items, seed=seed)
                self.ingest(agents[spec.slug], generated, seed)
                self.add_history(queues[spec.queue], generated, users, seed, history)
        # Tokens only once the transaction has committed: a rolled-back token would not work.
        for slug, raw in tokens.items():
            self.stdout.write(f"Token for agent {slug} (shown once, store it now): {raw}")
        self.summary(queues, time.monotonic() - started)

    def say(self, message: str = "") -> None:
        if not self.quiet:
            self.stdout.write(message)

    def ensure_users(self) -> dict[str, User]:
        User = get_user_model()
        users: dict[str, User] = {}
        # Hashing is slow on purpose (about 0.3 s each); one hash serves every new account.
        password_hash = make_password(demo.DEMO_PASSWORD)
        for spec in demo.USERS:
            user, created = User.objects.get_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "email": f"{spec.username}@demo.example",
                    "is_staff": spec.is_superuser,
                    "is_superuser": spec.is_superuser,
                },
            )
            if created:
                # Only on creation: a rerun must not reset a password someone has changed.
                user.password = password_hash
                user.save(update_fields=["password"])
            self.say(f"User {spec.username}: {'created' if created else 'exists, left as it is'}")
            users[spec.username] = user
        return users

    def ensure_queues(self, actor: Actor, *, cautious: bool = False) -> dict[str, Queue]:
        """The demo queues; new ones start with cautious thresholds when a history follows."""
        queues: dict[str, Queue] = {}
        for spec in demo.QUEUES:
            queue = Queue.objects.filter(slug=spec["slug"]).first()
            if queue is None:
                spec = setup.cautious(spec) if cautious else spec
                queue, _ = review_services.queue_apply(spec=spec, actor=actor)
                self.say(f"Queue {queue.slug}: created")
            else:
                # Reapplying would undo thresholds a lead has tried out since; leave it be.
                self.say(f"Queue {queue.slug}: exists, left as it is")
            queues[queue.slug] = queue
        return queues

    def ensure_agents(
        self, users: dict[str, User], queues: dict[str, Queue], actor: Actor
    ) -> tuple[dict[str, Agent], dict[str, str]]:
        agents: dict[str, Agent] = {}
        tokens: dict[str, str] = {}
        for spec in demo.AGENTS:
            agent = Agent.objects.filter(slug=spec.slug).first()
            if agent is None:
                owner = users[spec.owner]
                agent = agent_services.agent_create(
                    slug=spec.slug,
                    name=spec.name,
                    owner=owner,
                    team=spec.team,
                    queues=[queues[spec.queue]],
                    actor=actor,
                )
                _, tokens[spec.slug] = agent_services.agent_token_create(
                    agent=agent, name="seed_demo", created_by=owner, actor=actor
                )
                self.say(f"Agent {spec.slug}: created, owned by {spec.owner} ({spec.team})")
            else:
                self.say(
                    f"Agent {spec.slug}: exists; its tokens are not shown again "
                    f"(manage.py createagent {spec.slug} --owner {spec.owner} adds a new one)"
                )
            agents[spec.slug] = agent
        return agents, tokens

    def ingest(self, agent: Agent, generated: list[demo.DemoItem], seed: int) -> None:
        # Seeded so the QA sample drawn among auto-accept candidates is the same every time.
        rng = random.Random(f"{seed}/{agent.slug}/routing")
        outcomes: Counter[str] = Counter()
        for start in range(0, len(generated), BATCH):
            batch = generated[start : start + BATCH]
            payloads = [_parsed(self.payload(agent, item)) for item in batch]
            results = review_services.items_ingest(agent=agent, payloads=payloads, rng=rng)
            outcomes.update(result.outcome for result in results)
            for result in results:
                if result.outcome in (
                    review_services.IngestOutcome.INVALID,
                    review_services.IngestOutcome.FORBIDDEN,
                ):
                    raise CommandError(f"{agent.slug}: {result.message or result.errors}")
        counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.say(f"Items from {agent.slug}: {len(generated)} sent ({counts or 'none'})")
        if files := [item.file for item in generated if item.file]:
            uploaded = sum(file.upload for file in files)
            self.say(
                f"  their sources: {len(generated) - len(files)} text, {uploaded} files uploaded "
                f"first, {len(files) - uploaded} files inline"
            )
        if conflicts := outcomes[review_services.IngestOutcome.CONFLICT]:
            self.stderr.write(
                f"{conflicts} items of {agent.slug} already exist with other content (seeded "
                "with another --seed?); they were left as they were."
            )

    def payload(self, agent: Agent, item: demo.DemoItem) -> dict[str, Any]:
        """The payload as the agent sends it: a file meant to be uploaded goes first, and the
        item refers to it by id."""
        file = item.file
        if file is None or not file.upload:
            return item.payload
        # Found by content on a rerun, so the item sends the same id and replays. Storing it
        # again would do no harm either, but would audit one more upload per file.
        sha256 = hashlib.sha256(file.data).hexdigest()
        document = Document.objects.filter(sha256=sha256, agents=agent).first()
        if document is None:
            document, _ = document_store(
                data=file.data, filename=file.filename, agent=agent, actor=Actor.agent(agent)
            )
        return {**item.payload, "documents": [{"key": file.key, "document_id": document.pk}]}

    def history_start(self, now: dt.datetime, weeks: int) -> dt.datetime | None:
        """Monday 00:00 `weeks` weeks before this week's, if a history is to be simulated:
        only into demo queues that have no items at all."""
        slugs = [spec["slug"] for spec in demo.QUEUES]
        if not weeks or Item.objects.filter(queue__slug__in=slugs).exists():
            if weeks:
                self.say("History: the demo queues have items already, left as they are")
            return None
        today = timezone.localdate(now)
        monday = today - dt.timedelta(days=today.weekday(), weeks=weeks)
        return dt.datetime.combine(monday, dt.time(), tzinfo=timezone.get_current_timezone())

    def simulate(
        self,
        clock: SimClock,
        start: dt.datetime,
        end: dt.datetime,
        users: dict[str, User],
        queues: dict[str, Queue],
        agents: dict[str, Agent],
        seed: int,
        items_per_day: float,
    ) -> Simulation:
        """Weeks of operation up to now, through the services, in simulated time."""
        plan = setup.demo_plan(start=start, end=end, items_per_day=items_per_day, seed=seed)
        cast = setup.demo_cast(users=users, queues=queues, agents=agents)
        simulation = Simulation(plan, cast, clock)
        result = simulation.run()
        rows = report.week_rows(
            queues=list(queues.values()), start=start, weeks=plan.weeks, is_wrong=result.is_wrong
        )
        self.say(f"History: {result.counts['items']} items over {plan.weeks} weeks from "
                 f"{start:%Y-%m-%d}, simulated in {result.seconds:.1f} s")  # fmt: skip
        self.say(report.table(rows))
        for change in result.policy_changes:
            self.say(f"  policy {change}")
        return simulation

    def add_history(
        self,
        queue: Queue,
        generated: list[demo.DemoItem],
        users: dict[str, User],
        seed: int,
        history: Simulation | None = None,
    ) -> None:
        """Decide a share of the waiting items as the queue's reviewers would, on the first run.

        Items left waiting by the simulated history are decided by its reviewer models."""
        by_external_id = {item.external_id: item for item in generated}
        today = Item.objects.filter(queue=queue, external_id__in=list(by_external_id))
        if Review.objects.filter(item__in=today).exists():
            self.say(f"Today in {queue.slug}: reviewed already, left as it is")
            return
        reviewers = [users[name] for name in demo.queue_spec(queue.slug)["reviewers"]]
        rng = random.Random(f"{seed}/{queue.slug}/history")
        waiting = Item.objects.filter(queue=queue, status=Item.Status.PENDING).count()
        decided: Counter[str] = Counter()
        for turn in range(round(waiting * demo.DECIDED_SHARE)):
            reviewer = reviewers[turn % len(reviewers)]
            lease = review_services.lease_claim_next(queue=queue, reviewer=reviewer)
            if lease is None:
                break
            item = by_external_id.get(lease.item.external_id)
            if item is not None and lease.item.agent.slug == item.agent.slug:
                plan = demo.review_plan(item, rng)
            else:
                plan = self.history_plan(history, lease.item, reviewer, queue)
            if plan is None:
                # Not an item this command generated, so there is no truth to decide it by.
                review_services.lease_release(
                    item_id=lease.item_id,
                    reviewer=reviewer,
                    lease_token=lease.token,
                    reason="seed_demo only decides its own demo items",
                )
                break
            review_services.item_decide(
                item_id=lease.item_id,
                reviewer=reviewer,
                lease_token=lease.token,
                decision=plan.decision,
                fields=plan.fields,
                reason=plan.reason,
                comment=plan.comment,
                active_seconds=plan.active_seconds,
            )
            decided[plan.decision] += 1
        self.say(
            f"Today in {queue.slug}: {decided['approve']} approved, {decided['reject']} "
            f"rejected by {', '.join(r.username for r in reviewers)}"
        )

    def history_plan(
        self, history: Simulation | None, item: Item, reviewer: User, queue: Queue
    ) -> demo.ReviewPlan | None:
        """How reviewer decides an item the simulated history left waiting (None: not one)."""
        model = setup.DEMO_REVIEWERS.get(reviewer.username)
        outcome = history.plan_review(item, model, queue) if history and model else None
        if outcome is None:
            return None
        return demo.ReviewPlan(
            outcome.decision,
            verdicts_in(outcome),
            outcome.reason,
            outcome.comment,
            outcome.active_seconds,
        )

    def summary(self, queues: dict[str, Queue], seconds: float) -> None:
        self.say()
        self.say(f"Demo data ready in {seconds:.1f} s. Start the server (manage.py runserver),")
        self.say(f"open {URL} and log in as admin, lead1, reviewer1, reviewer2 or reviewer3")
        self.say(f"with the password {demo.DEMO_PASSWORD} (set only on accounts created here).")
        self.say()
        self.say(f"{'queue':<22}{'auto-accepted':>14}{'waiting':>9}{'decided':>9}")
        counts = (
            Item.objects.filter(queue__in=queues.values())
            .values_list("queue__slug", "status")
            .annotate(n=Count("id"))
        )
        by_queue: dict[str, Counter[str]] = {slug: Counter() for slug in queues}
        for slug, status, n in counts:
            by_queue[slug][status] += n
        for slug, by_status in by_queue.items():
            decided = by_status[Item.Status.APPROVED] + by_status[Item.Status.REJECTED]
            self.say(
                f"{slug:<22}{by_status[Item.Status.AUTO_ACCEPTED]:>14}"
                f"{by_status[Item.Status.PENDING]:>9}{decided:>9}"
            )
        assessing = sum(by_status[Item.Status.ASSESSING] for by_status in by_queue.values())
        if assessing:
            self.say(
                f"{assessing} items wait for their files to be processed; a Celery worker "
                "(make worker) routes them."
            )


@contextmanager
def quiet_task_log() -> Iterator[None]:
    """Eager Celery logs a line per processed file, calibration one per refit; nothing someone
    seeding the demo needs."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


QUIET_LOGGERS = ("celery.app.trace", "agents.calibration.services")


def _parsed(payload: dict[str, Any]) -> ItemIn:
    """The payload as the API would parse it; the demo content must always be valid."""
    item, errors = parse_item(payload)
    if item is None:
        raise CommandError(f"demo payload {payload.get('external_id')} is invalid: {errors}")
    return item
