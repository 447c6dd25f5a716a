"""Reads for calibration: labeled confidences, the latest calibrators, and what ingest applies.

A label here is an ItemField's final verdict (after any second review or lead override):
"correct" means the agent was right, "corrected" that it was wrong. "undeterminable" fields are
left out: the source could not settle them, so they say nothing about the agent.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max, QuerySet

from agents.calibration import fitting
from agents.calibration.models import Calibrator
from review.models import ItemField, Verdict

Key = tuple[int, str, str]  # agent id, agent version, field name
LABELED = [Verdict.CORRECT, Verdict.CORRECTED]


def labeled_fields(agent_id: int | None = None) -> QuerySet[ItemField]:
    """Fields with a right-or-wrong verdict and a stated confidence."""
    fields = ItemField.objects.filter(verdict__in=LABELED, confidence__isnull=False)
    return fields if agent_id is None else fields.filter(item__agent_id=agent_id)


def label_counts(agent_id: int | None = None) -> dict[Key, int]:
    """How many labels each (agent, agent version, field) has; one grouped query."""
    rows = (
        labeled_fields(agent_id)
        .values_list("item__agent_id", "item__agent_version", "name")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(agent, version, name): n for agent, version, name, n in rows}


def labeled_confidences(key: Key) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of one agent version's field, oldest label first."""
    agent_id, version, name = key
    rows = list(
        labeled_fields(agent_id)
        .filter(item__agent_version=version, name=name)
        .order_by("id")
        .values_list("confidence", "verdict")
    )
    confidence = np.array([c for c, _ in rows], dtype=float)
    correct = np.array([v == Verdict.CORRECT for _, v in rows], dtype=float)
    return confidence, correct


def latest_calibrators(agent_id: int | None = None) -> dict[Key, Calibrator]:
    """The newest version of each calibrator."""
    calibrators = (
        Calibrator.objects.all()
        if agent_id is None
        else Calibrator.objects.filter(agent_id=agent_id)
    )
    latest: dict[Key, Calibrator] = {}
    for c in calibrators.order_by("agent_id", "agent_version", "field_name", "-version"):
        latest.setdefault((c.agent_id, c.agent_version, c.field_name), c)
    return latest


# --- Applying calibrators at ingest ---------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    calibrator_id: int
    agent_version: str
    field_name: str
    method: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Calibrated:
    value: float
    calibrator_id: int
    # True when the calibrator is another agent version's (this one has none yet).
    borrowed: bool


class AgentCalibration:
    """The latest calibrator of each (agent version, field) of one agent, ready to apply.

    An agent version without a calibrator of its own borrows the one fitted most recently for
    the same field (another version of the same agent), but only where it lowers the
    confidence: a new version inherits its predecessor's over-confidence, never its
    under-confidence, until its own labels say otherwise.
    """

    def __init__(self, calibrators: Iterable[Applied]) -> None:
        self.own: dict[tuple[str, str], Applied] = {}
        self.newest: dict[str, Applied] = {}
        for c in calibrators:
            self.own[(c.agent_version, c.field_name)] = c
            newest = self.newest.get(c.field_name)
            if newest is None or c.calibrator_id > newest.calibrator_id:
                self.newest[c.field_name] = c

    def __bool__(self) -> bool:
        return bool(self.own)

    def calibrate(
        self, agent_version: str, name: str, confidence: float | None
    ) -> Calibrated | None:
        if confidence is None:
            return None
        own = self.own.get((agent_version, name))
        if own is not None:
            value = fitting.apply_one(own.method, own.parameters, confidence)
            return Calibrated(value, own.calibrator_id, borrowed=False)
        borrowed = self.newest.get(name)
        if borrowed is None:
            return None
        value = fitting.apply_one(borrowed.method, borrowed.parameters, confidence)
        return Calibrated(min(value, confidence), borrowed.calibrator_id, borrowed=True)

    def calibrate_fields(self, agent_version: str, fields: Iterable[Any]) -> dict[str, Calibrated]:
        """name -> calibrated confidence, for fields (anything with name and confidence)."""
        if not self:
            return {}
        result = {}
        for f in fields:
            if (calibrated := self.calibrate(agent_version, f.name, f.confidence)) is not None:
                result[f.name] = calibrated
        return result


