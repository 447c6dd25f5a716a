"""Escalations for leads, lead actions (reassign, send back, override) and the SLA."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accountability.api import WorkflowError
from accountability.models import AuditEvent
from review import selectors, services, tasks
from review.models import FieldLabel, Item, Lease, Review
from review.services import FieldVerdictIn
from tests.factories import UserFactory, ingest

pytestmark = pytest.mark.django_db

FIELDS = ("policy_number", "loss_date", "amount", "claim_type")
ALL_CORRECT = [FieldVerdictIn(name, "correct") for name in FIELDS]


def decide(item: Item, reviewer, decision: str, reason: str = "", **kwargs) -> Review:
    lease = services.lease_claim_next(queue=item.queue, reviewer=reviewer)
    assert lease is not None and lease.item_id == item.pk
    fields = [] if decision == "escalate" else ALL_CORRECT
    return services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision=decision,
        fields=fields,
        reason=reason,
        **kwargs,
    )


@pytest.fixture
def escalated(agent, reviewer):
    item = ingest(agent, external_id="esc-1")
    decide(item, reviewer, "escalate", "needs_specialist", comment="Looks like a staged crash")
    item.refresh_from_db()
    assert item.status == Item.Status.ESCALATED
    return item


# --- escalations ----------------------------------------------------------------------------


def test_escalated_item_is_not_handed_to_reviewers(escalated, queue, other_reviewer):
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer) is None


def test_lead_claims_escalated_item_and_decides_it(escalated, lead, queue, other_reviewer):
    lease = services.lease_claim_escalated(item=escalated, lead=lead)
    assert services.lease_claim_escalated(item=escalated, lead=lead) == lease  # idempotent
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer) is None
    services.item_decide(
        item_id=escalated.pk,
        reviewer=lead,
        lease_token=lease.token,
        decision="approve",
        fields=ALL_CORRECT,
    )
    escalated.refresh_from_db()
    assert escalated.status == Item.Status.APPROVED and escalated.decided_at is not None


def test_a_lead_cannot_escalate_an_escalation_again(escalated, lead):
    lease = services.lease_claim_escalated(item=escalated, lead=lead)
    with pytest.raises(WorkflowError, match="already with its leads"):
        services.item_decide(
            item_id=escalated.pk, reviewer=lead, lease_token=lease.token,
            decision="escalate", fields=[], reason="other",
        )  # fmt: skip
    escalated.refresh_from_db()
    assert escalated.status == Item.Status.ESCALATED


def test_second_lead_cannot_claim_a_held_escalation(escalated, lead, queue):
    other_lead = UserFactory(username="leo")
    queue.leads.add(other_lead)
    services.lease_claim_escalated(item=escalated, lead=lead)
    with pytest.raises(WorkflowError):
        services.lease_claim_escalated(item=escalated, lead=other_lead)


def test_reviewer_cannot_claim_an_escalation(escalated, other_reviewer):
    with pytest.raises(PermissionDenied):
        services.lease_claim_escalated(item=escalated, lead=other_reviewer)


def test_lead_sees_escalations_page_with_the_reason(client, escalated, lead, queue):
    client.force_login(lead)
    response = client.get(reverse("review:queue-escalations", args=[queue.slug]))
    assert response.status_code == 200
    assert b"Needs a specialist" in response.content
    assert "Looks like a staged crash" in response.content.decode()
    home = client.get(reverse("review:home")).content.decode()
    assert 'data-testid="escalated-claims">1 escalated</a>' in home


def test_lead_claims_from_the_page_and_decides_in_the_workspace(client, escalated, lead, queue):
    client.force_login(lead)
    response = client.post(reverse("review:escalation-claim", args=[escalated.pk]))
    assert response.url == reverse("review:workspace", args=[escalated.pk])
    page = client.get(response.url)
    assert page.status_code == 200 and b"escalation-note" in page.content
    # The lead is who it was escalated to: approve or reject, no escalating it again.
    assert b'data-panel="escalate"' not in page.content
    lease = Lease.objects.get(item=escalated, reviewer=lead, ended_at__isnull=True)
    post = {"action": "approve", "lease": str(lease.token)}
    post |= {f"f{i}-verdict": "correct" for i in range(len(FIELDS))}
    done = client.post(reverse("review:workspace-submit", args=[escalated.pk]), post)
    assert done.url == reverse("review:queue-escalations", args=[queue.slug])
    escalated.refresh_from_db()
    assert escalated.status == Item.Status.APPROVED


def test_reviewer_gets_404_on_lead_pages_and_actions(client, escalated, reviewer, queue):
    client.force_login(reviewer)
    assert client.get(reverse("review:queue-escalations", args=[queue.slug])).status_code == 404
    assert client.post(reverse("review:escalation-claim", args=[escalated.pk])).status_code == 404
    for action in ("reassign", "send-back", "override"):
        url = reverse(f"review:item-{action}", args=[escalated.pk])
        assert client.post(url, {"reason": "mine now"}).status_code == 404
    page = client.get(reverse("review:item", args=[escalated.pk])).content.decode()
    assert "Lead actions" not in page
    assert "escalated-claims" not in client.get(reverse("review:home")).content.decode()


# --- lead actions: a reason is mandatory ------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "])
def test_every_lead_action_needs_a_reason(agent, lead, reviewer, other_reviewer, blank):
    approved = ingest(agent, external_id="a")
    decide(approved, reviewer, "approve")
    waiting = ingest(agent, external_id="w")
    calls = [
        lambda: services.item_reassign(
            item=waiting, to_reviewer=other_reviewer, lead=lead, reason=blank
        ),
        lambda: services.item_send_back(item=approved, lead=lead, reason=blank),
        lambda: services.item_override(
            item=approved, lead=lead, decision="reject", fields=[], reason=blank
        ),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as refused:
            call()
        assert "reason" in refused.value.message_dict
    lead_actions = ["review.item.reassigned", "review.item.sent_back", "review.decision.overridden"]
    assert not AuditEvent.objects.filter(action__in=lead_actions).exists()


def test_reviewer_cannot_take_lead_actions(agent, reviewer, other_reviewer):
    item = ingest(agent)
    with pytest.raises(PermissionDenied):
        services.item_reassign(item=item, to_reviewer=reviewer, lead=other_reviewer, reason="x")


def test_missing_reason_is_shown_next_to_the_input(client, agent, lead, reviewer):
    approved = ingest(agent)
    decide(approved, reviewer, "approve")
    client.force_login(lead)
    response = client.post(reverse("review:item-send-back", args=[approved.pk]), {"reason": ""})
    assert response.status_code == 422
    assert 'id="send-back-reason-error"' in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == Item.Status.APPROVED


# --- reassign -------------------------------------------------------------------------------


def test_reassign_hands_the_item_to_the_named_reviewer(
    agent, queue, lead, reviewer, other_reviewer
):
    item = ingest(agent)
    old = services.lease_claim_next(queue=queue, reviewer=reviewer)
    new = services.item_reassign(
        item=item, to_reviewer=other_reviewer, lead=lead, reason="Omar knows this client"
    )
    old.refresh_from_db()
    assert old.ended_at is not None and old.end == Lease.End.REASSIGNED
    assert old.release_reason == "Omar knows this client"
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer) == new
    assert services.lease_claim_next(queue=queue, reviewer=reviewer) is None
    event = AuditEvent.objects.get(action="review.item.reassigned")
    assert event.data["before"]["lease_holder"] == reviewer.pk
    assert event.data["after"]["lease_holder"] == other_reviewer.pk
    assert event.data["reason"] == "Omar knows this client"


def test_reassign_an_escalation_returns_it_to_review(escalated, queue, lead, other_reviewer):
    services.item_reassign(item=escalated, to_reviewer=other_reviewer, lead=lead, reason="yours")
    escalated.refresh_from_db()
    assert escalated.status == Item.Status.PENDING
    assert services.lease_claim_next(queue=queue, reviewer=other_reviewer).item_id == escalated.pk


def test_reassign_to_someone_outside_the_queue_is_refused(agent, lead):
    item = ingest(agent)
    with pytest.raises(ValidationError) as refused:
        services.item_reassign(item=item, to_reviewer=UserFactory(), lead=lead, reason="x")
    assert "to_reviewer" in refused.value.message_dict


def test_reassign_from_the_item_page(client, agent, lead, other_reviewer):
    item = ingest(agent)
    client.force_login(lead)
    url = reverse("review:item-reassign", args=[item.pk])
    response = client.post(url, {"to_reviewer": other_reviewer.pk, "reason": "specialist"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.lease_holder == other_reviewer


# --- send back ------------------------------------------------------------------------------


def test_send_back_links_the_rework_to_the_first_review(
    agent, queue, lead, reviewer, other_reviewer
):
    item = ingest(agent)
    first = decide(item, reviewer, "approve")
    services.item_send_back(item=item, lead=lead, reason="Amount looks off, check page 2")
    item.refresh_from_db()
    assert item.status == Item.Status.PENDING and item.decided_at is None
    assert item.rework_of == first
    assert not item.fields.exclude(verdict="").exists()  # the rework starts from the agent's
    assert FieldLabel.objects.filter(review=first).count() == len(FIELDS)  # first review stays
    second = decide(item, other_reviewer, "reject", "wrong_document")
    item.refresh_from_db()
    assert item.status == Item.Status.REJECTED
    assert selectors.rework_outcome(item) == second
    assert list(item.reviews.order_by("decided_at")) == [first, second]
    event = AuditEvent.objects.get(action="review.item.sent_back")
    assert event.data["reworks_review"] == first.pk
    assert (event.data["before"]["status"], event.data["after"]["status"]) == (
        "approved",
        "pending_review",
    )


def test_an_auto_accepted_item_cannot_be_sent_back(agent, lead):
    item = ingest(agent, confidence=None)
    assert item.status == Item.Status.AUTO_ACCEPTED
    with pytest.raises(WorkflowError):
        services.item_send_back(item=item, lead=lead, reason="check it")


# --- override -------------------------------------------------------------------------------


def test_override_an_auto_accepted_item(agent, lead):
    item = ingest(agent, confidence=None)
    assert item.status == Item.Status.AUTO_ACCEPTED
    review = services.item_override(
        item=item,
        lead=lead,
        decision="reject",
        fields=[FieldVerdictIn("amount", "corrected", 1205.0, "misread")],
        reason="Customer called: the amount was misread",
    )
    item.refresh_from_db()
    assert item.status == Item.Status.REJECTED
    assert review.is_override and review.lease is None and review.reviewer == lead
    label = FieldLabel.objects.get(review=review)
    assert (label.field.name, label.original_value, label.final_value) == ("amount", 1250.0, 1205.0)
    event = AuditEvent.objects.get(action="review.decision.overridden")
    assert event.data["before"]["status"] == "auto_accepted"
    assert event.data["after"]["status"] == "rejected"
    assert event.data["labels"][0] | {} == {
        "field": "amount",
        "verdict": "corrected",
        "before": 1250.0,
        "after": 1205.0,
        "correction_reason": "misread",
        "note": "",
    }


def test_override_records_before_as_the_previous_final_value(agent, lead, reviewer):
    item = ingest(agent)
    lease = services.lease_claim_next(queue=item.queue, reviewer=reviewer)
    services.item_decide(
        item_id=item.pk,
        reviewer=reviewer,
        lease_token=lease.token,
        decision="approve",
        fields=[*ALL_CORRECT[:2], FieldVerdictIn("amount", "corrected", 1205.0, "misread"),
                ALL_CORRECT[3]],
    )  # fmt: skip
    services.item_override(
        item=item,
        lead=lead,
        decision="approve",
        fields=[FieldVerdictIn("amount", "corrected", 1200.0, "wrong_value")],
        reason="1200 per the adjuster",
    )
    event = AuditEvent.objects.get(action="review.decision.overridden")
    assert (event.data["labels"][0]["before"], event.data["labels"][0]["after"]) == (1205.0, 1200.0)
    assert item.fields.get(name="amount").final_value == 1200.0


def test_override_of_a_waiting_item_is_refused(agent, lead):
    with pytest.raises(WorkflowError):
        services.item_override(
            item=ingest(agent), lead=lead, decision="approve", fields=[], reason="x"
        )


def test_override_from_the_item_page_puts_value_errors_next_to_the_input(client, agent, lead):
    item = ingest(agent, confidence=None)
    client.force_login(lead)
    url = reverse("review:item-override", args=[item.pk])
    bad = client.post(url, {"decision": "approve", "value-amount": "lots", "reason": "x"})
    assert bad.status_code == 422
    assert 'id="override-amount-error"' in bad.content.decode()
    good = {"decision": "approve", "value-amount": "1205", "correction-amount": "misread"}
    assert client.post(url, good | {"reason": "misread"}).status_code == 302
    assert item.fields.get(name="amount").final_value == 1205.0
    page = client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert "Lead override" in page


# --- SLA ------------------------------------------------------------------------------------


def test_an_item_about_to_breach_beats_a_riskier_one(agent, queue, reviewer):
    now = timezone.now()
    risky = ingest(agent, external_id="risky")
    urgent = ingest(agent, external_id="urgent")
    Item.objects.filter(pk=risky.pk).update(priority=100, due_at=now + dt.timedelta(hours=3))
    # Within the urgent window (20% of 240 min = 48 min) though far less risky.
    Item.objects.filter(pk=urgent.pk).update(priority=0, due_at=now + dt.timedelta(minutes=40))
    assert services.lease_claim_next(queue=queue, reviewer=reviewer, now=now).item_id == urgent.pk


def test_outside_the_urgent_window_risk_comes_first(agent, queue, reviewer):
    now = timezone.now()
    risky = ingest(agent, external_id="risky")
    soon = ingest(agent, external_id="soon")
    Item.objects.filter(pk=risky.pk).update(priority=100, due_at=now + dt.timedelta(hours=3))
    Item.objects.filter(pk=soon.pk).update(priority=0, due_at=now + dt.timedelta(minutes=60))
    assert services.lease_claim_next(queue=queue, reviewer=reviewer, now=now).item_id == risky.pk


def test_urgent_window_is_a_fifth_of_the_sla_and_at_least_15_minutes(queue):
    queue.sla_minutes = 240
    assert queue.urgent_window == dt.timedelta(minutes=48)
    queue.sla_minutes = 30
    assert queue.urgent_window == dt.timedelta(minutes=15)


def test_breach_job_run_twice_escalates_once(agent, queue, lead, client):
    now = timezone.now()
    late = ingest(agent, external_id="late")
    ingest(agent, external_id="on-time")
    Item.objects.filter(pk=late.pk).update(due_at=now - dt.timedelta(minutes=1))
    assert tasks.items_flag_breached.delay().get() == 1
    assert tasks.items_flag_breached.delay().get() == 0
    late.refresh_from_db()
    assert late.status == Item.Status.ESCALATED and late.sla_breached_at is not None
    [event] = AuditEvent.objects.filter(action="review.item.sla_breached")
    assert event.data["due_at"] == late.due_at.isoformat()
    client.force_login(lead)
    assert 'data-testid="breached-claims">1 SLA breached' in client.get("/").content.decode()
    page = client.get(reverse("review:queue-escalations", args=[queue.slug])).content.decode()
    assert f'data-testid="breached-{late.pk}"' in page


def test_breach_job_leaves_an_item_someone_is_reviewing(agent, queue, reviewer):
    item = ingest(agent)
    services.lease_claim_next(queue=queue, reviewer=reviewer)
    Item.objects.filter(pk=item.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    assert services.items_flag_breached() == 0
    later = timezone.now() + dt.timedelta(minutes=queue.lease_minutes + 1)
    assert services.items_flag_breached(now=later) == 1


def test_breach_job_is_on_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "review.tasks.items_flag_breached" in tasks_scheduled
