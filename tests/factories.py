"""factory_boy factories. Items are made through the ingest service where the route matters."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from agents.models import Agent
from review.models import Queue

DEFAULT_SCHEMA = [
    {"name": "policy_number", "type": "string", "required": True, "threshold": 0.95},
    {"name": "loss_date", "type": "date", "required": True},
    {"name": "amount", "type": "number", "required": True},
    {"name": "claim_type", "type": "string", "enum": ["auto", "home", "health"]},
]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.save()


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"queue-{n}")
    name = factory.Sequence(lambda n: f"Queue {n}")
    field_schema = factory.LazyFunction(lambda: [dict(spec) for spec in DEFAULT_SCHEMA])
    default_threshold = 0.85
    qa_sample_rate = 0.0
    sla_minutes = 240
    lease_minutes = 10

    @factory.post_generation
    def reviewers(obj, create: bool, extracted: list | None, **kwargs: object) -> None:  # noqa: N805
        if create and extracted:
            obj.reviewers.set(extracted)

    @factory.post_generation
    def leads(obj, create: bool, extracted: list | None, **kwargs: object) -> None:  # noqa: N805
        if create and extracted:
            obj.leads.set(extracted)


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"agent-{n}")
    name = factory.LazyAttribute(lambda a: a.slug.replace("-", " ").title())
    owner = factory.SubFactory(UserFactory)
    team = "Claims automation"

    @factory.post_generation
    def queues(obj, create: bool, extracted: list | None, **kwargs: object) -> None:  # noqa: N805
        if create and extracted:
            obj.queues.set(extracted)


CLAIM_TEXT = (
    "FIRST NOTICE OF LOSS\n"
    "Policy number: PN-4471-0923\n"
    "Date of loss: 2024-03-02\n"
    "Claimed amount: EUR 1,250.00\n"
    "Type: auto. Rear-end collision at a red light on Rue de Rivoli, Paris.\n"
)


def item_payload(**overrides: object) -> dict:
    """A valid ingest payload for a queue made by QueueFactory; confident and well evidenced."""
    payload = {
        "queue": "claims",
        "external_id": "claim-1",
        "agent_version": "v1.0",
        "documents": [{"key": "form", "content_type": "text/plain", "text": CLAIM_TEXT}],
        "fields": [
            {
                "name": "policy_number",
                "value": "PN-4471-0923",
                "confidence": 0.99,
                "evidence": [{"document": "form", "quote": "PN-4471-0923"}],
            },
            {
                "name": "loss_date",
                "value": "2024-03-02",
                "confidence": 0.97,
                "evidence": [{"document": "form", "quote": "Date of loss: 2024-03-02"}],
            },
            {
                "name": "amount",
                "value": 1250.0,
                "confidence": 0.93,
                "evidence": [{"document": "form", "quote": "EUR 1,250.00"}],
            },
            {
                "name": "claim_type",
                "value": "auto",
                "confidence": 0.95,
                "evidence": [{"document": "form", "quote": "Type: auto"}],
            },
        ],
        "metadata": {"trace_id": "trace-123", "model": "gpt-x", "cost_usd": 0.004},
    }
    payload.update(overrides)
    return payload


def ingest(agent: Agent, *, confidence: float | None = 0.5, **overrides: object):  # noqa: ANN201
    """Ingest one item through the real service; by default it waits for review (low confidence)."""
    from agents.payload import parse_item
    from review.services import items_ingest

    payload = item_payload(**overrides)
    if confidence is not None:
        payload["fields"][2]["confidence"] = confidence
    parsed, errors = parse_item(payload)
    assert not errors, errors
    [result] = items_ingest(agent=agent, payloads=[parsed])
    return result.item


def reject_held(lease, reviewer, reason: str = "checked", **extra: object):  # noqa: ANN001, ANN201
    """Reject the item `lease` holds, as its holder, with a reason and no field verdicts."""
    from review.services import item_decide

    return item_decide(
        item_id=lease.item_id,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="reject",
        fields=[],
        reason=reason,
        **extra,
    )