_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"stamp": None, "checked": -math.inf, "agents": {}}


def _stamp() -> tuple:
    """Changes whenever a calibrator is added (or a test rolls one back): count, newest id and
    newest fit time together, since ids alone can commit out of order or be reused."""
    row = Calibrator.objects.aggregate(n=Count("id"), last=Max("id"), at=Max("fitted_at"))
    return row["n"], row["last"], row["at"]


def calibration_for(agent_id: int) -> AgentCalibration:
    """The calibrators ingest applies to one agent's outputs, cached in this process.

    The cache is checked against the calibrator table (one small aggregate query) at most
    every CALIBRATION_CACHE_SECONDS, and reloaded only when a calibrator was added since: a
    new calibrator applies at once in the process that fitted it (calibrator_fit clears the
    cache) and within that many seconds in the others.
    """
    now = time.monotonic()
    with _cache_lock:
        fresh = now - _cache["checked"] < settings.CALIBRATION_CACHE_SECONDS
    if not fresh:
        stamp = _stamp()
        with _cache_lock:
            if _cache["stamp"] != stamp:
                _cache["stamp"], _cache["agents"] = stamp, {}
            _cache["checked"] = now
    with _cache_lock:
        cached = _cache["agents"].get(agent_id)
        stamp = _cache["stamp"]
    if cached is not None:
        return cached
    calibration = AgentCalibration(
        Applied(c.pk, c.agent_version, c.field_name, c.method, c.parameters)
        for c in latest_calibrators(agent_id).values()
    )
    with _cache_lock:
        if _cache["stamp"] == stamp:
            _cache["agents"][agent_id] = calibration
    return calibration


def calibration_cache_clear() -> None:
    """Forget the applied calibrators of this process: the next ingest reloads them."""
    with _cache_lock:
        _cache["stamp"], _cache["checked"], _cache["agents"] = None, -math.inf, {}


# --- The report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldReport:
    agent_id: int
    agent_version: str
    field_name: str
    n_labels: int
    n_correct: int
    ece: float
    brier: float
    reliability: list[fitting.Bin]
    auc: fitting.Auc | None
    calibrator: Calibrator | None  # the latest, if any
    method: str | None  # the method a fit now would use; None: not enough labels
    note: str  # "" or why there is no calibrator

    @property
    def uninformative(self) -> bool:
        return self.auc is not None and self.auc.uninformative


def calibration_report(agent_id: int) -> list[FieldReport]:
    """Per agent version and field: the raw confidence's reliability, ECE, Brier and AUC on
    every label, with the latest calibrator and its cross-validated ECE/Brier after."""
    calibrators = latest_calibrators(agent_id)
    reports = []
    for key in sorted(label_counts(agent_id)):
        confidence, correct = labeled_confidences(key)
        n_correct = int(correct.sum())
        method = fitting.choose_method(len(confidence), n_correct)
        reports.append(
            FieldReport(
                agent_id=key[0],
                agent_version=key[1],
                field_name=key[2],
                n_labels=len(confidence),
                n_correct=n_correct,
                ece=fitting.ece(confidence, correct),
                brier=fitting.brier(confidence, correct),
                reliability=fitting.reliability(confidence, correct),
                auc=fitting.auc(confidence, correct),
                calibrator=calibrators.get(key),
                method=method,
                note="" if method else fitting.not_enough_labels(len(confidence), n_correct),
            )
        )
    return reports


def calibrated_scores(agent_ids: Iterable[int]) -> dict[int, AgentCalibration]:
    """The current calibration of several agents, for re-scoring history (threshold advice)."""
    return {agent_id: calibration_for(agent_id) for agent_id in set(agent_ids)}
