"""Routing by the calibrated confidence, and what the reviewer is shown of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents.calibration import selectors, services
from review.assessment import FieldSubmission, Submission, assess, route
from tests.calibration_helpers import labeled_items, one_field, overconfident
from tests.factories import QueueFactory, ingest


def _submission(confidence: float, calibrated: float | None) -> Submission:
    fields = [FieldSubmission("amount", 1250.0, confidence)]
    return Submission(
        fields=fields,
        documents={},
        calibrated={} if calibrated is None else {"amount": calibrated},
    )


def _codes(submission: Submission) -> list[str]:
    queue = QueueFactory.build(field_schema=[{"name": "amount", "type": "number"}])
    return [reason.code for reason in assess(queue, submission)]


@pytest.mark.parametrize(
    ("confidence", "calibrated", "codes"),
    [
        (0.96, None, []),  # no calibrator: the agent's word
        (0.96, 0.71, ["calibrated_low_confidence"]),  # says 96 %, its history 71 %
        (0.60, 0.50, ["low_confidence"]),  # both low: the plain reason
        (0.60, 0.93, []),  # under-confident, and its history vouches for it
        (0.96, 0.90, []),
    ],
)
def test_the_threshold_applies_to_the_calibrated_confidence(confidence, calibrated, codes):
    assert _codes(_submission(confidence, calibrated)) == codes


def test_the_calibrated_reason_says_both_figures():
    queue = QueueFactory.build(field_schema=[{"name": "amount", "type": "number"}])
    [reason] = assess(queue, _submission(0.96, 0.71))
    assert reason.message == (
        "The agent says 96% for amount, but its history on this field says 71%; "
        "this queue accepts 85% or more without review."
    )
    assert reason.blocking and reason.details["calibrated"] == 0.71


def test_priority_follows_the_calibrated_confidence():
    queue = QueueFactory.build(
        field_schema=[{"name": "amount", "type": "number"}], qa_sample_rate=0
    )
    raw, calibrated = _submission(0.96, None), _submission(0.96, 0.71)
    low = route(queue, raw, assess(queue, raw)).priority
    high = route(queue, calibrated, assess(queue, calibrated)).priority
    assert high > low


@pytest.fixture
def calibrated_agent(agent, queue):
    selectors.calibration_cache_clear()
    labeled_items(agent, queue, one_field("amount", overconfident(300)))
    services.calibrations_refit(agent_id=agent.pk)
    yield agent
    selectors.calibration_cache_clear()


@pytest.mark.django_db
def test_the_workspace_shows_the_agents_confidence_and_its_history(
    client, reviewer, calibrated_agent
):
    ingest(calibrated_agent, confidence=0.96)
    client.force_login(reviewer)
    start = client.post(reverse("review:queue-start", args=["claims"]))
    page = client.get(start.url).content.decode()
    assert "agent 96% · history says 70% · uncertain" in page
    assert "its history on this field says 70%" in page  # the reason


@pytest.mark.django_db
def test_a_blind_queue_hides_both(client, reviewer, queue, calibrated_agent):
    queue.blind_review = True
    queue.save()
    ingest(calibrated_agent, confidence=0.96)
    client.force_login(reviewer)
    start = client.post(reverse("review:queue-start", args=["claims"]))
    page = client.get(start.url).content.decode()
    assert "history says" not in page and 'data-testid="calibrated-amount"' not in page
