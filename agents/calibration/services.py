"""Fitting calibrators as labels arrive. Each new calibrator version is an audit event."""

from __future__ import annotations

import logging
import time
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accountability.audit import Actor, audit_log
from agents.calibration import fitting, selectors
from agents.calibration.models import Calibrator
from agents.models import Agent

logger = logging.getLogger(__name__)

ACTOR = Actor.system("calibration")


def calibrator_fit(*, key: selectors.Key, actor: Actor = ACTOR) -> Calibrator | None:
    """Fit a new calibrator version for (agent id, agent version, field) from all its labels.

    Returns None, writing nothing, when there are too few labels for any method. The version
    number is taken under a lock on the agent's row, so two workers fitting the same field
    at once write versions n and n + 1, never two n.
    """
    confidence, correct = selectors.labeled_confidences(key)
    result = fitting.fit(confidence, correct)
    if result is None:
        return None
    agent_id, agent_version, field_name = key
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent_id)
        previous = Calibrator.objects.filter(
            agent=agent, agent_version=agent_version, field_name=field_name
        ).aggregate(version=Max("version"))["version"]
        calibrator = Calibrator.objects.create(
            agent=agent,
            agent_version=agent_version,
            field_name=field_name,
            version=(previous or 0) + 1,
            method=result.method,
            parameters=result.parameters,
            n_labels=result.n_labels,
            n_correct=result.n_correct,
            ece_before=result.ece_before,
            ece_after=result.ece_after,
            brier_before=result.brier_before,
            brier_after=result.brier_after,
            uninformative=result.uninformative,
            report=result.report(),
            fitted_at=timezone.now(),
        )
        audit_log(
            obj=calibrator,
            action="agents.calibrator.fitted",
            actor=actor,
            data={
                "agent": agent.slug,
                "agent_version": agent_version,
                "field": field_name,
                "version": calibrator.version,
                "previous_version": previous,
                "method": result.method,
                "parameters": result.parameters,
                "n_labels": result.n_labels,
                "n_correct": result.n_correct,
                "ece_before": result.ece_before,
                "ece_after": result.ece_after,
                "brier_before": result.brier_before,
                "brier_after": result.brier_after,
                "evaluation": result.report()["evaluation"],
                "uninformative": result.uninformative,
            },
        )
    # This process applies it from the next ingest on (others within CALIBRATION_CACHE_SECONDS);
    # cleared now for this connection, and again once the commit makes it visible to all.
    selectors.calibration_cache_clear()
    transaction.on_commit(selectors.calibration_cache_clear)
    return calibrator


def refit_due(
    *, agent_id: int | None = None, min_new_labels: int | None = None
) -> list[selectors.Key]:
    """Fields with enough labels and no calibrator yet, or with min_new_labels more labels
    than their latest calibrator was fitted on."""
    step = settings.CALIBRATION_REFIT_MIN_NEW_LABELS if min_new_labels is None else min_new_labels
    latest = selectors.latest_calibrators(agent_id)
    due = []
    for key, n in selectors.label_counts(agent_id).items():
        calibrator = latest.get(key)
        first = calibrator is None and n >= fitting.PLATT_MIN_LABELS
        if first or (calibrator is not None and n - calibrator.n_labels >= step):
            due.append(key)
    return sorted(due)


def calibrations_refit(
    *, agent_id: int | None = None, min_new_labels: int | None = None
) -> list[Calibrator]:
    """Fit a new version of every calibrator that is due (see refit_due). Safe to run twice:
    the second run finds nothing due. Returns the calibrators it wrote."""
    fitted = []
    for key in refit_due(agent_id=agent_id, min_new_labels=min_new_labels):
        calibrator = calibrator_fit(key=key)
        if calibrator is not None:
            fitted.append(calibrator)
    if fitted:
        logger.info("Fitted %d calibrators", len(fitted))
    return fitted


def _refit_key(agent_id: int) -> str:
    # Holds when the scheduled check runs (a float; keys of the older "scheduled" form held
    # True and are ignored: at most one extra check while they last).
    return f"calibration:refit-runs-at:{agent_id}"


def calibration_refit_soon(*, agent_id: int) -> None:
    """Ask for a refit check of one agent's calibrators, at most once per debounce window.

    Call it from transaction.on_commit after labels were stored. The first call in a window
    schedules the task at the window's end, so it sees every label of the window; the calls
    after it do nothing. The beat entry calibrations-refit is the safety net for lost tasks.
    The shared cache holds when the scheduled check runs; each process remembers it too, so
    that the decisions after the first ask nothing of Redis until then.
    """
    from agents.tasks import calibrations_refit as calibrations_refit_task

    key = _refit_key(agent_id)
    now = _wall_clock()
    if _check_runs_at.get(cache.make_key(key), 0.0) - CLOCK_MARGIN_SECONDS > now:
        return  # the check this process knows of runs after these labels were committed
    window = settings.CALIBRATION_REFIT_DEBOUNCE_SECONDS
    runs_at = now + window
    if cache.add(key, runs_at, timeout=window):
        calibrations_refit_task.apply_async(kwargs={"agent_id": agent_id}, countdown=window)
    else:
        runs_at = cache.get(key)  # scheduled by another process
    if isinstance(runs_at, float):
        _check_runs_at[cache.make_key(key)] = runs_at


# Cache key -> when the scheduled refit check runs (wall clock, as the cache holds it).
_check_runs_at: dict[str, float] = {}
# Processes on other machines read each other's clocks: trust a time only this far before it.
CLOCK_MARGIN_SECONDS = 5.0


def _wall_clock() -> float:
    return time.time()


def refit_schedule_forget() -> None:
    """Forget the refit checks this process knows of (tests: a new database, the same ids)."""
    _check_runs_at.clear()


def on_labels_stored(*, agent_id: int) -> None:
    """Hook for services that store labels: schedules the refit check after the commit."""
    transaction.on_commit(partial(calibration_refit_soon, agent_id=agent_id))
