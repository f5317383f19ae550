"""The scikit-learn pipelines of the churn candidates and of the value regressor.

Every pipeline is ``derive -> prepare -> model`` and is fitted on training rows only:

* derive: ``recency_gap_ratio`` = recency_days / mean_days_between_orders (NaN below two order
  days), inside the pipeline so that shuffling recency_days (permutation importance) moves it too;
* prepare: numeric NULLs (a customer with one order day, a history shorter than a year) imputed
  with the training median plus a missing-indicator column; countries seen in < 1 % of training
  rows grouped into one 'infrequent' column (at most 15 columns), unseen countries too; for
  logistic regression, skewed counts and money get a signed log1p and everything is standardised.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from models_py.snapshots import CATEGORICAL_FEATURES, NUMERIC_FEATURES

__all__ = ["CANDIDATE_MODELS", "DERIVED_FEATURES", "TreeParallelForest", "add_derived", "classifier",
           "outcome_classifier", "regressor"]

CANDIDATE_MODELS: tuple[str, ...] = ("logistic_regression", "random_forest", "hist_gradient_boosting")
DERIVED_FEATURES: tuple[str, ...] = ("recency_gap_ratio",)
# Bounded shares and scores are scaled as they are; skewed counts, money and day spans get a
# signed log1p before scaling (logistic regression only).
_LINEAR_FEATURES = ("return_rate", "q4_order_share", "r_score", "f_score", "m_score")
# Each forest tree sees at most this many rows, so the forest's cost stays flat beyond it.
_RF_MAX_ROWS_PER_TREE = 20_000


class TreeParallelForest(RandomForestClassifier):
    """A random forest whose trees are built on ``n_jobs`` threads (each tree's seed is drawn before
    they start, so the trees are the same for any number) and whose predictions are always summed
    on the calling thread, tree by tree in order: summed on several, the order of the additions, and
    so the last bit of a probability, would change from run to run. (Summed here, not by setting
    n_jobs to 1 around the parent's predict_proba: several threads predict with one forest at once.)"""

    def predict_proba(self, X):
        check_is_fitted(self)
        rows = self._validate_X_predict(X)
        proba = np.zeros((rows.shape[0], self.n_classes_), dtype=np.float64)
        for tree in self.estimators_:
            proba += tree.predict_proba(rows, check_input=False)
        proba /= len(self.estimators_)
        return proba


def _signed_log1p(x):
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def add_derived(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    gap = X["mean_days_between_orders"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = X["recency_days"].to_numpy(dtype=float) / gap
    X["recency_gap_ratio"] = np.where(np.isfinite(ratio), ratio, np.nan)
    return X


def _imputer() -> SimpleImputer:
    return SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)


def _preprocessor(linear_model: bool, numeric: Sequence[str]) -> ColumnTransformer:
    numeric = list(numeric) + list(DERIVED_FEATURES)
    country = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.01, max_categories=15,
                            sparse_output=False)
    if linear_model:
        skewed = Pipeline([
            ("log", FunctionTransformer(_signed_log1p, feature_names_out="one-to-one")),
            ("impute", _imputer()),
            ("scale", StandardScaler()),
        ])
        bounded = Pipeline([("impute", _imputer()), ("scale", StandardScaler())])
        parts = [
            ("skewed", skewed, [c for c in numeric if c not in _LINEAR_FEATURES]),
            ("bounded", bounded, [c for c in numeric if c in _LINEAR_FEATURES]),
        ]
    else:
        parts = [("numeric", _imputer(), numeric)]
    parts.append(("country", country, list(CATEGORICAL_FEATURES)))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def _pipeline(model, linear_model: bool, numeric: Sequence[str]) -> Pipeline:
    return Pipeline([
        ("derive", FunctionTransformer(add_derived)),
        ("prepare", _preprocessor(linear_model, numeric)),
        ("model", model),
    ])


def classifier(name: str, random_state: int, n_jobs: int | None, n_rows: int,
               numeric: Sequence[str] = NUMERIC_FEATURES) -> Pipeline:
    """Unfitted pipeline of one churn candidate (``n_rows``: training rows, bounds the forest;
    ``n_jobs``: threads that build the forest's trees, the same model for any number)."""
    if name == "logistic_regression":
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=random_state)
    elif name == "random_forest":
        model = TreeParallelForest(
            n_estimators=100, max_depth=10, min_samples_leaf=25, max_features="sqrt",
            class_weight="balanced_subsample", max_samples=min(1.0, _RF_MAX_ROWS_PER_TREE / max(n_rows, 1)),
            n_jobs=n_jobs, random_state=random_state,
        )
    elif name == "hist_gradient_boosting":
        model = HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=200, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
            early_stopping=False, random_state=random_state,
        )
    else:
        raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATE_MODELS}")
    return _pipeline(model, name == "logistic_regression", numeric)


def regressor(random_state: int, numeric: Sequence[str] = NUMERIC_FEATURES) -> Pipeline:
    """Gradient boosting of spend with a Poisson loss: a mean in currency that is never negative,
    robust to the long tail of big spenders (log link)."""
    model = HistGradientBoostingRegressor(
        loss="poisson", learning_rate=0.05, max_iter=200, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=False, random_state=random_state,
    )
    return _pipeline(model, False, numeric)


def outcome_classifier(random_state: int, n_rows: int, numeric: Sequence[str] = NUMERIC_FEATURES) -> Pipeline:
    """Gradient boosting of a campaign outcome (ordered in the window, 0/1), one per arm of an
    uplift model: smaller trees and larger leaves (a tenth of the arm's ``n_rows``, 20 to 200)
    than the churn candidate, because an arm often has only hundreds of customers and the uplift
    is the difference of two such models, so their noise adds up."""
    model = HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=100, max_leaf_nodes=7, min_samples_leaf=max(20, min(200, n_rows // 10)),
        l2_regularization=1.0, early_stopping=False, random_state=random_state,
    )
    return _pipeline(model, False, numeric)
