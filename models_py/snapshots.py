"""Point-in-time snapshot rows: the feature lists, input checks and the out-of-time split that the
churn and value models share.

``training_snapshots`` has one row per (customer_id, cutoff_date): features from activity strictly
before the cutoff, labels from the window ``[cutoff_date, cutoff_date + horizon_days)``.
``customer_features`` has the same features as of ``as_of_date`` (no label).

Out of time, never a random split (``h = horizon_days``): the test cutoff is the latest labelled
cutoff ``<= as_of_date - h``; training cutoffs are the labelled cutoffs
``<= min(as_of_date - 2h, test cutoff - h)``, so every training label window closes on or before
the test cutoff.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "Split",
    "labelled_rows",
    "out_of_time_split",
    "prepare_features",
    "sample",
    "sample_positions",
    "to_day",
    "to_days",
]

NUMERIC_FEATURES: tuple[str, ...] = (
    "tenure_days",
    "recency_days",
    "frequency",
    "monetary",
    "distinct_order_days",
    "avg_order_value",
    "mean_days_between_orders",
    "orders_30d",
    "orders_90d",
    "orders_180d",
    "revenue_30d",
    "revenue_90d",
    "revenue_180d",
    "orders_trend_90d",
    "revenue_trend_90d",
    "return_rate",
    "distinct_products",
    "q4_order_share",
    "orders_same_window_last_year",
    "revenue_same_window_last_year",
    "r_score",
    "f_score",
    "m_score",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("country",)
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES


def to_day(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def to_days(series: pd.Series) -> pd.Series:
    out = pd.to_datetime(series)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.dt.normalize().astype("datetime64[ns]")


def prepare_features(frame: pd.DataFrame, name: str, extra: Sequence[str] = (),
                     numeric: Sequence[str] = NUMERIC_FEATURES) -> pd.DataFrame:
    """Validate and coerce one input frame: str ids, float features, str country, extra columns."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    required = ("customer_id",) + tuple(numeric) + CATEGORICAL_FEATURES + tuple(extra)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks required columns {missing}; see the features contract")
    if frame["customer_id"].isna().any():
        raise ValueError(f"{name} has NULL customer_id values")
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype(str).to_numpy(dtype=object)})
    for col in numeric:
        # DECIMAL arrives as float64 (or object Decimals, or nullable ints): make it float64.
        values = pd.to_numeric(frame[col], errors="coerce")
        out[col] = np.asarray(values.to_numpy(dtype="float64", na_value=np.nan))
    country = frame["country"].astype(object)
    out["country"] = np.asarray(country.where(country.notna(), "unknown").astype(str).str.strip(), dtype=object)
    for col in extra:
        out[col] = frame[col].to_numpy()
    return out


def labelled_rows(training_snapshots: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int,
                  extra: Sequence[str] = ()) -> pd.DataFrame:
    """The snapshot rows whose label window is complete, checked, in a fixed order."""
    snaps = prepare_features(training_snapshots, "training_snapshots",
                             extra=("cutoff_date", "churned", "is_label_window_complete") + tuple(extra))
    snaps["cutoff_date"] = to_days(snaps["cutoff_date"])
    if snaps.duplicated(["customer_id", "cutoff_date"]).any():
        raise ValueError("training_snapshots has duplicate (customer_id, cutoff_date) rows")
    horizon = pd.Timedelta(days=horizon_days)
    if "label_window_end_date" in training_snapshots.columns:
        end = to_days(training_snapshots["label_window_end_date"]).to_numpy()
        span = pd.Series(end - snaps["cutoff_date"].to_numpy())
        if (span.dropna() != horizon).any():
            raise ValueError(
                f"label_window_end_date - cutoff_date is not horizon_days={horizon_days} days: the "
                "snapshots were built with another churn_horizon_days; pass the same horizon"
            )
    complete = snaps["is_label_window_complete"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    # Belt and braces: never trust a label whose window ends after as_of_date.
    complete &= (snaps["cutoff_date"] + horizon <= as_of).to_numpy()
    complete &= snaps["churned"].notna().to_numpy()
    labelled = snaps.loc[complete].copy()
    labelled["churned"] = pd.to_numeric(labelled["churned"]).astype(int)
    bad = sorted(set(labelled["churned"].unique()) - {0, 1})
    if bad:
        raise ValueError(f"churned must be 0/1, found {bad}")
    # Fixed row order so results do not depend on the order the database returned rows in.
    labelled = labelled.sort_values(["cutoff_date", "customer_id"], kind="mergesort")
    return labelled.reset_index(drop=True)


@dataclass(frozen=True)
class Split:
    """The out-of-time split: rows of the training cutoffs and of the test cutoff."""

    test_cutoff: pd.Timestamp
    train_limit: pd.Timestamp
    train: pd.DataFrame
    test: pd.DataFrame


def out_of_time_split(labelled: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> Split:
    """Test on the latest labelled cutoff <= as_of - h, train on cutoffs <= min(as_of - 2h, test - h)."""
    horizon = pd.Timedelta(days=horizon_days)
    test_cutoff = labelled.loc[labelled["cutoff_date"] <= as_of - horizon, "cutoff_date"].max()
    train_limit = min(as_of - 2 * horizon, test_cutoff - horizon)
    train = labelled[labelled["cutoff_date"] <= train_limit]
    if train.empty:
        raise ValueError(
            f"no labelled cutoff on or before {train_limit.date()} (= as_of_date - 2 * horizon_days, "
            f"as_of_date {as_of.date()}, horizon {horizon_days} days); the out-of-time evaluation "
            "trains there and tests on the cutoff at as_of_date - horizon_days. Provide more history "
            "(snapshot_count * snapshot_cadence_days >= 2 * churn_horizon_days) or lower churn_horizon_days"
        )
    return Split(test_cutoff, train_limit, train, labelled[labelled["cutoff_date"] == test_cutoff])


def sample(frame: pd.DataFrame, max_rows: int, random_state: int) -> pd.DataFrame:
    """At most ``max_rows`` rows, a fixed-seed sample in the original order."""
    if len(frame) <= max_rows:
        return frame
    return frame.sample(n=max_rows, random_state=random_state).sort_index()


def sample_positions(n_rows: int, max_rows: int, random_state: int) -> np.ndarray | None:
    """The positions (ascending) of the rows :func:`sample` keeps of a frame of ``n_rows`` rows
    in ascending index order, or None when it keeps them all: pandas draws them from the row
    count alone (``RandomState(random_state).choice(n_rows, max_rows, replace=False)``), so a
    caller that cannot hold the frame (the Spark target) can take the same rows by position."""
    if n_rows <= max_rows:
        return None
    return np.sort(np.random.RandomState(random_state).choice(n_rows, size=max_rows, replace=False))


def sampled_note(sample_rows: pd.DataFrame, full: pd.DataFrame) -> str:
    return f"fixed-seed sample of {len(full)} rows" if len(sample_rows) < len(full) else "all rows"
