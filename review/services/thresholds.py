"""Threshold advice and the staffing forecast of a queue, from its labeled history.

Everything is scored the way routing would score it today: each field's confidence through
the current calibrator of its agent, agent version and field (agents.calibration), the agent's
own confidence where there is none.

- Advice: the thresholds of the queue's schema fields, chosen together so that the items they
  would auto-accept meet the queue's target_error_rate as a share of whole items with a wrong
  field: the 95 % Wilson upper bound of that share among the labeled items is within the target
  (review.services.threshold_search, which also describes the search). Fields without labels
  keep their thresholds; "not enough labels" when no thresholds meet the target. Labeled: a
  reviewer's final verdict was "correct" (right) or "corrected" (wrong); "undeterminable" is
  left out.
- Projection, for any set of thresholds: on the last PROJECTION_WEEKS of arrivals, the share of
  items that would be auto-accepted (every field clears its threshold, nothing else blocks it,
  less the QA sample share), human items per week, FTE, the calibrated expectation of their
  escaped-error rate (mean risk: 1 - the product of an item's calibrated confidences), and on
  the labeled history the expected escaped-error rate (labeled items that would be
  auto-accepted and had a field corrected) with its Wilson interval.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import QueryDict
from django.utils import timezone

from accountability.audit import Actor
from accountability.nul import nul_errors
from agents.calibration.selectors import calibration_for
from review.models import Item, ItemField, Queue, Reason, Review, Verdict
from review.quality import MIN_SAMPLES, wilson_interval
from review.services.queues import queue_apply
from review.services.threshold_search import CANDIDATES, Grid, item_thresholds

PROJECTION_WEEKS = 4  # arrivals the projection counts
LABEL_WEEKS = 26  # labeled history advice and expected errors are measured on
PROJECTION_MAX_ITEMS = 20_000  # newest arrivals scored; counts scale to the whole window
# Reasons about confidence are what the thresholds decide; any other blocking reason keeps an
# item with people whatever its thresholds.
CONFIDENCE_REASONS = ["low_confidence", "calibrated_low_confidence", "qa_sample"]


@dataclass
class Rows:
    """Scored fields of a set of items: one entry per field, items numbered 0..n_items-1."""

    item: np.ndarray  # int: the field's item
    name: np.ndarray  # object: field name
    name_code: np.ndarray  # int: the field name's index in `names`
    names: list[str]  # the distinct field names
    score: np.ndarray  # float: calibrated confidence (else raw); NaN when none was given
    wrong: np.ndarray  # bool: corrected by a reviewer (labeled rows only)
    blocked: np.ndarray  # bool per item: another reason keeps it with people
    n_items: int

    @cached_property
    def risk(self) -> np.ndarray:
        """Per item: 1 - the product of its fields' scores, its chance of a wrong field if the
        scores are calibrated and its fields err independently (no confidence: 1)."""
        logs = np.log(np.clip(np.nan_to_num(self.score, nan=0.0), 1e-12, 1.0))
        return 1 - np.exp(np.bincount(self.item, weights=logs, minlength=self.n_items))

    @cached_property
    def wrong_items(self) -> np.ndarray:
        """Per item: a field was corrected."""
        return np.bincount(self.item, weights=self.wrong, minlength=self.n_items) > 0


@dataclass
class History:
    queue: Queue
    arrivals: Rows
    labeled: Rows
    arrivals_total: int  # all arrivals in the window (arrivals may hold only the newest)
    weeks: float
    median_review_seconds: float | None


def _scored(rows: list[tuple], item_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item index, field name, score) arrays, scores through each agent's calibrators."""
    position = {pk: i for i, pk in enumerate(item_ids)}
    scores = np.full(len(rows), np.nan)
    calibrations: dict[int, Any] = {}
    for i, (_, name, confidence, agent_id, version, *_) in enumerate(rows):
        if confidence is None:
            continue
        if agent_id not in calibrations:
            calibrations[agent_id] = calibration_for(agent_id)
        calibrated = calibrations[agent_id].calibrate(version, name, confidence)
        scores[i] = confidence if calibrated is None else calibrated.value
    items = np.array([position[row[0]] for row in rows], dtype=int)
    names = np.array([row[1] for row in rows], dtype=object)
    return items, names, scores


