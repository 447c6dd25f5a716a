"""The pages a reviewer uses: the queues, the workspace and its actions, the item record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from review import services
from review.models import FieldLabel, Item, Lease, Review
from tests.factories import UserFactory, ingest

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def signed_in(client, reviewer):
    client.force_login(reviewer)
    return client


def _start(client, slug: str = "claims"):  # noqa: ANN202
    return client.post(reverse("review:queue-start", args=[slug]))


def _all_correct(lease: Lease, **extra: str) -> dict:
    form = {"lease": str(lease.token), "action": "approve"}
    form.update({f"f{i}-verdict": "correct" for i in range(4)})
    form.update(extra)
    return form


def test_queues_page_shows_waiting_due_and_who_is_reviewing(
    signed_in, agent, queue, other_reviewer
):
    ingest(agent, external_id="a")
    ingest(agent, external_id="b")
    services.lease_claim_next(queue=queue, reviewer=other_reviewer)
    page = signed_in.get("/")
    assert page.status_code == 200
    summary = page.context["summaries"][0]
    assert (summary.waiting, summary.reviewing) == (2, ["omar"])
    assert b"Start reviewing" in page.content
    fragment = signed_in.get("/", headers=HTMX)
    assert b"<html" not in fragment.content and b'id="queue-table"' in fragment.content


def test_start_reviewing_claims_and_opens_the_workspace(signed_in, agent, reviewer):
    item = ingest(agent)
    response = _start(signed_in)
    assert response.url == reverse("review:workspace", args=[item.pk])
    page = signed_in.get(response.url)
    assert page.status_code == 200
    lease = Lease.objects.get(item=item, reviewer=reviewer)
    assert str(lease.token).encode() in page.content
    assert b"50% \xc2\xb7 likely wrong" not in page.content  # 0.5 reads as "uncertain"
    assert "50% · uncertain" in page.content.decode()
    assert b"<mark" in page.content  # evidence highlighted in the source


def test_start_with_nothing_waiting_says_so(signed_in, queue):
    response = _start(signed_in)
    assert response.url == "/"
    assert "Nothing is waiting in Claim intake." in signed_in.get("/").content.decode()


def test_blind_queue_hides_confidence(signed_in, agent, queue):
    queue.blind_review = True
    queue.save()
    ingest(agent)
    page = signed_in.get(_start(signed_in).url).content.decode()
    assert "uncertain" not in page and "likely" not in page


def test_approve_records_labels_and_loads_the_next_item_in_place(signed_in, agent, reviewer):
    first, second = ingest(agent, external_id="a", confidence=0.2), ingest(agent, external_id="b")
    _start(signed_in)
    lease = Lease.objects.get(item=first)
    form = _all_correct(
        lease, **{"f2-verdict": "corrected", "f2-value": "1,205.50", "f2-reason": "misread"}
    )
    response = signed_in.post(
        reverse("review:workspace-submit", args=[first.pk]), form, headers=HTMX
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("review:workspace", args=[second.pk])
    assert f'data-item="{second.pk}"'.encode() in response.content
    label = FieldLabel.objects.get(field__item=first, field__name="amount")
    assert (label.verdict, label.final_value, label.correction_reason) == (
        "corrected",
        1205.5,
        "misread",
    )
    assert Item.objects.get(pk=first.pk).status == Item.Status.APPROVED


def test_stop_after_this_one_returns_to_the_queues(signed_in, agent):
    item = ingest(agent, external_id="a")
    ingest(agent, external_id="b")
    _start(signed_in)
    form = _all_correct(Lease.objects.get(item=item), stop_after="on")
    response = signed_in.post(
        reverse("review:workspace-submit", args=[item.pk]), form, headers=HTMX
    )
    assert response["HX-Redirect"] == "/"
    assert Lease.objects.filter(ended_at__isnull=True).count() == 0


def test_a_value_that_fails_the_schema_is_shown_next_to_its_field_and_nothing_is_saved(
    signed_in, agent
):
    item = ingest(agent)
    _start(signed_in)
    lease = Lease.objects.get(item=item)
    form = _all_correct(
        lease, **{"f1-verdict": "corrected", "f1-value": "yesterday", "f1-reason": "wrong_value"}
    )
    response = signed_in.post(
        reverse("review:workspace-submit", args=[item.pk]), form, headers=HTMX
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="f1-value-error"' in page and "must be a date" in page
    assert 'value="yesterday"' in page  # what was typed is kept
    assert not Review.objects.exists()


def test_missing_correction_reason_is_reported_on_that_field(signed_in, agent):
    item = ingest(agent)
    _start(signed_in)
    form = _all_correct(
        Lease.objects.get(item=item), **{"f3-verdict": "corrected", "f3-value": "home"}
    )
    response = signed_in.post(
        reverse("review:workspace-submit", args=[item.pk]), form, headers=HTMX
    )
    assert response.status_code == 422
    assert "say why it was wrong" in response.context["ws"].fields[3].errors["correction_reason"][0]


def test_approving_with_a_field_left_open_is_refused(signed_in, agent):
    item = ingest(agent)
    _start(signed_in)
    form = _all_correct(Lease.objects.get(item=item))
    del form["f0-verdict"]
    response = signed_in.post(
        reverse("review:workspace-submit", args=[item.pk]), form, headers=HTMX
    )
    assert response.status_code == 422
    assert (
        "give a verdict on every field before approving: policy_number" in response.content.decode()
    )


@pytest.mark.parametrize("action", ["reject", "escalate", "skip"])
def test_reject_escalate_and_skip_need_a_reason_code(signed_in, agent, action):
    item = ingest(agent)
    _start(signed_in)
    lease = Lease.objects.get(item=item)
    url = reverse("review:workspace-submit", args=[item.pk])
    refused = signed_in.post(url, {"lease": str(lease.token), "action": action}, headers=HTMX)
    assert refused.status_code == 422
    done = signed_in.post(
        url,
        {
            "lease": str(lease.token),
            "action": action,
            f"{action}_reason": "other",
            f"{action}_comment": "see note",
        },
        headers=HTMX,
    )
    assert done.status_code == 200
    expected = {
        "reject": Item.Status.REJECTED,
        "escalate": Item.Status.ESCALATED,
        "skip": Item.Status.PENDING,
    }
    assert Item.objects.get(pk=item.pk).status == expected[action]


def test_submit_after_the_lease_was_taken_over_says_so_and_records_nothing(
    signed_in, agent, queue, other_reviewer
):
    item = ingest(agent)
    _start(signed_in)
    lease = Lease.objects.get(item=item)
    past = timezone.now() - dt.timedelta(seconds=1)
    Lease.objects.filter(pk=lease.pk).update(expires_at=past)
    Item.objects.filter(pk=item.pk).update(leased_until=past)
    services.lease_claim_next(queue=queue, reviewer=other_reviewer)
    response = signed_in.post(
        reverse("review:workspace-submit", args=[item.pk]), _all_correct(lease), headers=HTMX
    )
    assert response.status_code == 409
    assert 'data-testid="lease-lost"' in response.content.decode()
    assert "Claim the item again" in response.content.decode()
    assert not Review.objects.exists()


def test_double_submit_records_one_decision(signed_in, agent):
    item = ingest(agent)
    _start(signed_in)
    form = _all_correct(Lease.objects.get(item=item), stop_after="on")
    url = reverse("review:workspace-submit", args=[item.pk])
    signed_in.post(url, form, headers=HTMX)
    again = signed_in.post(url, form, headers=HTMX)
    assert again.status_code == 409
    assert "already decided" in again.content.decode()
    assert Review.objects.count() == 1


def test_heartbeat_extends_the_lease_and_reports_a_lost_one(signed_in, agent, reviewer):
    item = ingest(agent)
    _start(signed_in)
    lease = Lease.objects.get(item=item)
    url = reverse("review:workspace-heartbeat", args=[item.pk])
    beat = signed_in.post(url, {"lease": str(lease.token), "active_seconds": "0.5"})
    assert beat.status_code == 200 and "expires_at" in beat.json()
    services.lease_release(
        item_id=item.pk, reviewer=reviewer, lease_token=lease.token, reason="break"
    )
    lost = signed_in.post(url, {"lease": str(lease.token), "active_seconds": "3"})
    assert lost.status_code == 409 and "ended" in lost.json()["detail"]


def test_workspace_without_a_lease_goes_to_the_read_only_record(signed_in, agent):
    item = ingest(agent)
    response = signed_in.get(reverse("review:workspace", args=[item.pk]))
    assert response.url == reverse("review:item", args=[item.pk])


def test_item_record_shows_who_decided_what(signed_in, agent, reviewer):
    item = ingest(agent)
    _start(signed_in)
    form = _all_correct(
        Lease.objects.get(item=item),
        **{"f2-verdict": "corrected", "f2-value": "99", "f2-reason": "misread"},
    )
    signed_in.post(reverse("review:workspace-submit", args=[item.pk]), form)
    page = signed_in.get(reverse("review:item", args=[item.pk])).content.decode()
    assert "rita</strong> approved" in page
    assert "amount: corrected from “1250.0” to “99.0” (misread characters)" in page


def test_people_outside_the_queue_get_404(client, agent):
    item = ingest(agent)
    client.force_login(UserFactory(username="eve"))
    assert client.get(reverse("review:item", args=[item.pk])).status_code == 404
    assert client.get(reverse("review:workspace", args=[item.pk])).status_code == 404
    assert client.post(reverse("review:queue-start", args=["claims"])).status_code == 404


def test_queues_page_says_when_automation_is_stopped(signed_in, queue):
    from accountability.audit import Actor

    services.automation_stop(target=queue, actor=Actor.system("tests"), reason="audit week")
    page = signed_in.get("/").content.decode()
    assert 'data-testid="stopped-claims"' in page and "audit week" in page


def test_a_correction_holding_nul_is_shown_next_to_its_field_and_nothing_is_saved(signed_in, agent):
    item = ingest(agent)
    _start(signed_in)
    form = _all_correct(
        Lease.objects.get(item=item),
        **{"f0-verdict": "corrected", "f0-value": "PN-4471\x00", "f0-reason": "misread"},
    )
    response = signed_in.post(
        reverse("review:workspace-submit", args=[item.pk]), form, headers=HTMX
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert '<p class="field-error" id="f0-value-error">must not contain the NUL' in page
    assert not Review.objects.exists()
