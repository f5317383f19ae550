"""Tests for models_py.churn on a small synthetic order simulator.

The simulator draws, per customer, a first-order day, a usual gap between orders (Gamma, mean 30
days), a lifetime after which the customer stops buying (Exponential, mean 300 days) and a basket
value. Orders follow a renewal process while the customer is alive. Features per cutoff are computed
from orders strictly before the cutoff exactly as the contract defines them, and churned = no order
in [cutoff, cutoff + horizon). So churn is driven by recency relative to the usual gap, frequency and
age -- learnable, but not trivially.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py.churn import CANDIDATE_MODELS, FEATURES, train_and_score

AS_OF = pd.Timestamp("2011-12-10")
HORIZON = 90
CADENCE = 30
SNAPSHOTS = 12
HISTORY_DAYS = 720
COUNTRIES = ["United Kingdom"] * 16 + ["Germany", "France", "EIRE", "Spain", "Iceland", "Malta"]


def _simulate_orders(n_customers: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        first = int(rng.integers(0, HISTORY_DAYS - 1))
        gap = rng.gamma(2.0, 15.0)
        life = rng.exponential(300.0)
        basket = rng.lognormal(5.0, 0.7)
        t = float(first)
        while t < HISTORY_DAYS and t <= first + life:
            rows.append((f"C{i:05d}", int(t), basket * rng.lognormal(0.0, 0.3)))
            t += 1.0 + rng.exponential(gap)
    orders = pd.DataFrame(rows, columns=["customer_id", "day", "value"])
    customers = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n_customers)]})
    customers["country"] = rng.choice(COUNTRIES, size=n_customers)
    customers["return_share"] = rng.beta(1.0, 20.0, size=n_customers)
    customers["products_per_order"] = rng.uniform(2.0, 12.0, size=n_customers)
    return orders.merge(customers, on="customer_id")


def _ntile5(values: pd.Series, ascending: bool) -> np.ndarray:
    order = np.lexsort((values.index.to_numpy(), values.to_numpy() if ascending else -values.to_numpy()))
    tiles = np.empty(len(values), dtype=float)
    tiles[order] = np.arange(len(values)) * 5 // len(values) + 1
    return tiles


def _features_at(orders: pd.DataFrame, cutoff_day: int) -> pd.DataFrame:
    start = AS_OF - pd.Timedelta(days=HISTORY_DAYS)
    past = orders[orders["day"] < cutoff_day].copy()
    past["month"] = (start + pd.to_timedelta(past["day"], unit="D")).dt.month
    past["age"] = cutoff_day - past["day"]
    g = past.groupby("customer_id", sort=True)
    f = pd.DataFrame(
        {
            "first": g["day"].min(),
            "last": g["day"].max(),
            "frequency": g.size().astype(float),
            "distinct_order_days": g["day"].nunique().astype(float),
            "gross": g["value"].sum(),
            "country": g["country"].last(),
            "return_share": g["return_share"].first(),
            "products_per_order": g["products_per_order"].first(),
            "q4_order_share": g["month"].apply(lambda m: float((m >= 10).mean())),
        }
    )
    for n in (30, 90, 180):
        recent = past[past["age"] <= n]
        f[f"orders_{n}d"] = recent.groupby("customer_id").size().reindex(f.index, fill_value=0).astype(float)
        f[f"revenue_{n}d"] = recent.groupby("customer_id")["value"].sum().reindex(f.index, fill_value=0.0)
    f["tenure_days"] = (cutoff_day - f["first"]).astype(float)
    f["recency_days"] = (cutoff_day - f["last"]).astype(float)
    f["monetary"] = f["gross"] * (1 - f["return_share"])
    f["avg_order_value"] = f["gross"] / f["frequency"]
    f["mean_days_between_orders"] = np.where(
        f["distinct_order_days"] >= 2,
        (f["last"] - f["first"]) / (f["distinct_order_days"] - 1).clip(lower=1),
        np.nan,
    )
    f["orders_trend_90d"] = f["orders_90d"] - (f["orders_180d"] - f["orders_90d"])
    f["revenue_trend_90d"] = f["revenue_90d"] - (f["revenue_180d"] - f["revenue_90d"])
    f["return_rate"] = f["return_share"]
    f["distinct_products"] = np.ceil(f["frequency"] * f["products_per_order"])
    last_year = past[(past["day"] >= cutoff_day - 365) & (past["day"] < cutoff_day - 365 + HORIZON)]
    known = f["first"] < cutoff_day - 365  # NULL, not 0, for a history shorter than a year
    f["orders_same_window_last_year"] = (
        last_year.groupby("customer_id").size().reindex(f.index, fill_value=0).astype(float).where(known))
    f["revenue_same_window_last_year"] = (
        last_year.groupby("customer_id")["value"].sum().reindex(f.index, fill_value=0.0).where(known))
    f["r_score"] = _ntile5(f["recency_days"], ascending=False)
    f["f_score"] = _ntile5(f["frequency"], ascending=True)
    f["m_score"] = _ntile5(f["monetary"], ascending=True)
    f["cutoff_date"] = start + pd.Timedelta(days=cutoff_day)
    f["snapshot_index"] = (HISTORY_DAYS - cutoff_day) // CADENCE
    return f.reset_index()[["customer_id", "cutoff_date", "snapshot_index"] + list(FEATURES)]


def simulate(n_customers: int = 1500, seed: int = 0, noise_label: bool = False):
    """Return (training_snapshots, customer_features) shaped like the dbt feature tables."""
    orders = _simulate_orders(n_customers, seed)
    frames = []
    for k in range(1, SNAPSHOTS + 1):
        cutoff_day = HISTORY_DAYS - k * CADENCE
        f = _features_at(orders, cutoff_day)
        future = orders[(orders["day"] >= cutoff_day) & (orders["day"] < cutoff_day + HORIZON)]
        f["orders_in_label_window"] = f["customer_id"].map(future.groupby("customer_id").size()).fillna(0)
        f["churned"] = (f["orders_in_label_window"] == 0).astype(int)
        f["label_window_end_date"] = f["cutoff_date"] + pd.Timedelta(days=HORIZON)
        f["is_label_window_complete"] = f["label_window_end_date"] <= AS_OF
        frames.append(f)
    snapshots = pd.concat(frames, ignore_index=True)
    if noise_label:
        rng = np.random.default_rng(seed + 1)
        snapshots["churned"] = (rng.random(len(snapshots)) < 0.5).astype(int)
    current = _features_at(orders, HISTORY_DAYS)
    return snapshots, current


def _dormant_regular() -> pd.DataFrame:
    """A customer who ordered every 10 days for ~10 months and then nothing for 150 days."""
    row = {
        "customer_id": "Z_DORMANT_REGULAR",
        "cutoff_date": AS_OF,
        "snapshot_index": 0,
        "tenure_days": 440.0,
        "recency_days": 150.0,
        "frequency": 30.0,
        "distinct_order_days": 30.0,
        "monetary": 4500.0,
        "avg_order_value": 150.0,
        "mean_days_between_orders": 10.0,
        "orders_30d": 0.0,
        "orders_90d": 0.0,
        "orders_180d": 3.0,
        "revenue_30d": 0.0,
        "revenue_90d": 0.0,
        "revenue_180d": 450.0,
        "orders_trend_90d": -3.0,
        "revenue_trend_90d": -450.0,
        "return_rate": 0.03,
        "distinct_products": 200.0,
        "q4_order_share": 0.25,
        "orders_same_window_last_year": 9.0,
        "revenue_same_window_last_year": 1350.0,
        "r_score": 1.0,
        "f_score": 5.0,
        "m_score": 5.0,
        "country": "United Kingdom",
    }
    return pd.DataFrame([row])


def _metric(result, model: str, metric: str) -> pd.Series:
    m = result.metrics
    row = m[(m["model"] == model) & (m["metric"] == metric)]
    assert len(row) == 1, (model, metric)
    return row.iloc[0]


@pytest.fixture(scope="module")
def learnable():
    snapshots, current = simulate(seed=0)
    current = pd.concat([current, _dormant_regular()], ignore_index=True)
    return snapshots, current, train_and_score(snapshots, current, AS_OF, HORIZON, random_state=42)


def test_learns_real_signal(learnable):
    _, current, result = learnable
    tag = f"{result.model_name}_calibrated"
    auc = _metric(result, tag, "roc_auc")["value"]
    brier = _metric(result, tag, "brier")["value"]
    brier_base = _metric(result, tag, "brier_base_rate")["value"]
    assert auc > 0.75
    assert brier < brier_base
    # Every candidate was evaluated and exactly one chosen, the one with the best PR-AUC.
    m = result.metrics
    chosen = m[(m["metric"] == "is_chosen") & m["model"].isin(CANDIDATE_MODELS)]
    assert set(chosen["model"]) == {"logistic_regression", "random_forest", "hist_gradient_boosting"}
    assert chosen["value"].sum() == 1
    pr = m[(m["metric"] == "pr_auc") & m["model"].isin(CANDIDATE_MODELS)].set_index("model")["value"]
    assert result.model_name == pr.idxmax()
    # Scores: one row per customer, valid probabilities, bands consistent with the threshold.
    s = result.scores
    assert list(s.columns) == ["customer_id", "churn_probability", "risk_band", "is_predicted_churner", "top_drivers"]
    assert sorted(s["customer_id"]) == sorted(current["customer_id"]) and s["customer_id"].is_unique
    assert s["churn_probability"].between(0, 1).all()
    assert (s["is_predicted_churner"] == (s["churn_probability"] >= result.threshold)).all()
    assert (s.loc[s["risk_band"] == "high", "churn_probability"] >= result.threshold).all()
    assert (s.loc[s["risk_band"] == "low", "churn_probability"] < result.threshold / 2).all()
    assert 0 < result.threshold < 1
    # Calibration deciles cover the whole test cutoff; predictions rise with the decile.
    cal = result.calibration
    assert cal["customers"].sum() == _metric(result, result.model_name, "test_rows")["value"]
    assert cal["decile"].tolist() == list(range(1, 11))
    assert cal["observed_rate"].iloc[-1] > cal["observed_rate"].iloc[0] + 0.3
    # Recency-type features matter most in this simulator.
    top3 = set(result.feature_importance.nsmallest(3, "rank")["feature"])
    assert top3 & {"recency_days", "r_score", "mean_days_between_orders", "orders_90d", "orders_180d"}


def test_out_of_time_split_is_reported(learnable):
    _, _, result = learnable
    test_cutoff = pd.Timestamp(_metric(result, "split", "test_cutoff")["detail"])
    assert test_cutoff == AS_OF - pd.Timedelta(days=HORIZON)
    assert result.test_cutoff == test_cutoff
    train_cutoffs = [pd.Timestamp(d) for d in _metric(result, "split", "train_cutoffs")["detail"].split(",")]
    assert train_cutoffs and max(train_cutoffs) <= AS_OF - pd.Timedelta(days=2 * HORIZON)
    assert max(train_cutoffs) == AS_OF - pd.Timedelta(days=2 * HORIZON)  # 180 is a multiple of 30
    assert len(train_cutoffs) == SNAPSHOTS - 2 * HORIZON // CADENCE + 1
    assert tuple(train_cutoffs) == result.train_cutoffs
    # The final refit uses every cutoff with a complete label window (cutoff + 90 <= as_of).
    final = [pd.Timestamp(d) for d in _metric(result, "split", "final_train_cutoffs")["detail"].split(",")]
    assert min(final) == AS_OF - pd.Timedelta(days=SNAPSHOTS * CADENCE)
    assert max(final) == AS_OF - pd.Timedelta(days=HORIZON)


def test_top_drivers_name_recency_in_days(learnable):
    _, _, result = learnable
    row = result.scores.set_index("customer_id").loc["Z_DORMANT_REGULAR"]
    assert row["is_predicted_churner"]
    assert row["top_drivers"].startswith("no order in 150 days, usually orders every 10 days"), row["top_drivers"]
    assert all(isinstance(t, str) and t for t in result.scores["top_drivers"])


def test_deterministic_and_independent_of_row_order(learnable):
    snapshots, current, first = learnable
    # Second run: rows shuffled and dates as python dates, as another engine might deliver them.
    shuffled = snapshots.sample(frac=1.0, random_state=7).reset_index(drop=True)
    shuffled["cutoff_date"] = shuffled["cutoff_date"].dt.date
    again = train_and_score(shuffled, current.sample(frac=1.0, random_state=3), AS_OF.date(), HORIZON, random_state=42)
    pd.testing.assert_frame_equal(first.scores, again.scores)
    pd.testing.assert_frame_equal(first.metrics, again.metrics)
    assert first.threshold == again.threshold


def test_previous_features_are_scored_by_the_same_final_model(learnable):
    snapshots, current, first = learnable
    again = train_and_score(snapshots, current, AS_OF, HORIZON, random_state=42,
                            previous_features=current.iloc[::-1])
    # the same rows, scored again: the same probabilities and flags as the main scores
    pd.testing.assert_frame_equal(
        again.previous_scores,
        first.scores[["customer_id", "churn_probability", "is_predicted_churner"]])
    assert first.previous_scores is None


def test_noise_label_gives_chance_auc():
    snapshots, current = simulate(seed=5, noise_label=True)
    result = train_and_score(snapshots, current, AS_OF, HORIZON, random_state=42)
    auc = _metric(result, f"{result.model_name}_calibrated", "roc_auc")["value"]
    assert abs(auc - 0.5) <= 0.07, auc
    for model in ("logistic_regression", "random_forest", "hist_gradient_boosting"):
        assert abs(_metric(result, model, "roc_auc")["value"] - 0.5) <= 0.07


@pytest.fixture(scope="module")
def small():
    return simulate(n_customers=300, seed=11)


def test_single_class_label_raises(small):
    snapshots, current = small
    snapshots = snapshots.assign(churned=1)
    with pytest.raises(ValueError, match="single class"):
        train_and_score(snapshots, current, AS_OF, HORIZON)


def test_too_few_customers_raises(small):
    snapshots, current = small
    few = sorted(snapshots["customer_id"].unique())[:15]
    with pytest.raises(ValueError, match="too few rows"):
        train_and_score(snapshots[snapshots["customer_id"].isin(few)], current, AS_OF, HORIZON)


def test_no_cutoff_old_enough_raises(small):
    snapshots, current = small
    recent = snapshots[snapshots["cutoff_date"] > AS_OF - pd.Timedelta(days=2 * HORIZON)]
    assert recent["is_label_window_complete"].any()  # labelled rows exist, just none old enough
    with pytest.raises(ValueError, match=r"as_of_date - 2 \* horizon_days.*lower churn_horizon_days"):
        train_and_score(recent, current, AS_OF, HORIZON)


def test_horizon_mismatch_raises(small):
    snapshots, current = small
    with pytest.raises(ValueError, match="horizon_days=60"):
        train_and_score(snapshots, current, AS_OF, 60)


def test_incomplete_label_windows_are_ignored(small):
    """A (wrongly) complete-flagged recent cutoff with perfect labels must not reach any fit."""
    snapshots, current = small
    poisoned = snapshots.copy()
    recent = poisoned["cutoff_date"] > AS_OF - pd.Timedelta(days=HORIZON)
    poisoned.loc[recent, "is_label_window_complete"] = True  # lie about completeness
    a = train_and_score(snapshots, current, AS_OF, HORIZON, candidates=["logistic_regression"], min_rows_per_class=5)
    b = train_and_score(poisoned, current, AS_OF, HORIZON, candidates=["logistic_regression"], min_rows_per_class=5)
    pd.testing.assert_frame_equal(a.scores, b.scores)