def _rows(items: QuerySet[Item], *, labeled: bool) -> Rows:
    """The scored fields of `items`; the items go into SQL as a subquery, never as a list of
    ids (SQLite caps the parameters of one query)."""
    item_ids = list(items.values_list("pk", flat=True))
    subquery = items.values("pk")
    fields = ItemField.objects.filter(item__in=subquery)
    if labeled:
        fields = fields.filter(verdict__in=[Verdict.CORRECT, Verdict.CORRECTED])
    rows = list(
        fields.values_list(
            "item_id", "name", "confidence", "item__agent_id", "item__agent_version", "verdict"
        )
    )
    positions, names, scores = _scored(rows, item_ids)
    blocked_ids = set(
        Reason.objects.filter(item__in=subquery, blocking=True)
        .exclude(code__in=CONFIDENCE_REASONS)
        .values_list("item_id", flat=True)
    )
    distinct, codes = np.unique(names.astype(str), return_inverse=True)
    return Rows(
        item=positions,
        name=names,
        name_code=codes.reshape(-1).astype(int),
        names=[str(n) for n in distinct],
        score=scores,
        wrong=np.array([row[5] == Verdict.CORRECTED for row in rows], dtype=bool),
        blocked=np.array([pk in blocked_ids for pk in item_ids], dtype=bool),
        n_items=len(item_ids),
    )


def queue_history(queue: Queue, *, now: dt.datetime | None = None) -> History:
    """Load and score what advice and projections are computed from: a handful of queries."""
    now = now or timezone.now()
    since = now - dt.timedelta(weeks=PROJECTION_WEEKS)
    arrivals = Item.objects.filter(queue=queue, created_at__gte=since, created_at__lt=now)
    newest = Item.objects.filter(
        pk__in=arrivals.order_by("-created_at").values("pk")[:PROJECTION_MAX_ITEMS]
    )
    labeled = Item.objects.filter(
        pk__in=Item.objects.filter(
            queue=queue,
            created_at__gte=now - dt.timedelta(weeks=LABEL_WEEKS),
            fields__verdict__in=[Verdict.CORRECT, Verdict.CORRECTED],
        ).values("pk")
    )
    scored = _rows(newest, labeled=False)
    total = scored.n_items
    if total == PROJECTION_MAX_ITEMS:
        total = arrivals.count()  # the newest were scored; the counts cover the whole window
    return History(
        queue=queue,
        arrivals=scored,
        labeled=_rows(labeled, labeled=True),
        arrivals_total=total,
        weeks=PROJECTION_WEEKS,
        median_review_seconds=_median_review_seconds(queue, since),
    )


def _median_review_seconds(queue: Queue, since: dt.datetime) -> float | None:
    """Median active review time per reviewed item (all its reviews added up)."""
    per_item = (
        Review.objects.filter(
            item__queue=queue, decided_at__gte=since, active_seconds__isnull=False
        )
        .values("item_id")
        .annotate(seconds=Sum("active_seconds"))
        .values_list("seconds", flat=True)
    )
    seconds = list(per_item)
    return statistics.median(seconds) if seconds else None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def threshold_text(value: float) -> str:
    """0.91, 0.995: as many decimals as the threshold has, two at least, four at most."""
    text = f"{value:.4f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{value:.2f}"


# --- Pure computations on a History ----------------------------------------------------------


def thresholds_of(queue: Queue) -> dict[str, float]:
    """The queue's current threshold of each schema field."""
    return {spec["name"]: queue.threshold_for(spec["name"]) for spec in queue.field_schema}


def _clears(rows: Rows, queue: Queue, thresholds: dict[str, float]) -> np.ndarray:
    """Per item: every field clears its threshold and no other reason blocks it."""
    per_name = [thresholds.get(name, queue.threshold_for(name)) for name in rows.names]
    limits = np.array(per_name, dtype=float)[rows.name_code]
    # A missing confidence (NaN) never clears: NaN >= t is False.
    failing = ~(rows.score >= limits - 1e-9)
    fails = np.bincount(rows.item, weights=failing, minlength=rows.n_items)
    return (fails == 0) & ~rows.blocked


