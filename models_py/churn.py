"""Leak-free churn propensity: out-of-time model selection, calibration, threshold and reasons.

Entry point: :func:`train_and_score`.

Definitions (from the SQL feature layer, see the table contract)
---------------------------------------------------------------
* ``training_snapshots``: one row per (customer_id, cutoff_date) for past cutoffs. Features are
  computed from orders strictly before ``cutoff_date``; the label ``churned`` is 1 when the customer
  placed no order in the label window ``[cutoff_date, cutoff_date + horizon_days)``.
* ``customer_features``: the same features as of ``as_of_date`` (no label); these are scored.

Out-of-time protocol (never a random split)
-------------------------------------------
Let ``h = horizon_days``. Only rows whose label window is complete (``is_label_window_complete`` and
``cutoff_date + h <= as_of_date``) are used.

* test cutoff ``t`` = the latest labelled cutoff ``<= as_of_date - h`` (with the default cadence it is
  exactly ``as_of_date - h``);
* training cutoffs = labelled cutoffs ``<= min(as_of_date - 2h, t - h)``, so every training label
  window closes on or before the test cutoff: nothing observed after ``t`` is used to predict ``t``;
* candidates are fitted on the training cutoffs, compared on the test cutoff by PR-AUC (average
  precision), the winner is calibrated (see below), its threshold is chosen on the test cutoff, and
  finally the same calibrated estimator is refitted on *every* labelled cutoff and scores
  ``customer_features``.

Calibration
-----------
The chosen pipeline is wrapped in ``CalibratedClassifierCV(ensemble=False)`` whose folds are
*whole cutoffs* (``GroupKFold`` on ``cutoff_date``, at most 3 folds): the calibrator is fitted on
out-of-fold predictions for cutoffs the fold model never saw, which mirrors deployment (we score a
new cutoff of mostly known customers); the pipeline itself is then refitted on all rows, so scoring
and explanations cost one model, not one per fold. When fewer than 2 training cutoffs exist, or a
group fold would lack a class, a stratified 3-fold split (shuffled with ``random_state``) is used
instead and the metrics say so. ``calibration_method="auto"`` uses isotonic regression when the
minority class has at least 1,000 training rows, otherwise Platt (sigmoid) scaling. Isotonic can
return exactly 0 or 1 for the most extreme customers when their calibration bins were pure.
Calibrating *before* thresholding matters: the threshold is chosen on calibrated test probabilities
and applied to the calibrated probabilities of the refitted model, which live on the same
(probability) scale.

Degenerate inputs
-----------------
No fallback model is fitted: every degenerate case raises ``ValueError`` naming the problem and the
remedy (no labelled cutoff old enough, single-class labels, too few rows of a class in the training
or test split, missing columns, duplicate keys, horizon mismatch with ``label_window_end_date``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
)
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

__all__ = [
    "CANDIDATE_MODELS",
    "CATEGORICAL_FEATURES",
    "NUMERIC_FEATURES",
    "ChurnResult",
    "train_and_score",
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
    "r_score",
    "f_score",
    "m_score",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("country",)
FEATURES: tuple[str, ...] = NUMERIC_FEATURES + CATEGORICAL_FEATURES

# Derived inside every pipeline (so permutation of recency_days also moves it):
# recency relative to the customer's usual gap; NaN for customers with < 2 order days.
_DERIVED = ("recency_gap_ratio",)
# Bounded shares and scores are scaled as they are; skewed counts / money / day spans get a
# signed log1p before scaling (logistic regression only).
_LINEAR_FEATURES = ("return_rate", "q4_order_share", "r_score", "f_score", "m_score")
_LOG_FEATURES = tuple(c for c in NUMERIC_FEATURES + _DERIVED if c not in _LINEAR_FEATURES)

CANDIDATE_MODELS: tuple[str, ...] = (
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
)

# Groups of inputs replaced together by "typical customer" values to explain one customer's score.
_DRIVER_GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("recency_days", "r_score", "mean_days_between_orders"),
    "activity": (
        "frequency",
        "distinct_order_days",
        "f_score",
        "orders_30d",
        "orders_90d",
        "orders_180d",
        "revenue_30d",
        "revenue_90d",
        "revenue_180d",
    ),
    "trend": ("orders_trend_90d", "revenue_trend_90d"),
    "spend": ("monetary", "m_score", "avg_order_value"),
    "tenure": ("tenure_days",),
    "returns": ("return_rate",),
    "range": ("distinct_products",),
    "seasonality": ("q4_order_share",),
    "country": ("country",),
}
_MIN_DRIVER_EFFECT = 0.01  # probability points; smaller effects are not worth a sentence


@dataclass(frozen=True)
class ChurnResult:
    """Outputs of :func:`train_and_score` (all DataFrames have a RangeIndex).

    scores
        One row per customer of ``customer_features``, ordered by customer_id (lexical):
        ``customer_id`` (str), ``churn_probability`` (float in [0, 1], calibrated probability of no
        order in the next ``horizon_days`` days), ``risk_band`` ('high' when
        probability >= threshold, 'medium' when >= threshold / 2, else 'low'),
        ``is_predicted_churner`` (bool, probability >= threshold), ``top_drivers`` (str, up to 3
        reasons separated by '; ', strongest first).
    metrics
        Long table ``model, metric, value (float), detail (str)``; see :func:`train_and_score`.
    feature_importance
        ``feature, importance, importance_std, method, rank`` (rank 1 = most important): permutation
        importance of the chosen calibrated model on the out-of-time test cutoff, measured as the
        mean drop in PR-AUC (average precision, in probability units) when a column is shuffled.
    calibration
        ``decile`` (1 = lowest predicted), ``mean_predicted``, ``observed_rate``, ``customers``: the
        chosen calibrated model on the out-of-time test cutoff, deciles of predicted probability.
    model_name, threshold, threshold_rule
        Chosen candidate, decision threshold on calibrated probability, and the rule that chose it.
    test_cutoff, train_cutoffs
        The out-of-time test cutoff and the training cutoffs (ascending) of the evaluation fit.
    previous_scores
        When ``previous_features`` is given: ``customer_id``, ``churn_probability``,
        ``is_predicted_churner`` of those rows from the same final model and threshold (e.g. the
        previous cutoff, to see who turned risky since); else None.
    """

    scores: pd.DataFrame
    metrics: pd.DataFrame
    feature_importance: pd.DataFrame
    calibration: pd.DataFrame
    model_name: str
    threshold: float
    threshold_rule: str
    test_cutoff: pd.Timestamp
    train_cutoffs: tuple[pd.Timestamp, ...] = field(default_factory=tuple)
    previous_scores: pd.DataFrame | None = None


# --------------------------------------------------------------------------------------------
# Input preparation
# --------------------------------------------------------------------------------------------


def _to_day(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _to_days(series: pd.Series) -> pd.Series:
    out = pd.to_datetime(series)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.dt.normalize().astype("datetime64[ns]")


def _prepare_features(frame: pd.DataFrame, name: str, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Validate and coerce one input frame: str ids, float features, str country, day dates."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    required = ("customer_id",) + FEATURES + tuple(extra)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks required columns {missing}; see the features contract")
    if frame["customer_id"].isna().any():
        raise ValueError(f"{name} has NULL customer_id values")
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype(str).to_numpy(dtype=object)})
    for col in NUMERIC_FEATURES:
        # DECIMAL arrives as float64 (or object Decimals, or nullable ints): make it float64.
        values = pd.to_numeric(frame[col], errors="coerce")
        out[col] = np.asarray(values.to_numpy(dtype="float64", na_value=np.nan))
    country = frame["country"].astype(object)
    out["country"] = np.asarray(
        country.where(country.notna(), "unknown").astype(str).str.strip(), dtype=object
    )
    for col in extra:
        out[col] = frame[col].to_numpy()
    return out


def _labelled_rows(training_snapshots: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    snaps = _prepare_features(
        training_snapshots,
        "training_snapshots",
        extra=("cutoff_date", "churned", "is_label_window_complete"),
    )
    snaps["cutoff_date"] = _to_days(snaps["cutoff_date"])
    if snaps.duplicated(["customer_id", "cutoff_date"]).any():
        raise ValueError("training_snapshots has duplicate (customer_id, cutoff_date) rows")
    horizon = pd.Timedelta(days=horizon_days)
    if "label_window_end_date" in training_snapshots.columns:
        end = _to_days(training_snapshots["label_window_end_date"]).to_numpy()
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


# --------------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------------


def _signed_log1p(x):
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def _add_derived(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    gap = X["mean_days_between_orders"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = X["recency_days"].to_numpy(dtype=float) / gap
    X["recency_gap_ratio"] = np.where(np.isfinite(ratio), ratio, np.nan)
    return X


def _preprocessor(linear_model: bool) -> ColumnTransformer:
    """Column transformer fitted on training rows only.

    Numeric NULLs (mean_days_between_orders for < 2 order days, recency_gap_ratio likewise) are
    imputed with the training median plus a missing-indicator column. Countries seen in < 1 % of
    training rows are grouped into one 'infrequent' category (at most 15 columns); unseen countries
    map to it too.
    """

    def imputer():
        return SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)

    country = OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        min_frequency=0.01,
        max_categories=15,
        sparse_output=False,
    )
    if linear_model:
        skewed = Pipeline(
            [
                ("log", FunctionTransformer(_signed_log1p, feature_names_out="one-to-one")),
                ("impute", imputer()),
                ("scale", StandardScaler()),
            ]
        )
        bounded = Pipeline([("impute", imputer()), ("scale", StandardScaler())])
        parts = [
            ("skewed", skewed, list(_LOG_FEATURES)),
            ("bounded", bounded, list(_LINEAR_FEATURES)),
        ]
    else:
        parts = [("numeric", imputer(), list(NUMERIC_FEATURES + _DERIVED))]
    parts.append(("country", country, list(CATEGORICAL_FEATURES)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


_RF_MAX_ROWS_PER_TREE = 20_000
# Permutation importance predicts (rows x features x repeats) times: 10,000 test rows keep it
# to about a million predictions whatever the data size.
_IMPORTANCE_MAX_ROWS = 10_000


def _candidate(name: str, random_state: int, n_jobs: int | None, n_rows: int) -> Pipeline:
    """Unfitted pipeline ``derive -> prepare -> model`` for one candidate.

    ``n_rows`` (training rows) only bounds the forest's bootstrap size: each tree sees at most
    20,000 rows, so the forest's cost stays flat beyond that.
    """
    if name == "logistic_regression":
        model = LogisticRegression(
            C=1.0, class_weight="balanced", max_iter=2000, random_state=random_state
        )
    elif name == "random_forest":
        model = RandomForestClassifier(
            n_estimators=100,
            max_depth=10,
            min_samples_leaf=25,
            max_features="sqrt",
            class_weight="balanced_subsample",
            max_samples=min(1.0, _RF_MAX_ROWS_PER_TREE / max(n_rows, 1)),
            n_jobs=n_jobs,
            random_state=random_state,
        )
    elif name == "hist_gradient_boosting":
        model = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=200,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=random_state,
        )
    else:
        raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATE_MODELS}")
    return Pipeline(
        [
            ("derive", FunctionTransformer(_add_derived)),
            ("prepare", _preprocessor(linear_model=name == "logistic_regression")),
            ("model", model),
        ]
    )


def _calibration_splits(cutoffs: pd.Series, y: np.ndarray, random_state: int) -> tuple[list, str]:
    """Folds of whole cutoffs (GroupKFold); stratified 3-fold when that is impossible."""
    n_groups = cutoffs.nunique()
    if n_groups >= 2:
        n_splits = min(3, n_groups)
        splits = list(GroupKFold(n_splits=n_splits).split(np.zeros(len(y)), y, groups=cutoffs))
        if all(len(np.unique(y[tr])) == 2 and len(np.unique(y[te])) == 2 for tr, te in splits):
            return splits, f"{n_splits} folds of whole cutoffs (GroupKFold on cutoff_date)"
    skf = StratifiedKFold(n_splits=3, shuffle=True, random_state=random_state)
    return list(skf.split(np.zeros(len(y)), y)), "stratified 3-fold (fewer than 2 usable cutoff folds)"


def _calibrated(
    base: Pipeline, method: str, data: pd.DataFrame, random_state: int
) -> tuple[CalibratedClassifierCV, str]:
    y = data["churned"].to_numpy()
    splits, how = _calibration_splits(data["cutoff_date"], y, random_state)
    model = CalibratedClassifierCV(clone(base), method=method, cv=splits, ensemble=False)
    model.fit(data[list(FEATURES)], y)
    return model, how


def _predict(model, X: pd.DataFrame, batch_size: int) -> np.ndarray:
    if len(X) == 0:
        return np.empty(0)
    parts = [
        model.predict_proba(X.iloc[start : start + batch_size])[:, 1]
        for start in range(0, len(X), batch_size)
    ]
    return np.concatenate(parts)


def _sampled_note(sample: pd.DataFrame, full: pd.DataFrame) -> str:
    return f"fixed-seed sample of {len(full)} rows" if len(sample) < len(full) else "all rows"


def _sample(frame: pd.DataFrame, max_rows: int, random_state: int) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame
    return frame.sample(n=max_rows, random_state=random_state).sort_index()


# --------------------------------------------------------------------------------------------
# Threshold, metrics, explanations
# --------------------------------------------------------------------------------------------


def _choose_threshold(y: np.ndarray, p: np.ndarray, rule: str, target_recall: float) -> tuple[float, str]:
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]  # align with thresholds (ascending)
    if rule == "max_f1":
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        best = np.flatnonzero(f1 == f1.max())[-1]  # the highest threshold among ties
        return float(thresholds[best]), "max_f1: threshold maximising F1 on the out-of-time test cutoff"
    if rule == "recall_target":
        ok = np.flatnonzero(recall >= target_recall)
        best = ok[-1]  # highest threshold that still reaches the target (recall[0] == 1 always)
        return float(thresholds[best]), (
            f"recall_target: highest threshold with recall >= {target_recall:g} on the out-of-time test cutoff"
        )
    raise ValueError("threshold_rule must be 'max_f1' or 'recall_target'")


def _ranking_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }


def _calibration_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    n_bins = min(10, len(y))
    rank = pd.Series(p).rank(method="first").to_numpy()
    decile = pd.qcut(rank, q=n_bins, labels=False) + 1
    table = (
        pd.DataFrame({"decile": decile, "p": p, "y": y})
        .groupby("decile", sort=True)
        .agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), customers=("y", "size"))
        .reset_index()
    )
    table["decile"] = table["decile"].astype("int64")
    table["customers"] = table["customers"].astype("int64")
    return table


def _fmt_days(value: float) -> str:
    n = int(round(value))
    return f"{n} day" if n == 1 else f"{n} days"


def _fmt_count(value: float, noun: str) -> str:
    n = int(round(value))
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _driver_text(group: str, row: dict, ref: dict, raises_risk: bool) -> str:
    """One reason in account-manager words, built from this customer's own values."""
    if group == "recency":
        r, gap = row["recency_days"], row["mean_days_between_orders"]
        lead = f"no order in {_fmt_days(r)}" if raises_risk else f"last order {_fmt_days(r)} ago"
        if pd.notna(gap):
            return f"{lead}, usually orders every {_fmt_days(gap)}"
        return f"{lead}, only one order day so far"
    if group == "activity":
        recent = "no orders" if row["orders_90d"] <= 0 else _fmt_count(row["orders_90d"], "order")
        return f"{recent} in the last 90 days ({int(round(row['frequency']))} in total)"
    if group == "trend":
        now = row["revenue_90d"]
        before = now - row["revenue_trend_90d"]
        if before > 0 and now <= 0:
            return f"no spend in the last 90 days (vs {before:,.0f} in the 90 days before)"
        if before > 0:
            change = (now - before) / before * 100
            word = "down" if change < 0 else "up"
            return f"spend {word} {abs(change):.0f}% vs previous quarter"
        if now > 0:
            return "spending again this quarter after a quarter without spend"
        return "no spend in the last 6 months"
    if group == "spend":
        return f"lifetime spend {row['monetary']:,.0f} (typical customer {ref['monetary']:,.0f})"
    if group == "tenure":
        return f"customer for {_fmt_days(row['tenure_days'])} (typical {_fmt_days(ref['tenure_days'])})"
    if group == "returns":
        return f"returns {row['return_rate']:.0%} of spend (typical {ref['return_rate']:.0%})"
    if group == "range":
        return (
            f"bought {_fmt_count(row['distinct_products'], 'distinct product')} "
            f"(typical {int(round(ref['distinct_products']))})"
        )
    if group == "seasonality":
        return f"{row['q4_order_share']:.0%} of orders in Oct-Dec"
    if group == "country":
        return f"based in {row['country']}"
    raise KeyError(group)


