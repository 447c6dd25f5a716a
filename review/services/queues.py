"""Queues and their routing policy, created or updated from data (applyqueues, seed_demo)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from accountability.audit import Actor, audit_log
from review import schema
from review.models import Queue, QueuePolicyVersion

QUEUE_KEYS = {
    "slug",
    "name",
    "description",
    "default_threshold",
    "qa_sample_rate",
    "double_review_rate",
    "alternative_margin",
    "sla_minutes",
    "lease_minutes",
    "blind_review",
    "target_error_rate",
    "qa_adaptive_width",
    "fields",
    "reviewers",
    "leads",
}
# What decides routing: a change to any of these is a new policy version.
ROUTING_KEYS = [
    "default_threshold",
    "qa_sample_rate",
    "double_review_rate",
    "alternative_margin",
    "sla_minutes",
    "lease_minutes",
    "blind_review",
    "target_error_rate",  # not routing itself, but what threshold advice aims for
    "qa_adaptive_width",
    "field_schema",
]
# What queue_apply audits: the routing policy and how the queue is named.
POLICY_KEYS = ["name", "description", *ROUTING_KEYS]


def queue_spec_errors(spec: Any) -> dict[str, str]:
    """Every problem in one queue definition, keyed by its path inside the definition."""
    if not isinstance(spec, dict):
        return {"": "each queue must be a mapping"}
    errors: dict[str, str] = {}
    for key in sorted(map(str, set(spec) - QUEUE_KEYS)):
        errors[key] = f"unknown attribute; allowed: {', '.join(sorted(QUEUE_KEYS))}"
    slug = spec.get("slug")
    if not isinstance(slug, str) or not slug or not all(c.isalnum() or c in "-_" for c in slug):
        errors["slug"] = "is required: letters, digits, - and _"
    if not isinstance(spec.get("name"), str) or not spec.get("name", "").strip():
        errors["name"] = "is required"
    for key in ("default_threshold", "qa_sample_rate", "double_review_rate", "alternative_margin"):
        value = spec.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
        ):
            errors[key] = "must be a number between 0 and 1"
    target = spec.get("target_error_rate")
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 1
    ):
        errors["target_error_rate"] = "must be a number more than 0 and less than 1"
    width = spec.get("qa_adaptive_width")
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, int | float) or not 0 < width < 0.5
    ):
        errors["qa_adaptive_width"] = "must be a number more than 0 and less than 0.5, or null"
    for key in ("sla_minutes", "lease_minutes"):
        value = spec.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            errors[key] = "must be a whole number of minutes, at least 1"
    if "blind_review" in spec and not isinstance(spec["blind_review"], bool):
        errors["blind_review"] = "must be true or false"
    fields = spec.get("fields", [])
    if not isinstance(fields, list):
        errors["fields"] = "must be a list of field definitions"
    else:
        names: set[str] = set()
        for index, field in enumerate(fields):
            for attribute, message in schema.spec_errors(field).items():
                errors[f"fields[{index}]{'.' + attribute if attribute else ''}"] = message
            name = field.get("name") if isinstance(field, dict) else None
            if name in names:
                errors[f"fields[{index}].name"] = f"{name!r} is defined twice"
            names.add(name)
    User = get_user_model()
    for key in ("reviewers", "leads"):
        people = spec.get(key, [])
        if not isinstance(people, list) or not all(isinstance(p, str) for p in people):
            errors[key] = "must be a list of usernames"
            continue
        known = set(User.objects.filter(username__in=people).values_list("username", flat=True))
        for index, username in enumerate(people):
            if username not in known:
                errors[f"{key}[{index}]"] = f"no user named {username!r}"
    return errors


def queue_apply(*, spec: dict, actor: Actor, reason: str = "") -> tuple[Queue, bool]:
    """Create or update the queue spec describes (matched by slug). Returns (queue, created).

    Raises ValidationError naming each bad attribute; writes nothing then. Policy changes are
    audited with their old and new values; a routing change is a new policy version, recorded
    with who, when and why (`reason`).
    """
    if errors := queue_spec_errors(spec):
        raise ValidationError({path or "queue": [message] for path, message in errors.items()})
    User = get_user_model()
    values = {
        "name": spec["name"],
        "description": spec.get("description", ""),
        "default_threshold": spec.get("default_threshold", 0.85),
        "qa_sample_rate": spec.get("qa_sample_rate", 0.02),
        "double_review_rate": spec.get("double_review_rate", 0.0),
        "alternative_margin": spec.get("alternative_margin", 0.10),
        "sla_minutes": spec.get("sla_minutes", 240),
        "lease_minutes": spec.get("lease_minutes", 10),
        "blind_review": spec.get("blind_review", False),
        "target_error_rate": spec.get("target_error_rate", 0.01),
        "qa_adaptive_width": spec.get("qa_adaptive_width"),
        "field_schema": spec.get("fields", []),
    }
    with transaction.atomic():
        queue = Queue.objects.select_for_update().filter(slug=spec["slug"]).first()
        created = queue is None
        before = {} if created else _policy_and_members(queue)
        if created:
            queue = Queue(slug=spec["slug"])
        for key, value in values.items():
            setattr(queue, key, value)
        queue.save()
        queue.reviewers.set(User.objects.filter(username__in=spec.get("reviewers", [])))
        queue.leads.set(User.objects.filter(username__in=spec.get("leads", [])))
        after = _policy_and_members(queue)
        changed = {
            key: {"before": before.get(key), "after": value}
            for key, value in after.items()
            if before.get(key) != value
        }
        if created or changed.keys() & set(ROUTING_KEYS):
            _new_policy_version(queue, created=created, actor=actor, reason=reason)
            changed["policy_version"] = {
                "before": before.get("policy_version"),
                "after": queue.policy_version,
            }
        if created or changed:
            audit_log(
                obj=queue,
                action="review.queue.created" if created else "review.queue.policy_changed",
                actor=actor,
                data={"changes": changed},
            )
    return queue, created


def _new_policy_version(queue: Queue, *, created: bool, actor: Actor, reason: str) -> None:
    if not created:
        queue.policy_version += 1
        queue.save(update_fields=["policy_version"])
    QueuePolicyVersion.objects.create(
        queue=queue,
        version=queue.policy_version,
        policy={key: getattr(queue, key) for key in ROUTING_KEYS},
        reason=reason.strip() or ("created" if created else "no reason given"),
        changed_by=actor.label,
    )


def _policy_and_members(queue: Queue) -> dict[str, Any]:
    """What an audit event compares: the routing policy and who reviews and leads (usernames)."""
    state = {key: getattr(queue, key) for key in POLICY_KEYS}
    state["policy_version"] = queue.policy_version
    state["reviewers"] = sorted(queue.reviewers.values_list("username", flat=True))
    state["leads"] = sorted(queue.leads.values_list("username", flat=True))
    return state