@dataclass(frozen=True)
class Projection:
    thresholds: dict[str, float]
    items: int  # arrivals in the window
    weeks: float
    automation_rate: float | None  # auto-accepted share, QA samples taken out
    human_items_per_week: float
    fte: float | None  # None: no review time measured yet
    expected_error_rate: float | None  # mean calibrated risk of the arrivals auto-accepted
    labeled_items: int  # labeled items that would be auto-accepted
    labeled_wrong: int
    error_rate: float | None
    error_interval: tuple[float, float] | None

    @property
    def enough_labels(self) -> bool:
        return self.labeled_items >= MIN_SAMPLES

    @property
    def automation_text(self) -> str:
        return percent(self.automation_rate)

    @property
    def fte_text(self) -> str:
        return "no review time measured yet" if self.fte is None else f"{self.fte:.2f}"

    @property
    def expected_text(self) -> str:
        return percent(self.expected_error_rate)

    @property
    def error_text(self) -> str:
        """The expected escaped-error rate with its interval, or why there is none."""
        if not self.enough_labels:
            return (
                f"not enough labels ({self.labeled_items} labeled items would be auto-accepted; "
                f"{MIN_SAMPLES} needed)"
            )
        low, high = self.error_interval
        return (
            f"{percent(self.error_rate)} (95% interval {percent(low)}–{percent(high)}; "
            f"{self.labeled_wrong} of {self.labeled_items} labeled items wrong)"
        )


def project(history: History, thresholds: dict[str, float]) -> Projection:
    queue = history.queue
    arrivals = history.arrivals
    clears = _clears(arrivals, queue, thresholds)
    share = float(clears.mean()) * (1 - queue.qa_sample_rate) if arrivals.n_items else None
    human_per_week = history.arrivals_total * (1 - (share or 0.0)) / history.weeks
    fte = None
    if history.median_review_seconds is not None:
        hours = human_per_week * history.median_review_seconds / 3600
        fte = hours / settings.FTE_PRODUCTIVE_HOURS_PER_WEEK
    labeled = history.labeled
    auto = _clears(labeled, queue, thresholds)
    n, wrong = int(auto.sum()), int((auto & labeled.wrong_items).sum())
    return Projection(
        thresholds=dict(thresholds),
        items=history.arrivals_total,
        weeks=history.weeks,
        automation_rate=share,
        human_items_per_week=human_per_week,
        fte=fte,
        expected_error_rate=float(arrivals.risk[clears].mean()) if clears.any() else None,
        labeled_items=n,
        labeled_wrong=wrong,
        error_rate=wrong / n if n else None,
        error_interval=wilson_interval(wrong, n) if n else None,
    )


@dataclass(frozen=True)
class FieldAdvice:
    name: str
    current: float
    advised: float | None  # None: no labels on this field, or no thresholds meet the target
    labels: int  # labeled fields of this name
    above: int  # labeled fields at or above the advised threshold
    wrong: int  # of which corrected
    upper: float | None  # 95 % upper bound of their error rate (this field alone)
    labeled_items: int = 0  # labeled items in all: the note's count

    @property
    def rate(self) -> float | None:
        return self.wrong / self.above if self.above else None

    @property
    def upper_text(self) -> str:
        return percent(self.upper)

    @property
    def current_text(self) -> str:
        return threshold_text(self.current)

    @property
    def advised_text(self) -> str:
        return "" if self.advised is None else threshold_text(self.advised)

    @property
    def note(self) -> str:
        if self.advised is not None:
            return ""
        if not self.labels:
            return "not enough labels (none yet)"
        return f"not enough labels to show the target is met ({self.labeled_items} labeled items)"