def _top_drivers(
    model, X: pd.DataFrame, p: np.ndarray, reference: dict, base_rate: float, batch_size: int
) -> list[str]:
    """Occlusion attribution: effect of replacing a group of inputs by typical-customer values.

    delta_g = p(customer) - p(customer with group g set to the training medians / most common
    country). For a customer at or above the base rate the reasons are the groups that raise the
    risk most (delta > 0), otherwise those that lower it most; up to 3 with |delta| >= 0.01, and at
    least the single strongest one.
    """
    groups = list(_DRIVER_GROUPS)
    deltas = np.empty((len(X), len(groups)))
    for j, group in enumerate(groups):
        occluded = X.copy()
        for col in _DRIVER_GROUPS[group]:
            occluded[col] = reference[col]
        deltas[:, j] = p - _predict(model, occluded, batch_size)
    records = X.to_dict("records")
    texts = []
    for i, row in enumerate(records):
        raises = bool(p[i] >= base_rate)
        signed = deltas[i] if raises else -deltas[i]
        order = np.argsort(-signed, kind="stable")
        chosen = [j for j in order[:3] if signed[j] >= _MIN_DRIVER_EFFECT] or [int(order[0])]
        texts.append("; ".join(_driver_text(groups[j], row, reference, raises) for j in chosen))
    return texts


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def train_and_score(
    training_snapshots: pd.DataFrame,
    customer_features: pd.DataFrame,
    as_of_date,
    horizon_days: int = 90,
    *,
    random_state: int = 42,
    threshold_rule: str = "max_f1",
    target_recall: float = 0.7,
    calibration_method: str = "auto",
    candidates: Iterable[str] = CANDIDATE_MODELS,
    max_train_rows: int = 100_000,
    batch_size: int = 100_000,
    min_rows_per_class: int = 20,
    n_jobs: int | None = 1,
    previous_features: pd.DataFrame | None = None,
) -> ChurnResult:
    """Select, calibrate and apply a churn model with an out-of-time evaluation.

    Parameters
    ----------
    training_snapshots : DataFrame
        ``features.training_snapshots``: customer_id, cutoff_date (date or datetime64), the feature
        columns (:data:`NUMERIC_FEATURES` in days / counts / money / shares, ``country``), ``churned``
        (0/1), ``is_label_window_complete`` (bool) and optionally ``label_window_end_date`` (checked
        to equal cutoff_date + horizon_days). Rows without a complete label window are ignored.
    customer_features : DataFrame
        ``features.customer_features``: customer_id and the same feature columns as of
        ``as_of_date``; one row per customer. If it has ``cutoff_date`` it must equal as_of_date.
    as_of_date : date-like
        Analysis date (day precision). Labels are only trusted when cutoff + horizon <= as_of_date.
    horizon_days : int
        Churn horizon in days: churn = no order in [cutoff, cutoff + horizon_days).
    random_state : int
        Seed for sampling, models, calibration folds fallback and permutation importance.
    threshold_rule : {'max_f1', 'recall_target'}
        'max_f1': threshold maximising F1 on the out-of-time test cutoff (highest among ties).
        'recall_target': highest threshold whose test recall >= ``target_recall``.
        The threshold is chosen and evaluated on the same test cutoff, so the precision / recall
        reported at it are slightly optimistic (one parameter fitted on thousands of rows).
    calibration_method : {'auto', 'isotonic', 'sigmoid'}
        'auto' = isotonic when the minority class has >= 1,000 training rows, else sigmoid.
    candidates : iterable of str
        Subset of :data:`CANDIDATE_MODELS` to compare (default: all three).
    max_train_rows : int
        Each fit (evaluation and final) uses a fixed-seed random sample of at most this many rows.
    batch_size : int
        Rows per predict_proba call when scoring and explaining.
    min_rows_per_class : int
        Minimum churned and retained rows required in both the training and the test split.
    n_jobs : int or None
        Threads: passed to the random forest and, for the duration of the call, the limit of the
        native OpenMP / BLAS thread pools (HistGradientBoosting, linear algebra) via threadpoolctl
        (restored on return). Default 1: single-threaded, bit-for-bit reproducible and immune to
        OpenMP spin-wait oversubscription when dbt runs several models at once (measured: an
        HGB fit 80x slower with 2 OpenMP threads on a loaded 2-core host). None leaves the native
        pools alone; n_jobs > 1 may change forest probabilities in the last bits between runs.
    previous_features : DataFrame or None
        Optional features of the same customers at an earlier cutoff (same columns as
        ``customer_features``), scored by the same final model into ``previous_scores``.

    Returns
    -------
    ChurnResult
        ``metrics`` rows (model, metric, value, detail):

        * one block per candidate (model = candidate name): roc_auc, pr_auc, brier (uncalibrated
          probabilities on the test cutoff; class-weighted models are not probability-calibrated
          so compare their brier with care), base_rate and brier_base_rate (constant forecast equal
          to the test base rate, i.e. the best constant), train_rows, test_rows, train_positives,
          test_positives, is_chosen (1/0);
        * model = '<chosen>_calibrated': roc_auc, pr_auc, brier, base_rate, brier_base_rate,
          threshold (detail: the rule), precision_at_threshold, recall_at_threshold,
          f1_at_threshold, flagged_share, calibration_method (value NaN, detail: method and folds);
        * model = 'split': horizon_days, test_cutoff, train_cutoff_min, train_cutoff_max,
          train_cutoffs, final_train_cutoffs (value = days before as_of_date or a count, detail =
          ISO date or comma-separated ISO dates), final_train_rows, final_train_positives,
          labelled_rows_available.

    Raises
    ------
    ValueError
        Missing columns, duplicate keys, horizon mismatch, no labelled cutoff on or before
        as_of_date - 2 * horizon_days, single-class labels, fewer than ``min_rows_per_class`` rows
        of a class in the training or test split, or an empty ``customer_features``. No fallback
        model is fitted in these cases.
    """
    if n_jobs is not None and (int(n_jobs) != n_jobs or n_jobs < 1):
        raise ValueError("n_jobs must be a positive integer or None")
    args = dict(
        random_state=random_state,
        threshold_rule=threshold_rule,
        target_recall=target_recall,
        calibration_method=calibration_method,
        candidates=candidates,
        max_train_rows=max_train_rows,
        batch_size=batch_size,
        min_rows_per_class=min_rows_per_class,
        n_jobs=n_jobs,
        previous_features=previous_features,
    )
    if n_jobs is None:
        return _train_and_score(training_snapshots, customer_features, as_of_date, horizon_days, **args)
    with threadpool_limits(limits=int(n_jobs)):
        return _train_and_score(training_snapshots, customer_features, as_of_date, horizon_days, **args)


