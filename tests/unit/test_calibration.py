"""models_py.calibration: the calibrators, the season offset and the calibration metrics."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from models_py.calibration import (
    SMOOTH_CALIBRATORS, expected_calibration_error, fit_calibrator, reliability_table, season_offset, shift,
)


@pytest.fixture(scope="module")
def miscalibrated():
    """Scores whose true probability is expit(2 logit(s) - 0.5): too timid and too high."""
    rng = np.random.default_rng(3)
    s = rng.uniform(0.02, 0.98, 20_000)
    y = (rng.random(len(s)) < expit(2.0 * logit(s) - 0.5)).astype(int)
    return s, y


@pytest.mark.parametrize("method", SMOOTH_CALIBRATORS)
def test_smooth_calibrators_are_strictly_increasing_and_never_reach_0_or_1(miscalibrated, method):
    s, y = miscalibrated
    calibrator = fit_calibrator(method, s, y)
    grid = np.linspace(1e-4, 1 - 1e-4, 5001)
    p = calibrator.apply(grid)
    assert np.all(np.diff(p) > 0), "ties only where the scores tie"
    assert np.all((p > 0) & (p < 1))
    assert len(np.unique(calibrator.apply(s))) == len(np.unique(s))


def test_plain_isotonic_ties_customers_that_the_model_told_apart(miscalibrated):
    s, y = miscalibrated
    p = fit_calibrator("isotonic", s, y).apply(s)
    assert len(np.unique(p)) < len(np.unique(s)) / 10


@pytest.mark.parametrize("method", SMOOTH_CALIBRATORS)
def test_calibrators_recover_the_true_probabilities(miscalibrated, method):
    s, y = miscalibrated
    truth = expit(2.0 * logit(s) - 0.5)
    p = fit_calibrator(method, s, y).apply(s)
    assert np.mean(np.abs(p - truth)) < 0.02
    # uncalibrated, the scores are far off
    assert np.mean(np.abs(s - truth)) > 0.05


def test_sigmoid_finds_the_slope_and_intercept(miscalibrated):
    s, y = miscalibrated
    a, b = fit_calibrator("sigmoid", s, y).params
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-0.5, abs=0.1)


def test_season_offset_moves_the_mean_to_the_observed_rate():
    # every prediction 0.5, one in four churned: the shift is logit(0.25) and the mean 0.25
    p, y = np.full(8, 0.5), np.array([1, 0, 0, 0, 1, 0, 0, 0])
    offset = season_offset(p, y)
    assert offset == pytest.approx(logit(0.25), abs=1e-8)
    assert shift(p, offset).mean() == pytest.approx(0.25, abs=1e-8)
    # spread predictions: the shifted mean matches although the shift is not logit(rate) - logit(mean)
    rng = np.random.default_rng(1)
    q = rng.uniform(0.05, 0.95, 500)
    z = (rng.random(500) < 0.3).astype(int)
    assert shift(q, season_offset(q, z)).mean() == pytest.approx(z.mean(), abs=1e-8)
    assert shift(q, 0.0) is not None and np.array_equal(shift(q, 0.0), q)


def test_expected_calibration_error_worked_by_hand():
    # two bins of two: {0.1, 0.3} observed 0 vs mean 0.2; {0.6, 0.8} observed 1 vs 0.7 -> (2*0.2 + 2*0.3)/4
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.6, 0.8])
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.25)


def test_reliability_table_has_the_wilson_interval():
    # 5 of 10 churned: the 95% Wilson interval is 0.2366 .. 0.7634 (textbook value)
    y = np.array([1, 0] * 5)
    p = np.linspace(0.3, 0.7, 10)
    ((_, mean_p, rate, low, high, n),) = reliability_table(y, p, bins=1)
    assert (rate, n) == (0.5, 10) and mean_p == pytest.approx(0.5)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
