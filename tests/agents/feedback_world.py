"""Decided items of every kind, made through the real services, for the feedback tests."""

from __future__ import annotations

from dataclasses import dataclass

from accountability.audit import Actor
from agents import services as agent_services
from agents.models import Agent
from agents.payload import parse_item
from review import services
from review.models import Item, Queue
from review.services import FieldVerdictIn, items_ingest
from tests.factories import AgentFactory, QueueFactory, UserFactory, ingest, item_payload

NAMES = ("policy_number", "loss_date", "amount", "claim_type")


def correct(*names: str) -> list[FieldVerdictIn]:
    return [FieldVerdictIn(name, "correct") for name in names]


def decide(
    item: Item,
    reviewer: object,
    decision: str = "approve",
    fields: list[FieldVerdictIn] | None = None,
    reason: str = "",
) -> Item:
    lease = services.lease_claim_next(queue=item.queue, reviewer=reviewer)
    assert lease.item_id == item.pk, "claim the items in the order they were ingested"
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision=decision,
        fields=correct(*NAMES) if fields is None else fields,
        reason=reason,
        active_seconds=12.0,
    )
    item.refresh_from_db()
    return item


def batch(agent: Agent, prefix: str, count: int) -> list[Item]:
    """Auto-accepted in one batch: one decision time for all, so only the id breaks ties."""
    parsed = [
        parse_item(item_payload(external_id=f"{prefix}-{n}", agent_version="v9"))[0]
        for n in range(count)
    ]
    return [result.item for result in items_ingest(agent=agent, payloads=parsed)]


def token_for(agent: Agent) -> str:
    return agent_services.agent_token_create(
        agent=agent, created_by=None, actor=Actor.system("tests")
    )[1]


@dataclass
class World:
    queue: Queue
    agent: Agent
    auto: Item
    corrected: Item
    approved: Item
    rejected: Item
    other_queue: Queue
    other_agent: Agent
    elsewhere: Item  # the other agent's, in the other queue
    lead: object
    other_lead: object


def build_world(*, queue: Queue, agent: Agent, reviewer: object) -> World:
    """In queue "claims" by claims-bot: one auto-accepted, one approved with a correction, one
    approved as sent, one rejected; and one item of another agent in another queue."""
    auto = ingest(agent, confidence=None, external_id="auto-1", agent_version="v2.0")
    corrected = ingest(agent, external_id="corrected-1")
    approved = ingest(agent, external_id="approved-1")
    rejected = ingest(agent, external_id="rejected-1")
    decide(
        corrected,
        reviewer,
        fields=[
            *correct("policy_number", "loss_date"),
            FieldVerdictIn("amount", "corrected", 1205.0, "misread"),
            FieldVerdictIn("claim_type", "undeterminable"),
        ],
    )
    decide(approved, reviewer)
    decide(rejected, reviewer, "reject", fields=[], reason="illegible")
    lead, other_lead = UserFactory(username="lena"), UserFactory(username="leo")
    queue.leads.add(lead)
    other_queue = QueueFactory(slug="invoices", name="Invoices", leads=[other_lead])
    other_agent = AgentFactory(slug="invoice-bot", queues=[other_queue])
    elsewhere = ingest(other_agent, confidence=None, queue="invoices", external_id="inv-1")
    assert {auto.status, elsewhere.status} == {Item.Status.AUTO_ACCEPTED}
    return World(
        queue, agent, auto, corrected, approved, rejected, other_queue, other_agent, elsewhere,
        lead, other_lead,
    )  # fmt: skip
