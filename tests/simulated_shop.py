"""A small synthetic shop for the model tests: orders of simulated customers and the snapshot
frames the dbt feature layer would give (features from orders strictly before each cutoff, labels
from the window after it), built with pandas exactly as the contract defines them.

Per customer: a first-order day, a usual gap between orders (Gamma, mean 30 days), a lifetime after
which the customer stops buying (Exponential, mean 300 days) and a basket value; orders follow a
renewal process while the customer is alive. So churn is driven by recency relative to the usual
gap, frequency and age, and spend by the basket: learnable, but not trivially.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.snapshots import FEATURES

AS_OF = pd.Timestamp("2011-12-10")
HORIZON = 90
CADENCE = 30
SNAPSHOTS = 12
HISTORY_DAYS = 720
COUNTRIES = ["United Kingdom"] * 16 + ["Germany", "France", "EIRE", "Spain", "Iceland", "Malta"]


def _simulate_orders(n_customers: int, seed: int, end_day: int = HISTORY_DAYS,
                     dead_season: tuple[int, int] | None = None) -> pd.DataFrame:
    """Orders up to ``end_day``; with ``dead_season`` = (first, last) day of the year, nobody
    orders in those days (a seasonal lull the features cannot see coming)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        first = int(rng.integers(0, HISTORY_DAYS - 1))
        gap = rng.gamma(2.0, 15.0)
        life = rng.exponential(300.0)
        basket = rng.lognormal(5.0, 0.7)
        t = float(first)
        while t < end_day and t <= first + life:
            rows.append((f"C{i:05d}", int(t), basket * rng.lognormal(0.0, 0.3)))
            t += 1.0 + rng.exponential(gap)
    orders = pd.DataFrame(rows, columns=["customer_id", "day", "value"])
    if dead_season is not None:
        day_of_year = orders["day"] % 365
        orders = orders[(day_of_year < dead_season[0]) | (day_of_year > dead_season[1])]
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
    days = past.groupby(["customer_id", "day"])["value"].sum().reset_index()
    first_day = days.groupby("customer_id")["value"].first()
    f["mean_repeat_order_value"] = ((f["gross"] - first_day) / (f["distinct_order_days"] - 1)).where(
        f["distinct_order_days"] >= 2)
    return f.reset_index()[["customer_id", "cutoff_date", "snapshot_index", "mean_repeat_order_value"]
                           + list(FEATURES)]


def simulate(n_customers: int = 1500, seed: int = 0, noise_label: bool = False):
    """Return (training_snapshots, customer_features) shaped like the dbt feature tables."""
    snapshots, current, _ = simulate_with_outcome(n_customers, seed, noise_label, future=False)
    return snapshots, current


def simulate_with_outcome(n_customers: int = 1500, seed: int = 0, noise_label: bool = False,
                          snapshots: int = SNAPSHOTS, dead_season: tuple[int, int] | None = None,
                          future: bool = True):
    """(training_snapshots, customer_features, outcome): outcome is, per customer of
    customer_features, whether they really placed no order in the horizon after AS_OF (all True
    when ``future`` is False: orders are then simulated up to AS_OF only)."""
    orders = _simulate_orders(n_customers, seed, HISTORY_DAYS + (HORIZON if future else 0), dead_season)
    future = orders[orders["day"] >= HISTORY_DAYS]
    orders = orders[orders["day"] < HISTORY_DAYS]
    frames = []
    for k in range(1, snapshots + 1):
        cutoff_day = HISTORY_DAYS - k * CADENCE
        f = _features_at(orders, cutoff_day)
        future = orders[(orders["day"] >= cutoff_day) & (orders["day"] < cutoff_day + HORIZON)]
        f["orders_in_label_window"] = f["customer_id"].map(future.groupby("customer_id").size()).fillna(0)
        f["revenue_in_label_window"] = f["customer_id"].map(future.groupby("customer_id")["value"].sum()).fillna(0.0)
        f["churned"] = (f["orders_in_label_window"] == 0).astype(int)
        f["label_window_end_date"] = f["cutoff_date"] + pd.Timedelta(days=HORIZON)
        f["is_label_window_complete"] = f["label_window_end_date"] <= AS_OF
        frames.append(f)
    table = pd.concat(frames, ignore_index=True)
    if noise_label:
        rng = np.random.default_rng(seed + 1)
        table["churned"] = (rng.random(len(table)) < 0.5).astype(int)
    snapshots = table
    current = _features_at(orders, HISTORY_DAYS)
    outcome = ~current["customer_id"].isin(future["customer_id"])
    return snapshots, current, pd.Series(outcome.to_numpy(), index=current["customer_id"])
