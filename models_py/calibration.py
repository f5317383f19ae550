"""Probability calibrators and the calibration metrics they are chosen by.

A calibrator maps a model's scores (probabilities in (0, 1)) to calibrated probabilities. It is
fitted on out-of-fold scores, so it learns how the model errs on rows it did not see. Every
calibrator here except ``isotonic`` is strictly increasing and never returns exactly 0 or 1, so
two customers get the same probability only when the model gave them the same score:

* ``sigmoid``: Platt scaling, logit(p) = a * logit(s) + b.
* ``beta``: beta calibration (Kull, Silva Filho & Flach 2017), logit(p) = a ln s - b ln(1 - s) + c
  with a, b >= 0; it can bend where Platt can only stretch.
* ``isotonic``: the pool-adjacent-violators step function (scikit-learn). Steps tie many
  customers and reach 0 or 1 where a bin was pure; it is measured for comparison only.
* ``isotonic_smoothed``: the isotonic steps' centres, with the rate of each step shrunk away from
  0 and 1 ((events + 0.5) / (rows + 1)), joined by a monotone cubic (PCHIP) in logit space and
  extended linearly beyond the outer steps: the shape of isotonic without its steps.

``season_offset`` is the prior-shift correction: the shift in logit space that makes the mean
prediction of a reference set (the same window a year earlier) equal its observed rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = [
    "CALIBRATORS",
    "SMOOTH_CALIBRATORS",
    "Calibrator",
    "expected_calibration_error",
    "fit_calibrator",
    "reliability_table",
    "season_offset",
    "shift",
]

CALIBRATORS: tuple[str, ...] = ("sigmoid", "beta", "isotonic", "isotonic_smoothed")
# Calibrators whose output is strictly increasing in the score and never exactly 0 or 1.
SMOOTH_CALIBRATORS: tuple[str, ...] = ("sigmoid", "beta", "isotonic_smoothed")
_EPS = 1e-6  # scores are clipped to [eps, 1 - eps] before taking logs
_MIN_STEP_ROWS = 30  # isotonic_smoothed merges steps smaller than this


def _clip(s) -> np.ndarray:
    return np.clip(np.asarray(s, dtype="float64"), _EPS, 1 - _EPS)


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibrator: ``apply(scores)`` -> calibrated probabilities."""

    method: str
    params: tuple

    def apply(self, scores) -> np.ndarray:
        s = _clip(scores)
        if self.method == "sigmoid":
            a, b = self.params
            return expit(a * logit(s) + b)
        if self.method == "beta":
            a, b, c = self.params
            return expit(a * np.log(s) - b * np.log1p(-s) + c)
        if self.method == "isotonic":
            (model,) = self.params
            return model.predict(s)
        if self.method == "isotonic_smoothed":
            knots_x, knots_y, slope_low, slope_high = self.params
            z = logit(s)
            inner = PchipInterpolator(knots_x, knots_y, extrapolate=False)(np.clip(z, knots_x[0], knots_x[-1]))
            below = knots_y[0] + slope_low * (z - knots_x[0])
            above = knots_y[-1] + slope_high * (z - knots_x[-1])
            return expit(np.where(z < knots_x[0], below, np.where(z > knots_x[-1], above, inner)))
        raise ValueError(f"unknown calibrator {self.method!r}")


