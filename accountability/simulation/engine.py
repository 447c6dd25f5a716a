"""The engine: simulated weeks of operation, driven through the real services.

A discrete-event loop over simulated time. Outputs arrive in small batches through
review.services.items_ingest (QA sampling is the real routing's, with a seeded rng);
reviewers on shift claim with lease_claim_next at the simulated moment and decide with
item_decide when their handle time has passed, reporting their active time; escalations and
SLA breaches (items_flag_breached, hourly) go to leads, who claim them with
lease_claim_escalated; a share of the wrong outputs that were auto-accepted is found
downstream a few days later and overridden by a lead (item_override); once a week the lead
policy may move each queue's thresholds through queue_apply. The SimClock moves
timezone.now() for every service that reads the time itself.

Double review draws from the global `random` (review.services.decisions), so run() seeds it:
same seed, same run.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accountability.audit import Actor
from accountability.simulation.agents import MISTAKES
from accountability.simulation.clock import SimClock, arrival_times, day_volume
from accountability.simulation.content import Lane, SimItem, make_item
from accountability.simulation.policy import LeadPolicy
from accountability.simulation.reviewers import FieldSeen, ReviewerModel, ReviewOutcome
from agents.models import Agent
from agents.payload import parse_item
from review import services
from review.models import Item, Lease, Queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Agents send what they produced every two hours, as one batch (one items_ingest call each:
# its cost is mostly per call, so this keeps long simulations fast).
INGEST_MINUTES = 120
SLA_SWEEP = dt.timedelta(hours=1)
# When the lead looks at last week's figures and tunes thresholds (Monday morning).
TUNING_AT = dt.timedelta(hours=7)


class SimulationError(Exception):
    """The simulation cannot run as asked (it would mix with items it did not make)."""


@dataclass
class Person:
    user: User
    model: ReviewerModel
    queues: list[Queue]


@dataclass
class Stream:
    """One lane of outputs, with the agent and queue it runs on in the database."""

    lane: Lane
    agent: Agent
    queue: Queue
    next_index: int = 1


@dataclass
class Cast:
    streams: list[Stream]
    reviewers: list[Person]
    leads: list[Person]

    def queues(self) -> list[Queue]:
        return list({stream.queue.pk: stream.queue for stream in self.streams}.values())


@dataclass(frozen=True)
class Plan:
    start: dt.datetime  # aware; weeks count from here
    end: dt.datetime
    items_per_day: float  # mean over a week, all lanes together
    seed: int
    policy: LeadPolicy | None = None
    id_prefix: str = ""  # external ids are f"{id_prefix}{agent id prefix}-{index:06d}"
    first_index: int = 1
    discovery_rate: float = 0.3  # share of escaped errors found downstream and overridden

    @property
    def weeks(self) -> int:
        return -(-(self.end - self.start) // dt.timedelta(weeks=1))


@dataclass
class Result:
    items: dict[tuple[int, str], SimItem]  # (agent id, external id) -> what was sent, and truth
    counts: Counter[str] = field(default_factory=Counter)
    policy_changes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time the run took

    def is_wrong(self, agent_id: int, external_id: str) -> bool:
        item = self.items.get((agent_id, external_id))
        return item is not None and item.wrong


@dataclass(order=True)
class _Event:
    at: dt.datetime
    seq: int
    action: Callable[..., None] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())
    finishing: bool = field(compare=False, default=False)  # runs even after the end


class Simulation:
    def __init__(self, plan: Plan, cast: Cast, clock: SimClock) -> None:
        self.plan, self.cast, self.clock = plan, cast, clock
        self.result = Result(items={})
        self.rng = random.Random(f"{plan.seed}/simulation")
        self.routing_rng = random.Random(f"{plan.seed}/routing")
        self._events: list[_Event] = []
        self._seq = itertools.count()
        self._idle: set[int] = set()  # indexes into cast.reviewers
        # Claims are a costly call, and most would find nothing: the engine keeps its own
        # estimate of what waits per queue (id -> items), and remembers (reviewer index, queue
        # id) whose last claim found nothing, to ask again only once something new waits.
        self._waiting: Counter[int] = Counter()
        # Due times of the items routed to people that nobody has claimed yet (item id ->
        # due_at): the SLA job only runs when one of them may have passed it.
        self._due: dict[int, dt.datetime] = {}
        self._nothing_for: set[tuple[int, int]] = set()
        self._idle_leads: set[int] = set()
        self._streams_by_agent = {stream.agent.pk: stream for stream in cast.streams}
        for stream in cast.streams:
            stream.next_index = max(stream.next_index, plan.first_index)

    # --- the loop ------------------------------------------------------------------------

    def run(self) -> Result:
        started = time.perf_counter()
        random.seed(f"{self.plan.seed}/double-review")
        day = self.plan.start
        while day < self.plan.end:
            self._at(day, self._plan_day)
            day += dt.timedelta(days=1)
        for week in range(1, self.plan.weeks):
            self._at(self.plan.start + dt.timedelta(weeks=week) + TUNING_AT, self._tune)
        self._at(self.plan.start + SLA_SWEEP, self._sweep)
        for index in range(len(self.cast.reviewers)):
            self._at(self.plan.start, self._reviewer_free, index)
        for index in range(len(self.cast.leads)):
            self._at(self.plan.start, self._lead_free, index)
        while self._events:
            event = heapq.heappop(self._events)
            if event.at >= self.plan.end and not event.finishing:
                continue
            self.clock.move_to(event.at)
            event.action(event.at, *event.args)
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _at(self, moment: dt.datetime, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._events, _Event(moment, next(self._seq), action, args))

    def _finish_at(self, moment: dt.datetime, action: Callable[..., None], *args: Any) -> None:
        """Work in hand: done even if the simulated period ends first."""
        heapq.heappush(self._events, _Event(moment, next(self._seq), action, args, True))

    # --- arrivals --------------------------------------------------------------------------

    def _plan_day(self, now: dt.datetime) -> None:
        """Draw the day's arrivals and schedule them as batches, one per lane and slot."""
        streams = self.cast.streams
        count = day_volume(now.date(), self.plan.items_per_day, self.rng)
        weights = [stream.lane.weight for stream in streams]
        batches: dict[tuple[dt.datetime, int], int] = Counter()
        for moment in arrival_times(now.date(), count, self.rng, now.tzinfo):
            lane = self.rng.choices(range(len(streams)), weights=weights)[0]
            minutes = (moment - now) // dt.timedelta(minutes=1)
            slot = now + dt.timedelta(minutes=(minutes // INGEST_MINUTES + 1) * INGEST_MINUTES)
            batches[(slot, lane)] += 1
        for (slot, lane), size in sorted(batches.items()):
            self._at(slot, self._ingest, lane, size)

    def _ingest(self, now: dt.datetime, lane: int, size: int) -> None:
        stream = self.cast.streams[lane]
        made = []
        for _ in range(size):
            index = stream.next_index
            stream.next_index += 1
            external_id = f"{self.plan.id_prefix}{stream.lane.agent.id_prefix}-{index:06d}"
            made.append(
                make_item(
                    stream.lane,
                    queue=stream.queue.slug,
                    external_id=external_id,
                    index=index,
                    day=now.date(),
                    seed=self.plan.seed,
                )
            )
        payloads = []
        for item in made:
            parsed, errors = parse_item(item.payload)
            if parsed is None:
                raise SimulationError(f"{item.external_id}: invalid payload {errors}")
            payloads.append(parsed)
        results = services.items_ingest(agent=stream.agent, payloads=payloads, rng=self.routing_rng)
        waiting = 0
        for item, result in zip(made, results, strict=True):
            if result.outcome != services.IngestOutcome.CREATED:
                raise SimulationError(
                    f"{item.external_id} in {stream.queue.slug}: {result.outcome} "
                    f"{result.message or result.errors} (ids used before? simulate under "
                    "another prefix, or in a fresh database)"
                )
            self.result.items[(stream.agent.pk, item.external_id)] = item
            self.result.counts["items"] += 1
            status = result.item.status
            self.result.counts[f"routed {status}"] += 1
            if status == Item.Status.PENDING:
                waiting += 1
                self._due[result.item.pk] = result.item.due_at
            if status == Item.Status.AUTO_ACCEPTED and item.wrong:
                self._maybe_found_downstream(now, result.item.pk, item, stream.queue)
        if waiting:
            self._wake_reviewers(now, stream.queue, waiting)

    # --- reviewers -------------------------------------------------------------------------

    def _reviewer_free(self, now: dt.datetime, index: int) -> None:
        person = self.cast.reviewers[index]
        if not self._working(now, person, self._reviewer_free, index):
            return
        queues = [
            q
            for q in person.queues
            if self._waiting[q.pk] > 0 and (index, q.pk) not in self._nothing_for
        ]
        self.rng.shuffle(queues)
        for queue in queues:
            lease = services.lease_claim_next(queue=queue, reviewer=person.user, now=now)
            if lease is not None:
                self._waiting[queue.pk] -= 1
                self._due.pop(lease.item_id, None)
                self._start_review(now, person, lease, queue, lead=False, index=index)
                return
            # Nothing (for this reviewer: an item waiting for its second review is not theirs).
            self._nothing_for.add((index, queue.pk))
            self._waiting[queue.pk] = 0
        self._idle.add(index)

    def _lead_free(self, now: dt.datetime, index: int) -> None:
        person = self.cast.leads[index]
        if not self._working(now, person, self._lead_free, index):
            return
        item = (
            Item.objects.filter(queue__in=person.queues)
            .claimable(now, status=Item.Status.ESCALATED)
            .select_related("queue")
            .order_by("due_at", "id")
            .first()
        )
        if item is None:
            self._idle_leads.add(index)
            return
        lease = services.lease_claim_escalated(item=item, lead=person.user, now=now)
        self._start_review(now, person, lease, item.queue, lead=True, index=index)

    def _working(self, now: dt.datetime, person: Person, again: Callable, index: int) -> bool:
        """Whether person works now; if not, come back at their next shift."""
        on_shift = person.model.next_on_shift(now)
        if on_shift is None or on_shift >= self.plan.end:
            return False
        if on_shift > now:
            self._at(on_shift, again, index)
            return False
        return True

    def _start_review(
        self, now: dt.datetime, person: Person, lease: Lease, queue: Queue, *, lead: bool,
        index: int,
    ) -> None:  # fmt: skip
        """Work out the decision now; record it once the handle time has passed."""
        then = self._lead_free if lead else self._reviewer_free
        item = lease.item
        outcome = self.plan_review(item, person.model, queue, lead=lead)
        if outcome is None:
            services.lease_release(
                item_id=item.pk,
                reviewer=person.user,
                lease_token=lease.token,
                reason="The simulation only decides the items it sent.",
            )
            # Such an item would come back first at every claim: stop for the day.
            self._at(now + dt.timedelta(days=1), then, index)
            return
        moment = now + dt.timedelta(seconds=outcome.seconds)
        self._finish_at(moment, self._decide, person, lease, outcome, then, index)

    def plan_review(
        self, item: Item, model: ReviewerModel, queue: Queue, *, lead: bool = False
    ) -> ReviewOutcome | None:
        """What model decides on item, from the truth this simulation knows; None for an item
        it did not send."""
        sent = self.result.items.get((item.agent_id, item.external_id))
        stream = self._streams_by_agent.get(item.agent_id)
        if sent is None or stream is None:
            return None
        seen = [
            FieldSeen(name, guess.value, sent.truth[name], guess.mistake)
            for name, guess in sent.guesses.items()
        ]
        typical = stream.lane.agent.review_seconds * (1.5 if lead else 1.0)
        return model.review(
            seen,
            typical_seconds=typical,
            rng=self.rng,
            reject=sent.reject,
            may_escalate=not lead,
            max_seconds=queue.lease_minutes * 60 - 30,
        )

    def _decide(
        self, now: dt.datetime, person: Person, lease: Lease, outcome: ReviewOutcome,
        then: Callable, index: int,
    ) -> None:  # fmt: skip
        review = services.item_decide(
            item_id=lease.item_id,
            reviewer=person.user,
            lease_token=lease.token,
            decision=outcome.decision,
            fields=verdicts_in(outcome),
            reason=outcome.reason,
            comment=outcome.comment,
            active_seconds=outcome.active_seconds,
        )
        self.result.counts[f"review {outcome.decision}"] += 1
        self.result.counts["missed by reviewers"] += outcome.missed
        status = review.item.status
        if status == Item.Status.PENDING:  # waits for a blind second review
            self._due[review.item.pk] = review.item.due_at
            self._wake_reviewers(now, review.item.queue)
        elif status == Item.Status.ESCALATED:
            self._wake_leads(now, review.item.queue)
        pause = self.rng.uniform(*person.model.settle_seconds)
        self._at(now + dt.timedelta(seconds=pause), then, index)

    def _wake_reviewers(self, now: dt.datetime, queue: Queue, items: int = 1) -> None:
        """New work in queue: everyone may look there again; as many idle reviewers as there
        are new items come to take it."""
        self._waiting[queue.pk] += items
        reviewers = self.cast.reviewers
        working = [i for i in range(len(reviewers)) if queue in reviewers[i].queues]
        for index in working:
            self._nothing_for.discard((index, queue.pk))
        idle = [index for index in working if index in self._idle]
        self.rng.shuffle(idle)
        for index in idle[:items]:
            self._idle.discard(index)
            later = now + dt.timedelta(seconds=self.rng.uniform(5, 90))
            self._at(later, self._reviewer_free, index)

    def _wake_leads(self, now: dt.datetime, queue: Queue | None = None) -> None:
        for index in sorted(self._idle_leads):
            lead = self.cast.leads[index]
            if queue is None or queue in lead.queues:
                self._idle_leads.discard(index)
                later = now + dt.timedelta(minutes=self.rng.uniform(1, 20))
                self._at(later, self._lead_free, index)

    # --- leads -----------------------------------------------------------------------------

    def _sweep(self, now: dt.datetime) -> None:
        """The SLA beat job, hourly here: waiting items past their due time go to the leads."""
        # Only when something may be overdue: an empty run of the job costs queries for nothing.
        overdue = [pk for pk, due in self._due.items() if due <= now]
        breached = services.items_flag_breached(now=now) if overdue else 0
        for pk in overdue:
            del self._due[pk]
        if breached:
            self.result.counts["sla breached"] += breached
            self._wake_leads(now)
        self._at(now + SLA_SWEEP, self._sweep)

    def _maybe_found_downstream(
        self, now: dt.datetime, item_id: int, sent: SimItem, queue: Queue
    ) -> None:
        """Some wrong outputs nobody reviewed are found later, by whoever uses them."""
        if self.rng.random() < self.plan.discovery_rate:
            later = now + dt.timedelta(hours=self.rng.uniform(20, 120))
            self._at(later, self._override, item_id, sent, queue)

    def _override(self, now: dt.datetime, item_id: int, sent: SimItem, queue: Queue) -> None:
        lead = next((p for p in self.cast.leads if queue in p.queues), None)
        if lead is None:
            return
        on_shift = lead.model.next_on_shift(now)
        if on_shift is None or on_shift >= self.plan.end:
            return
        if on_shift > now:
            self._at(on_shift + dt.timedelta(minutes=self.rng.uniform(0, 120)), self._override,
                     item_id, sent, queue)  # fmt: skip
            return
        item = Item.objects.get(pk=item_id)
        if item.status != Item.Status.AUTO_ACCEPTED:
            return
        wrong = [
            services.FieldVerdictIn(
                name, "corrected", sent.truth[name], correction_reason=MISTAKES[guess.mistake]
            )
            for name, guess in sent.guesses.items()
            if not guess.correct
        ]
        services.item_override(
            item=item,
            lead=lead.user,
            decision="reject" if sent.reject else "approve",
            fields=[] if sent.reject else wrong,
            reason="Found wrong downstream after it was accepted without review.",
        )
        self.result.counts["overrides"] += 1

    def _tune(self, now: dt.datetime) -> None:
        if self.plan.policy is None:
            return
        for queue in self.cast.queues():
            queue.refresh_from_db()
            lead = next((p for p in self.cast.leads if queue in p.queues), None)
            actor = Actor.user(lead.user) if lead else Actor.system("simulation")
            reason = self.plan.policy.tune(queue=queue, now=now, actor=actor)
            if reason:
                queue.refresh_from_db()
                self.result.policy_changes.append(f"{now:%Y-%m-%d} {queue.slug}: {reason}")


def verdicts_in(outcome: ReviewOutcome) -> list[services.FieldVerdictIn]:
    return [
        services.FieldVerdictIn(v.name, v.verdict, v.value, correction_reason=v.correction_reason)
        if v.verdict == "corrected"
        else services.FieldVerdictIn(v.name, v.verdict)
        for v in outcome.verdicts
    ]
