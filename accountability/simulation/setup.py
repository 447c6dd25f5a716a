"""Who is simulated: the agents' true accuracies, the people, and the queues' starting policy.

Two casts: the demo's own people, queues and agents (seed_demo's history), and a sandbox under
a prefix (manage.py simulate), so a simulation never mixes with anyone's real items.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from accountability import demo
from accountability.audit import Actor
from accountability.simulation.agents import AgentModel, Profile
from accountability.simulation.content import Lane
from accountability.simulation.engine import Cast, Person, Plan, SimulationError, Stream
from accountability.simulation.policy import EscapedErrorStepPolicy
from accountability.simulation.reviewers import ReviewerModel, Shift, team_of
from agents import services as agent_services
from agents.models import Agent
from review import services as review_services
from review.models import Item, Queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# True accuracy of each demo agent per field: the easy identifiers nearly always right, dates,
# amounts and codes (with their decoys on the same page) less so.
FIELD_ACCURACY: dict[str, dict[str, float]] = {
    "fnol-extractor": {
        "policy_number": 0.998, "loss_date": 0.98, "amount": 0.98, "claim_type": 0.995,
        "claimant_name": 0.995,
    },
    "invoice-reader": {
        "supplier_name": 0.998, "invoice_number": 0.99, "invoice_date": 0.985,
        "due_date": 0.985, "total_amount": 0.98, "currency": 0.998, "vat_number": 0.99,
    },
    "clinical-coder": {
        "patient_id": 0.998, "encounter_date": 0.98, "primary_icd10": 0.97,
        "secondary_icd10": 0.975, "procedure_cpt": 0.98, "discharge_disposition": 0.99,
    },
}  # fmt: skip
# How spread each agent's certainty is (see AgentModel.sharpness).
SHARPNESS = {"fnol-extractor": 40.0, "invoice-reader": 40.0, "clinical-coder": 25.0}

# A new queue starts cautious: every threshold high, and a large QA share so that the escaped
# errors of the little that is automated can be measured from the first weeks.
START_THRESHOLD = 0.99
START_QA_SAMPLE_RATE = 0.15

# The demo's people at work: speed, slips, shifts (hours from midnight, Monday = 0).
DEMO_REVIEWERS = {
    "reviewer1": ReviewerModel("reviewer1", speed=0.9, miss_rate=0.02, shifts=(Shift(8, 16.5),)),
    "reviewer2": ReviewerModel("reviewer2", speed=1.15, miss_rate=0.04, shifts=(Shift(9, 17.5),)),
    "reviewer3": ReviewerModel(
        "reviewer3",
        speed=1.0,
        miss_rate=0.03,
        shifts=(Shift(10, 18.5), Shift(10, 14, frozenset({5, 6}))),  # and weekend mornings
    ),
}
DEMO_LEADS = {
    "lead1": ReviewerModel("lead1", speed=1.0, miss_rate=0.0, escalate_rate=0.0,
                           shifts=(Shift(8.5, 17),)),
}  # fmt: skip


def demo_plan(*, start: dt.datetime, end: dt.datetime, items_per_day: float, seed: int) -> Plan:
    """The demo's history: its lead moves thresholds by the QA-measured escaped errors (the
    threshold advice needs more labels than these volumes give to move the hard fields)."""
    return Plan(
        start=start,
        end=end,
        items_per_day=items_per_day,
        seed=seed,
        policy=EscapedErrorStepPolicy(),
        first_index=demo.HISTORY_FIRST_INDEX,
    )


def agent_model(slug: str, profile: Profile = Profile.HONEST) -> AgentModel:
    return AgentModel(
        profile=profile,
        accuracy=0.98,
        field_accuracy=FIELD_ACCURACY.get(slug, {}),
        sharpness=SHARPNESS.get(slug, 30.0),
    )


def cautious(spec: dict[str, Any], target_error_rate: float | None = None) -> dict[str, Any]:
    """spec as a queue starts out: every field has its own, high threshold."""
    if target_error_rate is not None:
        spec = {**spec, "target_error_rate": target_error_rate}
    return {
        **spec,
        "default_threshold": START_THRESHOLD,
        "qa_sample_rate": max(spec.get("qa_sample_rate", 0.0), START_QA_SAMPLE_RATE),
        "fields": [{**field, "threshold": START_THRESHOLD} for field in spec["fields"]],
    }


def demo_cast(
    *, users: dict[str, User], queues: dict[str, Queue], agents: dict[str, Agent]
) -> Cast:
    """The demo's agents, reviewers and lead, each working the queues the demo gives them."""
    streams = [
        Stream(Lane(spec, agent_model(spec.slug)), agents[spec.slug], queues[spec.queue])
        for spec in demo.AGENTS
    ]

    def people(models: dict[str, ReviewerModel], role: str) -> list[Person]:
        return [
            Person(users[name], model, [queues[q["slug"]] for q in demo.QUEUES if name in q[role]])
            for name, model in models.items()
        ]

    return Cast(streams, people(DEMO_REVIEWERS, "reviewers"), people(DEMO_LEADS, "leads"))


