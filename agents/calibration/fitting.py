"""Calibration arithmetic: pure numpy and scikit-learn, no database.

Inputs are two arrays of one agent, agent version and field: the confidence the agent stated
and whether it was right (1: the reviewer's verdict was "correct", 0: "corrected"; fields found
"undeterminable" say nothing about the agent and are left out by the caller).

- reliability(): 10 equal-width confidence bins with mean confidence, observed accuracy, count.
- ece(): expected calibration error, |accuracy - confidence| per bin weighted by its count.
- brier(): mean squared difference between confidence and outcome.
- auc(): how well confidence ranks right above wrong, with a 95 % interval (Hanley & McNeil).
- fit(): picks the method by sample size, fits it on all labels, and measures ECE and Brier
  before and after on out-of-fold predictions (k-fold cross-validation), never on the data the
  calibrator was fitted to.

A fitted calibrator is plain JSON (isotonic: its thresholds for numpy.interp; Platt: two
numbers), so applying one needs no pickle and no scikit-learn.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BINS = 10
# Isotonic regression bends to the data: it needs many labels, and enough of each outcome, or it
# learns the noise (a step to 0 % or 100 % from a handful of labels).
ISOTONIC_MIN_LABELS = 200
ISOTONIC_MIN_PER_CLASS = 20
# Platt scaling has two parameters and mild L2 shrinkage: it bends little with few labels.
PLATT_MIN_LABELS = 30
CV_FOLDS = 5
# A field's confidence carries no information when its AUC is within this band and the 95 %
# interval covers 0.5; below MIN_PER_CLASS of either outcome we cannot tell.
UNINFORMATIVE_BAND = (0.45, 0.55)
AUC_MIN_PER_CLASS = 5
Z_95 = 1.959964
# Keeps logit() finite for confidences of exactly 0 or 1.
EPS = 1e-6


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    mean_confidence: float | None  # None for an empty bin
    accuracy: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "count": self.count,
            "mean_confidence": self.mean_confidence,
            "accuracy": self.accuracy,
        }


def _arrays(confidence: Any, correct: Any) -> tuple[np.ndarray, np.ndarray]:
    c = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    y = np.asarray(correct, dtype=float)
    if c.shape != y.shape or c.ndim != 1:
        raise ValueError("confidence and correct must be 1-d arrays of one length")
    return c, y


def _bin_index(c: np.ndarray, bins: int = BINS) -> np.ndarray:
    # [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]: a confidence of exactly 1 goes in the last bin.
    return np.minimum((c * bins).astype(int), bins - 1)


def reliability(confidence: Any, correct: Any, bins: int = BINS) -> list[Bin]:
    c, y = _arrays(confidence, correct)
    index = _bin_index(c, bins)
    result = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        result.append(
            Bin(
                low=b / bins,
                high=(b + 1) / bins,
                count=count,
                mean_confidence=float(c[inside].mean()) if count else None,
                accuracy=float(y[inside].mean()) if count else None,
            )
        )
    return result


def ece(confidence: Any, correct: Any, bins: int = BINS) -> float:
    c, y = _arrays(confidence, correct)
    if not len(c):
        return 0.0
    total = sum(
        b.count * abs(b.accuracy - b.mean_confidence) for b in reliability(c, y, bins) if b.count
    )
    return float(total / len(c))


def brier(confidence: Any, correct: Any) -> float:
    c, y = _arrays(confidence, correct)
    return float(np.mean((c - y) ** 2)) if len(c) else 0.0


@dataclass(frozen=True)
class Auc:
    value: float
    low: float
    high: float

    @property
    def uninformative(self) -> bool:
        """Confidence ranks right and wrong answers no better than a coin."""
        band_low, band_high = UNINFORMATIVE_BAND
        return band_low <= self.value <= band_high and self.low <= 0.5 <= self.high


def auc(confidence: Any, correct: Any) -> Auc | None:
    """AUC of confidence as a predictor of being right, with a 95 % interval from Hanley &
    McNeil's standard error; None with fewer than AUC_MIN_PER_CLASS of either outcome."""
    from sklearn.metrics import roc_auc_score

    c, y = _arrays(confidence, correct)
    right, wrong = int(y.sum()), int(len(y) - y.sum())
    if min(right, wrong) < AUC_MIN_PER_CLASS:
        return None
    a = float(roc_auc_score(y, c))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (right - 1) * (q1 - a * a) + (wrong - 1) * (q2 - a * a)) / (
        right * wrong
    )
    spread = Z_95 * math.sqrt(max(variance, 0.0))
    return Auc(a, max(0.0, a - spread), min(1.0, a + spread))


def choose_method(n_labels: int, n_correct: int) -> str | None:
    """Isotonic with plenty of labels of both outcomes, Platt with some, none below that."""
    n_wrong = n_labels - n_correct
    if n_labels >= ISOTONIC_MIN_LABELS and min(n_correct, n_wrong) >= ISOTONIC_MIN_PER_CLASS:
        return "isotonic"
    # Platt needs both outcomes: logistic regression on one class has nothing to separate.
    if n_labels >= PLATT_MIN_LABELS and min(n_correct, n_wrong) >= 1:
        return "platt"
    return None