def _field_advice(
    history: History, name: str, advised: float | None, labeled_items: int
) -> FieldAdvice:
    """The advice for one field, with what its own labels say at the advised threshold."""
    rows = history.labeled
    mine = rows.name == name
    scores, wrong = rows.score[mine], rows.wrong[mine]
    current = history.queue.threshold_for(name)
    if advised is None:
        return FieldAdvice(name, current, None, len(scores), 0, 0, None, labeled_items)
    above = scores >= advised - 1e-9
    n, errors = int(above.sum()), int(wrong[above].sum())
    upper = wilson_interval(errors, n)[1] if n else None
    return FieldAdvice(name, current, advised, len(scores), n, errors, upper, labeled_items)


def _grid(rows: Rows, queue: Queue, chosen: list[str], fixed: dict[str, float]) -> Grid:
    """The items whose auto-acceptance the chosen fields' thresholds decide, as a Grid: left out
    are items another reason blocks and items a fixed threshold already holds back."""
    column = {name: j for j, name in enumerate(chosen)}
    columns = np.array([column.get(name, -1) for name in rows.names], dtype=int)[rows.name_code]
    limits = np.array(
        [fixed.get(name, queue.threshold_for(name)) for name in rows.names], dtype=float
    )[rows.name_code]
    held = (columns < 0) & ~(rows.score >= limits - 1e-9)
    keep = ~rows.blocked & (np.bincount(rows.item, weights=held, minlength=rows.n_items) == 0)
    scores = np.full((rows.n_items, len(chosen)), np.inf)
    mine = columns >= 0
    # NaN (no confidence) wins: np.minimum propagates it, and it never clears.
    np.minimum.at(scores, (rows.item[mine], columns[mine]), rows.score[mine])
    return Grid.of(scores[keep], rows.wrong_items[keep], rows.risk[keep])


def advised_thresholds(
    history: History, chosen: list[str], target: float
) -> dict[str, float] | None:
    """The thresholds of the `chosen` fields that together meet the item-level target (the
    other fields keep theirs), or None when no thresholds can be shown to."""
    queue = history.queue
    if not chosen or not history.labeled.n_items:
        return None
    fixed = thresholds_of(queue)
    labeled = _grid(history.labeled, queue, chosen, fixed)
    # Without recent arrivals, automation is counted on the labeled items themselves.
    arrivals = history.arrivals if history.arrivals.n_items else history.labeled
    levels = item_thresholds(labeled, _grid(arrivals, queue, chosen, fixed), target)
    if levels is None:
        return None
    return {name: CANDIDATES[k] for name, k in zip(chosen, levels, strict=True)}


@dataclass
class Advice:
    target: float
    fields: list[FieldAdvice]
    current: Projection
    advised: Projection
    curve: list[dict[str, Any]]

    @property
    def thresholds(self) -> dict[str, float]:
        """The advised thresholds, the current ones where there is no advice."""
        return self.advised.thresholds

    @property
    def changes(self) -> bool:
        return any(f.advised is not None and f.advised != f.current for f in self.fields)


def queue_advice(history: History, *, target: float | None = None) -> Advice:
    queue = history.queue
    target = queue.target_error_rate if target is None else target
    names = [spec["name"] for spec in queue.field_schema]
    labeled = set(history.labeled.names)
    chosen = [name for name in names if name in labeled]
    advised = advised_thresholds(history, chosen, target) or {}
    fields = [
        _field_advice(history, name, advised.get(name), history.labeled.n_items) for name in names
    ]
    thresholds = {f.name: f.current if f.advised is None else f.advised for f in fields}
    return Advice(
        target=target,
        fields=fields,
        current=project(history, thresholds_of(queue)),
        advised=project(history, thresholds),
        curve=curve(history),
    )


def curve(history: History, step: int = 2) -> list[dict[str, Any]]:
    """Automation against expected escaped errors for one threshold on every field."""
    points = []
    names = [spec["name"] for spec in history.queue.field_schema]
    for threshold in CANDIDATES[::step]:
        p = project(history, dict.fromkeys(names, threshold))
        points.append(
            {
                "threshold": threshold,
                "automation_rate": p.automation_rate,
                "error_rate": p.error_rate,
                "error_high": p.error_interval[1] if p.error_interval else None,
                "labeled_items": p.labeled_items,
            }
        )
    return points


