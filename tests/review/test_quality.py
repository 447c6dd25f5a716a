"""The escaped-error rate, checked against hand-computed figures."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from review.models import Item
from review.quality import EscapedErrors, escaped_errors, wilson_interval
from review.services import FieldVerdictIn, item_decide, lease_claim_next
from tests.factories import ingest


def test_wilson_interval_matches_hand_computed_values():
    # 2 of 40: p = 0.05; Wilson 95 % bounds 0.0138 and 0.1650 (computed by hand from the formula).
    low, high = wilson_interval(2, 40)
    assert round(low, 4) == 0.0138 and round(high, 4) == 0.1650
    # None wrong still has an upper bound: 0 of 30 -> [0, 0.1135].
    assert wilson_interval(0, 30) == (0.0, pytest.approx(0.1135, abs=1e-4))


def test_below_the_minimum_no_rate_is_stated():
    assert str(EscapedErrors(samples=12, wrong=1)) == "not enough samples (12 of 30 needed)"
    assert (
        str(EscapedErrors(samples=40, wrong=2))
        == "5.0% escaped (2 of 40 QA samples wrong; 95% interval 1.4%–16.5%)"
    )


@pytest.mark.django_db
def test_only_decided_qa_samples_count_and_a_correction_makes_one_wrong(agent, queue, reviewer):
    queue.qa_sample_rate = 1.0  # every clean output becomes a QA sample
    queue.save()
    items = [ingest(agent, external_id=name, confidence=0.99) for name in ("r", "c", "x", "w")]
    everything = ["policy_number", "loss_date", "amount", "claim_type"]
    plans = [
        ([FieldVerdictIn(n, "correct") for n in everything], "approve"),
        (
            [FieldVerdictIn(n, "correct") for n in everything[:3]]
            + [FieldVerdictIn("claim_type", "corrected", "home", "wrong_value")],
            "approve",
        ),
        ([], "reject"),
    ]
    for item, (verdicts, decision) in zip(items, plans, strict=False):
        lease = lease_claim_next(queue=queue, reviewer=reviewer)  # equal risk: oldest first
        assert lease.item_id == item.pk
        item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision=decision,
            fields=verdicts,
            reason="wrong_document" if decision == "reject" else "",
        )
    ingest(agent, external_id="doubtful")  # waits for review, but is no QA sample
    assert Item.objects.get(pk=items[3].pk).is_qa_sample  # still waiting: not counted
    now = timezone.now()
    measured = escaped_errors(
        queue=queue, since=now - dt.timedelta(days=1), until=now + dt.timedelta(seconds=1)
    )
    assert (measured.samples, measured.wrong) == (3, 2)
    out = StringIO()
    call_command("quality_report", "--queue", "claims", stdout=out)
    assert out.getvalue() == "claims: not enough samples (3 of 30 needed)\n"