def not_enough_labels(n_labels: int, n_correct: int) -> str:
    """Why no calibrator is fitted, in words, for a method choice of None."""
    if n_labels < PLATT_MIN_LABELS:
        return f"not enough labels ({n_labels} of {PLATT_MIN_LABELS} needed)"
    return "not enough labels: every label says the same (all right or all wrong)"


def _logit(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, EPS, 1 - EPS)
    return np.log(c / (1 - c))


def fit_parameters(method: str, confidence: Any, correct: Any) -> dict[str, Any]:
    """Fit one method; JSON parameters. Training data of one outcome gives a constant."""
    c, y = _arrays(confidence, correct)
    if len(np.unique(y)) < 2:
        return {"constant": float(y.mean()) if len(y) else 0.5}
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(c, y)
        return {
            "x": [float(v) for v in model.X_thresholds_],
            "y": [float(v) for v in model.y_thresholds_],
        }
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0).fit(_logit(c).reshape(-1, 1), y)
        return {"a": float(model.coef_[0][0]), "b": float(model.intercept_[0])}
    raise ValueError(f"unknown calibration method {method!r}")


def apply(method: str, parameters: dict[str, Any], confidence: Any) -> np.ndarray:
    """Calibrated confidences for raw ones, from the stored parameters alone."""
    c = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    if "constant" in parameters:
        return np.full_like(c, parameters["constant"])
    if method == "isotonic":
        # np.interp holds the end values beyond the thresholds: out_of_bounds="clip".
        return np.interp(c, parameters["x"], parameters["y"])
    if method == "platt":
        return 1 / (1 + np.exp(-(parameters["a"] * _logit(c) + parameters["b"])))
    raise ValueError(f"unknown calibration method {method!r}")


def apply_one(method: str, parameters: dict[str, Any], confidence: float) -> float:
    """apply() for one confidence, in plain Python: ingest calls it for every field, where
    numpy's per-call overhead would cost more than the arithmetic (about 10x)."""
    c = min(max(float(confidence), 0.0), 1.0)
    if "constant" in parameters:
        return float(parameters["constant"])
    if method == "isotonic":
        x, y = parameters["x"], parameters["y"]
        if c <= x[0]:
            return float(y[0])
        if c >= x[-1]:
            return float(y[-1])
        i = bisect.bisect_right(x, c)
        share = (c - x[i - 1]) / (x[i] - x[i - 1])
        return float(y[i - 1] + share * (y[i] - y[i - 1]))
    if method == "platt":
        c = min(max(c, EPS), 1 - EPS)
        z = parameters["a"] * math.log(c / (1 - c)) + parameters["b"]
        return 1 / (1 + math.exp(-z)) if z >= -700 else 0.0
    raise ValueError(f"unknown calibration method {method!r}")


@dataclass(frozen=True)
class Fit:
    method: str
    parameters: dict[str, Any]
    n_labels: int
    n_correct: int
    ece_before: float
    ece_after: float
    brier_before: float
    brier_after: float
    folds: int
    reliability_before: list[Bin] = field(default_factory=list)
    reliability_after: list[Bin] = field(default_factory=list)  # out-of-fold predictions
    auc: Auc | None = None

    @property
    def uninformative(self) -> bool:
        return self.auc is not None and self.auc.uninformative

    def report(self) -> dict[str, Any]:
        """What Calibrator.report keeps: enough to draw both reliability diagrams again."""
        return {
            "evaluation": f"{self.folds}-fold cross-validation, out-of-fold predictions",
            "reliability_before": [b.as_dict() for b in self.reliability_before],
            "reliability_after": [b.as_dict() for b in self.reliability_after],
            "auc": None
            if self.auc is None
            else {"value": self.auc.value, "low": self.auc.low, "high": self.auc.high},
        }


def _folds(y: np.ndarray, seed: int) -> tuple[int, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority >= 2:
        splitter = StratifiedKFold(min(CV_FOLDS, minority), shuffle=True, random_state=seed)
        return splitter.n_splits, list(splitter.split(np.zeros(len(y)), y))
    splitter = KFold(CV_FOLDS, shuffle=True, random_state=seed)
    return CV_FOLDS, list(splitter.split(np.zeros(len(y))))


def out_of_fold(method: str, c: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[int, np.ndarray]:
    """Each label's calibrated confidence from a calibrator fitted without it."""
    folds, splits = _folds(y, seed)
    predicted = np.empty_like(c)
    for train, test in splits:
        predicted[test] = apply(method, fit_parameters(method, c[train], y[train]), c[test])
    return folds, predicted


def fit(confidence: Any, correct: Any, *, seed: int = 0) -> Fit | None:
    """Choose a method by sample size, fit it on every label, measure it cross-validated.

    None when there are too few labels (see choose_method): the raw confidence stands.
    """
    c, y = _arrays(confidence, correct)
    n_correct = int(y.sum())
    method = choose_method(len(c), n_correct)
    if method is None:
        return None
    folds, predicted = out_of_fold(method, c, y, seed)
    return Fit(
        method=method,
        parameters=fit_parameters(method, c, y),
        n_labels=len(c),
        n_correct=n_correct,
        ece_before=ece(c, y),
        ece_after=ece(predicted, y),
        brier_before=brier(c, y),
        brier_after=brier(predicted, y),
        folds=folds,
        reliability_before=reliability(c, y),
        reliability_after=reliability(predicted, y),
        auc=auc(c, y),
    )
