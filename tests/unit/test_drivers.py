"""models_py.drivers.top_drivers: the occlusion deltas worked by hand on a model whose effects are
known, and the same reasons whatever the chunks and threads."""
from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.drivers import DRIVER_GROUPS, top_drivers

REFERENCE = {"recency_days": 30.0, "r_score": 3.0, "mean_days_between_orders": 20.0, "frequency": 5.0,
             "distinct_order_days": 5.0, "f_score": 3.0, "orders_30d": 0.0, "orders_90d": 1.0,
             "orders_180d": 2.0, "revenue_30d": 0.0, "revenue_90d": 100.0, "revenue_180d": 200.0,
             "orders_trend_90d": 0.0, "revenue_trend_90d": 0.0, "monetary": 1000.0, "m_score": 3.0,
             "avg_order_value": 200.0, "tenure_days": 400.0, "return_rate": 0.05, "distinct_products": 30.0,
             "q4_order_share": 0.25, "orders_same_window_last_year": 1.0, "revenue_same_window_last_year": 150.0,
             "country": "United Kingdom"}


def _predict(X: pd.DataFrame) -> np.ndarray:
    """A model with known effects: +0.002 per day of recency above 30, -0.1 per extra order in 90
    days, +0.3 outside the United Kingdom (0.2 at the reference customer)."""
    return (0.2 + 0.002 * (X["recency_days"] - 30) - 0.1 * (X["orders_90d"] - 1)
            + 0.3 * (X["country"] != "United Kingdom")).to_numpy(dtype="float64")


def _customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({c: np.full(n, v) for c, v in REFERENCE.items()})
    X["recency_days"] = rng.integers(0, 200, n).astype(float)
    X["orders_90d"] = rng.integers(0, 4, n).astype(float)
    X["country"] = np.where(rng.uniform(size=n) < 0.3, "France", "United Kingdom")
    return X


def test_reasons_worked_by_hand():
    X = pd.DataFrame([REFERENCE] * 3)
    X.loc[0, ["recency_days", "country"]] = [130.0, "France"]  # +0.2 recency, +0.3 country: p = 0.7
    X.loc[1, "orders_90d"] = 3.0                                 # -0.2 activity: p = 0.0
    X.loc[2, ["recency_days", "orders_90d"]] = [35.0, 1.0]       # +0.01 recency only: p = 0.21
    p = _predict(X)
    np.testing.assert_allclose(p, [0.7, 0.0, 0.21])
    texts = top_drivers(_predict, X, p, REFERENCE, base_rate=0.2)
    # above the base rate: what raises the risk, strongest first (country 0.3, then recency 0.2)
    assert texts[0] == "based in France; no order in 130 days, usually orders every 20 days"
    # below it: what lowers the risk (activity -0.2); the rest is under 0.01
    assert texts[1] == "3 orders in the last 90 days (5 in total)"
    # at 0.21 only recency moves it, by 0.01 (the threshold, kept)
    assert texts[2] == "no order in 35 days, usually orders every 20 days"


def test_the_same_reasons_for_any_chunks_and_threads():
    X = _customers(2_503, seed=1)
    p = _predict(X)
    whole = top_drivers(_predict, X, p, REFERENCE, 0.3, jobs=1, chunk_rows=10**9)
    assert len(set(whole)) > 5
    for jobs, chunk_rows in ((1, 100), (2, 10**9), (2, 97), (3, 1_000)):
        assert top_drivers(_predict, X, p, REFERENCE, 0.3, jobs=jobs, chunk_rows=chunk_rows) == whole
    assert top_drivers(_predict, X.iloc[:0], p[:0], REFERENCE, 0.3, jobs=2) == []
    assert set(DRIVER_GROUPS) >= {"recency", "activity", "country"}