def _logistic(X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    # almost unpenalised: a calibrator has two or three parameters and thousands of rows
    return LogisticRegression(C=1e6, max_iter=1000).fit(X, y)


def _fit_beta(s: np.ndarray, y: np.ndarray) -> tuple:
    X = np.column_stack([np.log(s), -np.log1p(-s)])
    model = _logistic(X, y)
    a, b = model.coef_[0]
    if a < 0 or b < 0:  # the unconstrained fit would not be monotone: fall back to one of the two terms
        keep = 0 if a >= b else 1
        single = _logistic(X[:, [keep]], y)
        coef = max(float(single.coef_[0][0]), 0.0)
        a, b = (coef, 0.0) if keep == 0 else (0.0, coef)
        return (a, b, float(single.intercept_[0]))
    return (float(a), float(b), float(model.intercept_[0]))


def _fit_isotonic_smoothed(s: np.ndarray, y: np.ndarray) -> tuple:
    z = logit(s)
    order = np.argsort(z, kind="mergesort")
    z, y = z[order], y[order]
    steps = IsotonicRegression(out_of_bounds="clip").fit(z, y).predict(z)
    # consecutive rows with the same fitted value form one step; small steps join their neighbour
    starts = np.flatnonzero(np.r_[True, np.diff(steps) != 0])
    bounds = list(starts) + [len(z)]
    groups: list[tuple[int, int]] = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if groups and (groups[-1][1] - groups[-1][0] < _MIN_STEP_ROWS or hi - lo < _MIN_STEP_ROWS):
            groups[-1] = (groups[-1][0], hi)
        else:
            groups.append((lo, hi))
    centres = np.array([z[lo:hi].mean() for lo, hi in groups])
    rates = np.array([(y[lo:hi].sum() + 0.5) / (hi - lo + 1.0) for lo, hi in groups])
    rates = np.maximum.accumulate(rates)  # merging keeps the order; shrinkage must too
    knots_y = logit(rates)
    keep = np.r_[True, (np.diff(centres) > 1e-9) & (np.diff(knots_y) > 1e-9)]
    centres, knots_y = centres[keep], knots_y[keep]
    if len(centres) < 2:  # a single step: nothing to smooth, use Platt's line
        a, b = _fit_sigmoid(s, y)
        return (np.array([-1.0, 1.0]), np.array([b - a, b + a]), a, a)
    slopes = np.diff(knots_y) / np.diff(centres)
    return (centres, knots_y, float(slopes[0]), float(slopes[-1]))


def _fit_sigmoid(s: np.ndarray, y: np.ndarray) -> tuple:
    model = _logistic(logit(s).reshape(-1, 1), y)
    return (float(model.coef_[0][0]), float(model.intercept_[0]))


def fit_calibrator(method: str, scores, y) -> Calibrator:
    """Fit one calibrator on (out-of-fold) scores and 0/1 outcomes."""
    s, y = _clip(scores), np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("a calibrator needs both outcomes among its rows")
    if method == "sigmoid":
        return Calibrator(method, _fit_sigmoid(s, y))
    if method == "beta":
        return Calibrator(method, _fit_beta(s, y))
    if method == "isotonic":
        return Calibrator(method, (IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y),))
    if method == "isotonic_smoothed":
        return Calibrator(method, _fit_isotonic_smoothed(s, y))
    raise ValueError(f"unknown calibrator {method!r}; choose from {CALIBRATORS}")


def shift(p, offset: float) -> np.ndarray:
    """Probabilities moved by ``offset`` in logit space (0 leaves them as they are)."""
    p = np.asarray(p, dtype="float64")
    if offset == 0:
        return p
    return expit(logit(np.clip(p, 1e-12, 1 - 1e-12)) + offset)


def season_offset(p_reference, y_reference) -> float:
    """The logit shift that makes the mean of ``p_reference`` equal the observed rate of
    ``y_reference`` (both from the same window one year earlier)."""
    p = np.asarray(p_reference, dtype="float64")
    target = float(np.mean(y_reference))
    target = min(max(target, 1e-4), 1 - 1e-4)
    gap = lambda d: float(np.mean(shift(p, d))) - target  # noqa: E731
    return float(brentq(gap, -10.0, 10.0, xtol=1e-10))


def expected_calibration_error(y, p, bins: int = 10) -> float:
    """Mean |observed rate - mean prediction| over equal-count bins of prediction, by size."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    order = np.argsort(p, kind="mergesort")
    total = 0.0
    for part in np.array_split(order, min(bins, len(p))):
        total += len(part) * abs(y[part].mean() - p[part].mean())
    return total / len(p)


def reliability_table(y, p, bins: int = 10):
    """Rows (bin, mean_predicted, observed_rate, low, high, customers) over equal-count bins of
    prediction; low/high are the 95% Wilson interval of the observed rate."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    order = np.argsort(p, kind="mergesort")
    rows = []
    for k, part in enumerate(np.array_split(order, min(bins, len(p))), start=1):
        n, rate = len(part), float(y[part].mean())
        z = 1.959963984540054
        centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        rows.append((k, float(p[part].mean()), rate, max(0.0, centre - half), min(1.0, centre + half), n))
    return rows
