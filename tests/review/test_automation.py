"""The stop switch and versioned routing policy."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accountability.audit import Actor
from accountability.models import AuditEvent
from review import services
from review.models import Item
from tests.factories import ingest

pytestmark = pytest.mark.django_db

LEAD = Actor.system("tests")


def test_stopping_a_queue_sends_even_clean_outputs_to_people(agent, queue):
    assert ingest(agent, external_id="before", confidence=0.99).status == Item.Status.AUTO_ACCEPTED
    services.automation_stop(target=queue, actor=LEAD, reason="drift after the model update")
    held = ingest(agent, external_id="during", confidence=0.99)
    assert held.status == Item.Status.PENDING
    [reason] = held.reasons.all()
    assert reason.code == "automation_stopped" and "drift after the model update" in reason.message
    services.automation_resume(target=queue, actor=LEAD, reason="fixed in v2.1")
    assert ingest(agent, external_id="after", confidence=0.99).status == Item.Status.AUTO_ACCEPTED
    actions = list(
        AuditEvent.objects.filter(action__startswith="review.automation").values_list(
            "action", flat=True
        )
    )
    assert actions == ["review.automation.stopped", "review.automation.resumed"]


def test_stopping_an_agent_holds_its_outputs_in_every_queue(agent):
    services.automation_stop(target=agent, actor=LEAD, reason="owner asked")
    assert ingest(agent, confidence=0.99).status == Item.Status.PENDING


def test_the_switch_needs_a_reason(queue):
    with pytest.raises(ValidationError):
        services.automation_stop(target=queue, actor=LEAD, reason=" ")
    assert queue.automation_stopped_at is None


def test_the_command_flips_the_switch(agent, queue):
    out = StringIO()
    call_command("automation", "stop", "--queue", "claims", "--reason", "audit week", stdout=out)
    assert "stopped for queue claims" in out.getvalue()
    assert ingest(agent, confidence=0.99).status == Item.Status.PENDING


def test_items_record_the_policy_version_they_were_routed_by(agent, queue):
    first = ingest(agent, external_id="a")
    spec = {
        "slug": "claims",
        "name": "Claim intake",
        "default_threshold": 0.7,
        "fields": queue.field_schema,
        "reviewers": ["rita", "omar"],
    }
    services.queue_apply(spec=spec, actor=LEAD, reason="threshold advice for week 12")
    second = ingest(agent, external_id="b")
    assert (first.policy_version, second.policy_version) == (1, 2)
    version = queue.policy_versions.get(version=2)
    assert (
        version.reason == "threshold advice for week 12"
        and version.policy["default_threshold"] == 0.7
    )
    event = AuditEvent.objects.get(action="review.item.ingested", target_id=str(second.pk))
    assert event.data["policy_version"] == 2