# --- Applying thresholds ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdsIn:
    thresholds: dict[str, float]
    target_error_rate: float
    reason: str


def read_thresholds_form(queue: Queue, raw: QueryDict) -> ThresholdsIn:
    """The apply form: `threshold-<field>` values, the target in percent and a reason.
    Raises ValidationError naming every bad input at once."""
    errors: dict[str, list[str]] = {}
    try:
        values = parse_thresholds(queue, raw)
    except ValidationError as invalid:
        values, errors = {}, dict(invalid.message_dict)
    errors.update(nul_errors(raw))  # the reason is text, kept with the policy version
    try:
        target = float((raw.get("target_error_rate") or "").strip().rstrip("%")) / 100
    except ValueError:
        target = -1.0
    if not 0 < target < 1:
        errors["target_error_rate"] = ["give a percentage more than 0 and less than 100"]
    reason = (raw.get("reason") or "").strip()
    if not reason:
        errors["reason"] = [REASON_REQUIRED]
    if errors:
        raise ValidationError(errors)
    return ThresholdsIn(values, target, reason)


REASON_REQUIRED = "say why the thresholds change: it is kept with the policy version"


def parse_thresholds(queue: Queue, raw: Any) -> dict[str, float]:
    """Thresholds from form values keyed `threshold-<field>`; raises naming each bad one."""
    thresholds, errors = {}, {}
    for spec in queue.field_schema:
        key = f"threshold-{spec['name']}"
        value = (raw.get(key) or "").strip()
        try:
            number = float(value)
        except ValueError:
            errors[key] = ["give a number between 0 and 1"]
            continue
        if not 0 <= number <= 1 or number != number:
            errors[key] = ["must be between 0 and 1"]
        else:
            thresholds[spec["name"]] = round(number, 4)
    if errors:
        raise ValidationError(errors)
    return thresholds


def queue_thresholds_apply(
    *,
    queue: Queue,
    thresholds: dict[str, float],
    target_error_rate: float,
    actor: Actor,
    reason: str,
) -> Queue:
    """Set the queue's field thresholds and target error rate: a new policy version through
    queue_apply (audited with before and after, the reason kept with the version).

    Raises ValidationError naming each bad value; writes nothing then.
    """
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = [REASON_REQUIRED]
    if not 0 < target_error_rate < 1:
        errors["target_error_rate"] = ["must be more than 0 and less than 1"]
    for name, value in thresholds.items():
        if queue.field_spec(name) is None:
            errors[f"threshold-{name}"] = [f"the queue has no field {name!r}"]
        elif not 0 <= value <= 1:
            errors[f"threshold-{name}"] = ["must be between 0 and 1"]
    if errors:
        raise ValidationError(errors)
    spec = queue_spec(queue)
    spec["target_error_rate"] = target_error_rate
    spec["fields"] = [
        {**f, "threshold": thresholds[f["name"]]} if f["name"] in thresholds else f
        for f in queue.field_schema
    ]
    updated, _ = queue_apply(spec=spec, actor=actor, reason=reason.strip())
    return updated


def queue_spec(queue: Queue) -> dict[str, Any]:
    """A queue as queue_apply takes it: everything it has now, members included."""
    return {
        "slug": queue.slug,
        "name": queue.name,
        "description": queue.description,
        "default_threshold": queue.default_threshold,
        "qa_sample_rate": queue.qa_sample_rate,
        "double_review_rate": queue.double_review_rate,
        "alternative_margin": queue.alternative_margin,
        "sla_minutes": queue.sla_minutes,
        "lease_minutes": queue.lease_minutes,
        "blind_review": queue.blind_review,
        "target_error_rate": queue.target_error_rate,
        "qa_adaptive_width": queue.qa_adaptive_width,
        "fields": list(queue.field_schema),
        "reviewers": sorted(queue.reviewers.values_list("username", flat=True)),
        "leads": sorted(queue.leads.values_list("username", flat=True)),
    }
