"""Calibration arithmetic against small datasets computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.calibration import fitting


def test_reliability_bins_are_counted_by_hand():
    confidence = [0.05, 0.15, 0.15, 0.95, 1.0]
    correct = [0, 1, 0, 1, 1]
    bins = fitting.reliability(confidence, correct)
    assert len(bins) == 10
    assert [b.count for b in bins] == [1, 1 + 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert (bins[0].mean_confidence, bins[0].accuracy) == (pytest.approx(0.05), 0.0)
    assert (bins[1].mean_confidence, bins[1].accuracy) == (pytest.approx(0.15), 0.5)
    # A confidence of exactly 1 belongs in the last bin, not an eleventh.
    assert (bins[9].mean_confidence, bins[9].accuracy) == (pytest.approx(0.975), 1.0)
    assert bins[5].mean_confidence is None and bins[5].accuracy is None


def test_ece_and_brier_match_the_hand_computation():
    confidence = [0.05, 0.15, 0.15, 0.95, 1.0]
    correct = [0, 1, 0, 1, 1]
    # ECE = (1 * |0 - .05| + 2 * |.5 - .15| + 2 * |1 - .975|) / 5 = (.05 + .7 + .05) / 5
    assert fitting.ece(confidence, correct) == pytest.approx(0.16)
    # Brier = (.05² + .85² + .15² + .05² + 0²) / 5 = (.0025 + .7225 + .0225 + .0025) / 5
    assert fitting.brier(confidence, correct) == pytest.approx(0.15)


def test_a_calibrated_agent_has_no_calibration_error():
    confidence, correct = [0.8] * 10, [1] * 8 + [0] * 2
    assert fitting.ece(confidence, correct) == pytest.approx(0.0)
    assert fitting.brier(confidence, correct) == pytest.approx((8 * 0.04 + 2 * 0.64) / 10)


@pytest.mark.parametrize(
    ("labels", "right", "method"),
    [
        (29, 20, None),  # too few for anything
        (40, 40, None),  # all right: nothing to separate
        (30, 25, "platt"),
        (199, 150, "platt"),  # isotonic needs 200
        (200, 185, "platt"),  # ... and 20 wrong
        (200, 180, "isotonic"),
        (5000, 4980, "isotonic"),
    ],
)
def test_the_method_follows_the_sample_size(labels, right, method):
    assert fitting.choose_method(labels, right) == method


def test_too_few_labels_fit_nothing_and_say_so():
    assert fitting.fit([0.9] * 29, [1] * 20 + [0] * 9) is None
    assert fitting.not_enough_labels(29, 20) == "not enough labels (29 of 30 needed)"


def _overconfident(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Says 0.90-0.99, is right about 70 % of the time whatever it says."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.9, 0.99, n)
    return confidence, (rng.random(n) < 0.7).astype(float)


def test_an_overconfident_agent_is_calibrated_down_and_the_error_shrinks():
    confidence, correct = _overconfident(400)
    result = fitting.fit(confidence, correct)
    assert result.method == "isotonic"
    assert 0.6 < fitting.apply_one(result.method, result.parameters, 0.96) < 0.8
    assert result.ece_after < result.ece_before / 2
    assert result.brier_after < result.brier_before
    assert result.report()["evaluation"] == "5-fold cross-validation, out-of-fold predictions"


def test_platt_below_the_isotonic_minimum_also_pulls_it_down():
    confidence, correct = _overconfident(60)
    result = fitting.fit(confidence, correct)
    assert result.method == "platt"
    assert fitting.apply_one("platt", result.parameters, 0.96) < 0.85


def test_a_stored_isotonic_calibrator_needs_only_numpy_interp():
    from sklearn.isotonic import IsotonicRegression

    confidence, correct = _overconfident(400)
    confidence[:100] = np.linspace(0.3, 0.9, 100)  # some spread, so there are several steps
    correct[:100] = (confidence[:100] > 0.6).astype(float)
    parameters = json.loads(json.dumps(fitting.fit_parameters("isotonic", confidence, correct)))
    model = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(confidence, correct)
    probe = np.array([0.0, 0.35, 0.61, 0.95, 1.0])
    assert np.allclose(np.interp(probe, parameters["x"], parameters["y"]), model.predict(probe))
    assert np.allclose(fitting.apply("isotonic", parameters, probe), model.predict(probe))


def test_a_confidence_that_never_changes_is_uninformative():
    auc = fitting.auc([0.93] * 100, [1] * 70 + [0] * 30)
    assert auc.value == pytest.approx(0.5)
    assert auc.uninformative


def test_a_confidence_unrelated_to_being_right_is_uninformative():
    confidence, correct = _overconfident(600, seed=3)
    auc = fitting.auc(confidence, correct)
    assert 0.45 <= auc.value <= 0.55 and auc.low < 0.5 < auc.high
    assert fitting.fit(confidence, correct).uninformative


def test_a_confidence_that_ranks_right_above_wrong_is_informative():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 300)
    correct = (rng.random(300) < confidence).astype(float)  # right as often as it says
    auc = fitting.auc(confidence, correct)
    assert auc.value > 0.6 and auc.low > 0.5
    assert not auc.uninformative


def test_auc_needs_a_few_of_each_outcome():
    assert fitting.auc([0.9] * 50, [1] * 46 + [0] * 4) is None


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_applying_one_confidence_agrees_with_the_array_version(method):
    confidence, correct = _overconfident(400)
    confidence[:100] = np.linspace(0.3, 0.9, 100)
    correct[:100] = (confidence[:100] > 0.6).astype(float)
    parameters = fitting.fit_parameters(method, confidence, correct)
    probe = [0.0, 0.2, 0.3, 0.45, 0.6, 0.61, 0.9, 0.93, 0.97, 0.99, 1.0, *confidence[:50]]
    one = [fitting.apply_one(method, parameters, c) for c in probe]
    assert np.allclose(one, fitting.apply(method, parameters, probe))