def _train_and_score(
    training_snapshots,
    customer_features,
    as_of_date,
    horizon_days,
    *,
    random_state,
    threshold_rule,
    target_recall,
    calibration_method,
    candidates,
    max_train_rows,
    batch_size,
    min_rows_per_class,
    n_jobs,
    previous_features,
) -> ChurnResult:
    as_of = _to_day(as_of_date)
    horizon_days = int(horizon_days)
    if horizon_days <= 0:
        raise ValueError("horizon_days must be a positive number of days")
    if calibration_method not in {"auto", "isotonic", "sigmoid"}:
        raise ValueError("calibration_method must be 'auto', 'isotonic' or 'sigmoid'")
    if threshold_rule not in {"max_f1", "recall_target"}:
        raise ValueError("threshold_rule must be 'max_f1' or 'recall_target'")
    if not 0 < target_recall <= 1:
        raise ValueError("target_recall must be in (0, 1]")
    candidates = tuple(candidates)
    if not candidates or any(c not in CANDIDATE_MODELS for c in candidates):
        raise ValueError(f"candidates must be a non-empty subset of {CANDIDATE_MODELS}")
    horizon = pd.Timedelta(days=horizon_days)

    # ---- inputs ------------------------------------------------------------------------------
    labelled = _labelled_rows(training_snapshots, as_of, horizon_days)
    extra = ("cutoff_date",) if "cutoff_date" in customer_features.columns else ()
    current = _prepare_features(customer_features, "customer_features", extra=extra)
    if len(current) == 0:
        raise ValueError("customer_features is empty: nothing to score")
    if current["customer_id"].duplicated().any():
        raise ValueError("customer_features must have one row per customer_id")
    if extra and (_to_days(current["cutoff_date"]) != as_of).any():
        raise ValueError("customer_features.cutoff_date differs from as_of_date; pass the as_of slice")
    current = current.sort_values("customer_id", kind="mergesort").reset_index(drop=True)

    if labelled.empty:
        raise ValueError(
            f"no training snapshot has a complete label window (cutoff_date + {horizon_days} days "
            f"<= as_of_date {as_of.date()}); provide more history or lower churn_horizon_days"
        )
    if labelled["churned"].nunique() < 2:
        only = int(labelled["churned"].iloc[0])
        raise ValueError(
            f"the churn label has a single class (every labelled row has churned={only}); a model "
            "cannot be trained: check the label window / churn_horizon_days or provide more history"
        )

    # ---- out-of-time split ---------------------------------------------------------------------
    test_cutoff = labelled.loc[labelled["cutoff_date"] <= as_of - horizon, "cutoff_date"].max()
    train_limit = min(as_of - 2 * horizon, test_cutoff - horizon)
    train_all = labelled[labelled["cutoff_date"] <= train_limit]
    if train_all.empty:
        raise ValueError(
            f"no labelled cutoff on or before {train_limit.date()} (= as_of_date - 2 * horizon_days, "
            f"as_of_date {as_of.date()}, horizon {horizon_days} days); the out-of-time evaluation "
            "trains there and tests on the cutoff at as_of_date - horizon_days. Provide more history "
            "(snapshot_count * snapshot_cadence_days >= 2 * churn_horizon_days) or lower churn_horizon_days"
        )
    test = labelled[labelled["cutoff_date"] == test_cutoff]
    for split_name, part in (("training", train_all), ("test", test)):
        pos = int(part["churned"].sum())
        neg = int(len(part) - pos)
        if min(pos, neg) < min_rows_per_class:
            raise ValueError(
                f"too few rows in the {split_name} split ({pos} churned, {neg} retained; need at "
                f"least {min_rows_per_class} of each): provide more customers / history, lower "
                "churn_horizon_days, or lower min_rows_per_class"
            )
    train = _sample(train_all, max_train_rows, random_state)
    X_train, y_train = train[list(FEATURES)], train["churned"].to_numpy()
    X_test, y_test = test[list(FEATURES)], test["churned"].to_numpy()
    minority = int(min(y_train.sum(), len(y_train) - y_train.sum()))
    method = calibration_method
    if method == "auto":
        method = "isotonic" if minority >= 1000 else "sigmoid"

    # ---- candidates (uncalibrated) on the out-of-time test -------------------------------------
    rows: list[tuple[str, str, float, str]] = []
    base_rate = float(y_test.mean())
    brier_base = float(np.mean((y_test - base_rate) ** 2))
    scores_by_model: dict[str, dict[str, float]] = {}
    for name in candidates:
        fitted = _candidate(name, random_state, n_jobs, len(train)).fit(X_train, y_train)
        scores_by_model[name] = _ranking_metrics(y_test, _predict(fitted, X_test, batch_size))
    chosen = max(candidates, key=lambda n: (scores_by_model[n]["pr_auc"], -candidates.index(n)))
    test_detail = f"out-of-time test cutoff {test_cutoff.date()}"
    for name in candidates:
        m = scores_by_model[name]
        rows += [
            (name, "roc_auc", m["roc_auc"], f"uncalibrated, {test_detail}"),
            (name, "pr_auc", m["pr_auc"], f"uncalibrated, {test_detail}; selection metric"),
            (name, "brier", m["brier"], f"uncalibrated, {test_detail}"),
            (name, "base_rate", base_rate, test_detail),
            (name, "brier_base_rate", brier_base, "constant forecast = test base rate"),
            (name, "train_rows", float(len(train)), _sampled_note(train, train_all)),
            (name, "test_rows", float(len(test)), test_detail),
            (name, "train_positives", float(y_train.sum()), "churned = 1"),
            (name, "test_positives", float(y_test.sum()), "churned = 1"),
            (name, "is_chosen", float(name == chosen), "highest out-of-time pr_auc"),
        ]

    # ---- calibrated chosen model: honest test metrics, threshold, importance, deciles ---------
    evaluated, folds = _calibrated(_candidate(chosen, random_state, n_jobs, len(train)), method, train, random_state)
    p_test = _predict(evaluated, X_test, batch_size)
    threshold, rule_text = _choose_threshold(y_test, p_test, threshold_rule, target_recall)
    flagged = p_test >= threshold
    tp = float((flagged & (y_test == 1)).sum())
    precision = tp / flagged.sum() if flagged.any() else 0.0
    recall = tp / y_test.sum()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    cal = _ranking_metrics(y_test, p_test)
    tag = f"{chosen}_calibrated"
    rows += [
        (tag, "roc_auc", cal["roc_auc"], test_detail),
        (tag, "pr_auc", cal["pr_auc"], test_detail),
        (tag, "brier", cal["brier"], test_detail),
        (tag, "base_rate", base_rate, test_detail),
        (tag, "brier_base_rate", brier_base, "constant forecast = test base rate"),
        (tag, "threshold", threshold, rule_text),
        (tag, "precision_at_threshold", precision, test_detail),
        (tag, "recall_at_threshold", recall, test_detail),
        (tag, "f1_at_threshold", f1, test_detail),
        (tag, "flagged_share", float(flagged.mean()), "share of test rows at or above threshold"),
        (tag, "calibration_method", np.nan, f"{method}; {folds}"),
    ]
    calibration = _calibration_table(y_test, p_test)

    imp_rows = _sample(test, _IMPORTANCE_MAX_ROWS, random_state)
    perm = permutation_importance(
        evaluated,
        imp_rows[list(FEATURES)],
        imp_rows["churned"].to_numpy(),
        scoring="average_precision",
        n_repeats=5,
        random_state=random_state,
    )
    importance = pd.DataFrame(
        {
            "feature": list(FEATURES),
            "importance": perm.importances_mean,
            "importance_std": perm.importances_std,
            "method": (
                f"permutation: mean drop in PR-AUC of calibrated {chosen} on {test_detail}, "
                f"5 repeats, {len(imp_rows)} rows"
            ),
        }
    )
    importance = importance.sort_values(["importance", "feature"], ascending=[False, True], kind="mergesort")
    importance["rank"] = np.arange(1, len(importance) + 1, dtype="int64")
    importance = importance.reset_index(drop=True)

    # ---- refit on every labelled cutoff and score ----------------------------------------------
    final_data = _sample(labelled, max_train_rows, random_state)
    final, _ = _calibrated(
        _candidate(chosen, random_state, n_jobs, len(final_data)), method, final_data, random_state
    )
    X_now = current[list(FEATURES)]
    p_now = _predict(final, X_now, batch_size)
    reference = {c: float(final_data[c].median()) for c in NUMERIC_FEATURES}
    reference["country"] = final_data["country"].value_counts().sort_index().idxmax()
    final_base_rate = float(final_data["churned"].mean())
    drivers = _top_drivers(final, X_now, p_now, reference, final_base_rate, batch_size)
    band = np.where(p_now >= threshold, "high", np.where(p_now >= threshold / 2, "medium", "low"))
    scores = pd.DataFrame(
        {
            "customer_id": current["customer_id"].to_numpy(),
            "churn_probability": p_now,
            "risk_band": band.astype(object),
            "is_predicted_churner": p_now >= threshold,
            "top_drivers": np.asarray(drivers, dtype=object),
        }
    )

    previous_scores = None
    if previous_features is not None:
        previous = _prepare_features(previous_features, "previous_features")
        previous = previous.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
        p_previous = _predict(final, previous[list(FEATURES)], batch_size) if len(previous) else np.array([])
        previous_scores = pd.DataFrame({
            "customer_id": previous["customer_id"].to_numpy(),
            "churn_probability": p_previous.astype("float64"),
            "is_predicted_churner": p_previous >= threshold,
        })

    def days_before(ts: pd.Timestamp) -> float:
        return float((as_of - ts).days)

    train_cutoffs = tuple(sorted(train["cutoff_date"].unique()))
    final_cutoffs = tuple(sorted(final_data["cutoff_date"].unique()))
    iso = lambda values: ",".join(pd.Timestamp(v).date().isoformat() for v in values)  # noqa: E731
    rows += [
        ("split", "horizon_days", float(horizon_days), f"label window [cutoff, cutoff + {horizon_days} days)"),
        ("split", "test_cutoff", days_before(test_cutoff), test_cutoff.date().isoformat()),
        ("split", "train_cutoff_min", days_before(pd.Timestamp(train_cutoffs[0])), iso(train_cutoffs[:1])),
        ("split", "train_cutoff_max", days_before(pd.Timestamp(train_cutoffs[-1])), iso(train_cutoffs[-1:])),
        ("split", "train_cutoffs", float(len(train_cutoffs)), iso(train_cutoffs)),
        ("split", "final_train_cutoffs", float(len(final_cutoffs)), iso(final_cutoffs)),
        ("split", "final_train_rows", float(len(final_data)), _sampled_note(final_data, labelled)),
        ("split", "final_train_positives", float(final_data["churned"].sum()), "churned = 1"),
        ("split", "labelled_rows_available", float(len(labelled)), f"as_of_date {as_of.date().isoformat()}"),
    ]
    metrics = pd.DataFrame(rows, columns=["model", "metric", "value", "detail"])
    metrics["value"] = metrics["value"].astype("float64")
    metrics["detail"] = metrics["detail"].astype(object)

    return ChurnResult(
        scores=scores,
        metrics=metrics,
        feature_importance=importance[["feature", "importance", "importance_std", "method", "rank"]],
        calibration=calibration,
        model_name=chosen,
        threshold=threshold,
        threshold_rule=threshold_rule,
        test_cutoff=test_cutoff,
        train_cutoffs=tuple(pd.Timestamp(c) for c in train_cutoffs),
        previous_scores=previous_scores,
    )
