"""Calibrators fitted from labels, refitted as labels arrive, and applied at ingest."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

from accountability.models import AuditEvent
from agents import tasks
from agents.calibration import selectors, services
from agents.calibration.models import Calibrator
from review import services as review_services
from review.models import Item, ItemField, Reason
from review.services import FieldVerdictIn
from tests.calibration_helpers import labeled_items, one_field, overconfident
from tests.factories import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    # The debounce key lives in the cache, the applied calibrators in a per-process cache.
    cache.clear()
    selectors.calibration_cache_clear()
    yield
    cache.clear()
    selectors.calibration_cache_clear()


def _history(agent, queue, n: int, **kwargs) -> None:  # noqa: ANN001
    labeled_items(agent, queue, one_field("amount", overconfident(n, **kwargs)))


def test_refit_task_writes_a_new_version_and_an_audit_event(agent, queue):
    _history(agent, queue, 60)
    assert tasks.calibrations_refit.delay(agent_id=agent.pk).get() == 1
    calibrator = Calibrator.objects.get()
    assert (calibrator.version, calibrator.method, calibrator.n_labels) == (1, "platt", 60)
    assert calibrator.agent_version == "v1.0" and calibrator.field_name == "amount"
    event = AuditEvent.objects.get(action="agents.calibrator.fitted")
    assert event.target_id == str(calibrator.pk) and event.actor_label == "calibration"
    assert event.data["ece_before"] == calibrator.ece_before and event.data["version"] == 1

    assert tasks.calibrations_refit.delay(agent_id=agent.pk).get() == 0  # nothing new: no-op

    _history(agent, queue, 250)  # enough new labels, and now enough for isotonic
    assert tasks.calibrations_refit.delay().get() == 1
    newest = Calibrator.objects.order_by("-version").first()
    assert (newest.version, newest.method, newest.n_labels) == (2, "isotonic", 310)
    assert AuditEvent.objects.filter(action="agents.calibrator.fitted").count() == 2


def test_a_few_new_labels_do_not_refit(agent, queue, settings):
    settings.CALIBRATION_REFIT_MIN_NEW_LABELS = 50
    _history(agent, queue, 60)
    services.calibrations_refit()
    _history(agent, queue, 49)
    assert services.calibrations_refit() == []
    assert Calibrator.objects.count() == 1


def test_too_few_labels_leave_the_raw_confidence_and_the_report_says_why(agent, queue):
    _history(agent, queue, 20)
    # Undeterminable verdicts say nothing about the agent: they are not labels here.
    labeled_items(agent, queue, one_field("amount", [(0.9, None)] * 15))
    assert services.calibrations_refit() == []
    [report] = selectors.calibration_report(agent.pk)
    assert report.n_labels == 20 and report.calibrator is None
    assert report.note == "not enough labels (20 of 30 needed)"


def test_a_decision_schedules_the_refit_of_its_agent(
    agent, queue, reviewer, django_capture_on_commit_callbacks
):
    _history(agent, queue, 40)
    item = ingest(agent)
    lease = review_services.lease_claim_next(queue=queue, reviewer=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        review_services.item_decide(
            item_id=item.pk,
            reviewer=reviewer,
            lease_token=lease.token,
            decision="approve",
            fields=[
                FieldVerdictIn(n, "correct")
                for n in ("policy_number", "loss_date", "amount", "claim_type")
            ],
        )
    # Celery runs eagerly in tests: the debounced task has run already.
    assert Calibrator.objects.get().n_labels == 41
    assert cache.get(f"calibration:refit-runs-at:{agent.pk}")  # later decisions wait


@pytest.fixture
def scheduled(monkeypatch) -> list[dict]:
    """The refit checks asked of Celery (not run), with a clock the test moves."""
    asked: list[dict] = []
    monkeypatch.setattr(
        "agents.tasks.calibrations_refit.apply_async", lambda **kwargs: asked.append(kwargs)
    )
    return asked


def test_decisions_in_one_window_ask_for_one_check_and_the_next_window_for_another(
    agent, scheduled, monkeypatch
):
    clock = [1_000_000.0]
    monkeypatch.setattr("agents.calibration.services._wall_clock", lambda: clock[0])
    window = settings.CALIBRATION_REFIT_DEBOUNCE_SECONDS
    for _ in range(3):
        services.calibration_refit_soon(agent_id=agent.pk)
    assert scheduled == [{"kwargs": {"agent_id": agent.pk}, "countdown": window}]

    clock[0] += window + 1  # the check has run; the cache lets the key go at the window's end
    cache.delete(f"calibration:refit-runs-at:{agent.pk}")
    services.calibration_refit_soon(agent_id=agent.pk)
    assert len(scheduled) == 2


def test_a_check_another_process_scheduled_covers_this_ones_labels_until_it_runs(
    agent, scheduled, monkeypatch
):
    clock = [1_000_000.0]
    monkeypatch.setattr("agents.calibration.services._wall_clock", lambda: clock[0])
    key = f"calibration:refit-runs-at:{agent.pk}"
    cache.add(key, clock[0] + 100, timeout=100)  # another process scheduled it 200 s ago
    services.calibration_refit_soon(agent_id=agent.pk)
    clock[0] += 90
    services.calibration_refit_soon(agent_id=agent.pk)
    assert scheduled == []  # committed before that check runs: it sees these labels

    clock[0] += 11  # it has run
    cache.delete(key)
    services.calibration_refit_soon(agent_id=agent.pk)
    assert len(scheduled) == 1


def _calibrated_history(agent, queue, version: str = "v1.0") -> Calibrator:  # noqa: ANN001
    labeled_items(agent, queue, one_field("amount", overconfident(300)), version=version)
    [calibrator] = services.calibrations_refit(agent_id=agent.pk)
    return calibrator


def test_an_overconfident_agents_item_goes_to_review_for_its_history(agent, queue):
    trusted = ingest(agent, external_id="before", confidence=0.96)
    assert trusted.status == Item.Status.AUTO_ACCEPTED  # 96 % clears the 85 % threshold

    calibrator = _calibrated_history(agent, queue)
    item = ingest(agent, external_id="after", confidence=0.96)
    assert item.status == Item.Status.PENDING
    reason = Reason.objects.get(item=item)
    assert reason.code == "calibrated_low_confidence" and reason.field_name == "amount"
    assert reason.message.startswith(
        "The agent says 96% for amount, but its history on this field says 70%"
    )
    field = ItemField.objects.get(item=item, name="amount")
    assert field.confidence == 0.96 and field.calibrated_confidence == pytest.approx(0.7)
    event = AuditEvent.objects.get(action="review.item.ingested", target_id=str(item.pk))
    assert event.data["calibrated"]["amount"]["calibrator"] == calibrator.pk


def test_an_unseen_agent_version_borrows_the_calibrator_only_to_lower(agent, queue):
    _calibrated_history(agent, queue, version="v1.0")
    item = ingest(agent, external_id="new-version", confidence=0.96, agent_version="v2.0")
    assert item.status == Item.Status.PENDING
    assert ItemField.objects.get(item=item, name="amount").calibrated_confidence == (
        pytest.approx(0.7)
    )


def test_a_borrowed_calibrator_never_raises_the_confidence(agent, queue, settings):
    # An under-confident v1.0: says 60 %, right 95 % of the time.
    labeled_items(
        agent, queue, one_field("amount", overconfident(300, confidence=0.6, accuracy=0.95))
    )
    services.calibrations_refit(agent_id=agent.pk)
    own = ingest(agent, external_id="own", confidence=0.6)
    assert own.status == Item.Status.AUTO_ACCEPTED  # its own history vouches for it
    borrowed = ingest(agent, external_id="borrowed", confidence=0.6, agent_version="v2.0")
    assert borrowed.status == Item.Status.PENDING
    assert ItemField.objects.get(item=borrowed, name="amount").calibrated_confidence == 0.6


def test_a_new_calibrator_version_is_used_by_the_next_ingest(agent, queue):
    _calibrated_history(agent, queue)
    assert ingest(agent, external_id="a", confidence=0.96).status == Item.Status.PENDING
    # The agent got better: lots of new, right labels at 96 %.
    labeled_items(agent, queue, one_field("amount", [(0.96, True)] * 2000))
    services.calibrations_refit(agent_id=agent.pk)
    assert ingest(agent, external_id="b", confidence=0.96).status == Item.Status.AUTO_ACCEPTED


def test_batch_ingest_loads_calibrators_without_a_query_per_item(
    agent, queue, agent_client, django_assert_max_num_queries
):
    from tests.factories import item_payload

    _calibrated_history(agent, queue)
    items = [item_payload(external_id=f"b{n}") for n in range(50)]
    with django_assert_max_num_queries(22):  # fixed costs; one query per item would be 70+
        response = agent_client.post("/api/v1/items/batch", {"items": items}, format="json")
    assert all(r["status_code"] == 201 for r in response.json()["results"])
    calibrated = ItemField.objects.filter(name="amount", item__external_id__startswith="b")
    assert calibrated.filter(calibrated_confidence__isnull=False).count() == 50