PROFILES = [profile.value for profile in Profile]


def sandbox_cast(
    *,
    prefix: str,
    queue_slugs: list[str],
    profile: str,
    reviewers: int,
    seed: int,
    target_error_rate: float | None = None,
) -> Cast:
    """People, queues and agents named f"{prefix}-...", made for a simulation of the demo's
    queues. Refuses when those queues have items already.

    profile is one of PROFILES, or "mixed" (the agents take the profiles in turn).
    """
    specs = [spec for spec in demo.AGENTS if spec.queue in queue_slugs]
    names = {f"{prefix}-{slug}" for slug in queue_slugs}
    if Item.objects.filter(queue__slug__in=names).exists():
        raise SimulationError(
            f"queues {', '.join(sorted(names))} have items already: simulate under another "
            "--prefix, or in a fresh database"
        )
    actor = Actor.system("manage.py simulate")
    rng = random.Random(f"{seed}/team")
    team = team_of(reviewers, rng)
    lead_model = ReviewerModel(f"{prefix}-lead", miss_rate=0.0, escalate_rate=0.0,
                               shifts=(Shift(8.5, 17),))  # fmt: skip
    users = _users([f"{prefix}-{model.name}" for model in team] + [lead_model.name])
    queues = {}
    for slug in queue_slugs:
        spec = {
            **cautious(demo.queue_spec(slug), target_error_rate),
            "slug": f"{prefix}-{slug}",
            "reviewers": [f"{prefix}-{model.name}" for model in team],
            "leads": [lead_model.name],
        }
        queues[slug], _ = review_services.queue_apply(spec=spec, actor=actor, reason="simulation")
    streams = []
    for turn, spec in enumerate(specs):
        chosen = PROFILES[turn % len(PROFILES)] if profile == "mixed" else profile
        agent = Agent.objects.filter(slug=f"{prefix}-{spec.slug}").first()
        if agent is None:
            agent = agent_services.agent_create(
                slug=f"{prefix}-{spec.slug}",
                name=f"{spec.name} (simulated, {chosen})",
                owner=users[lead_model.name],
                team=spec.team,
                queues=[queues[spec.queue]],
                actor=actor,
            )
        lane = Lane(spec, agent_model(spec.slug, Profile(chosen)))
        streams.append(Stream(lane, agent, queues[spec.queue]))
    everyone = list(queues.values())
    people = [Person(users[f"{prefix}-{model.name}"], model, everyone) for model in team]
    return Cast(streams, people, [Person(users[lead_model.name], lead_model, everyone)])


def _users(usernames: list[str]) -> dict[str, User]:
    User = get_user_model()
    unusable = make_password(None)  # simulated people never log in
    return {
        name: User.objects.get_or_create(username=name, defaults={"password": unusable})[0]
        for name in usernames
    }
