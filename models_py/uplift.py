"""Uplift: whom a campaign moves, learnt from past campaigns with a random holdout.

Entry point: :func:`fit_and_score` (or :func:`fit`, then :func:`score` of any batch of customers).

Input: one row per customer of a past campaign whose outcome window is complete
(``features.campaign_snapshots``): the point-in-time features as of ``contacted_at`` (the churn
model's :data:`~models_py.snapshots.FEATURES`, from activity strictly before that day),
``is_treated`` (1 = contacted, 0 = held out), ``is_retained`` (1 = at least one order in
``[contacted_at, contacted_at + window_days)``), ``campaign_id`` and ``contacted_at``; and the churn
probability of the same customers as of ``contacted_at``.

1. **Minimum:** at least ``min_customers`` treated and ``min_customers`` control rows (var
   ``uplift_min_customers``, default 500); else nothing is fitted and the metrics say why.
2. **Held-out part:** out of time when possible -- the campaigns of the latest contact day are the
   test part, the earlier ones the training part -- when each part has at least
   ``min_part_customers`` treated and control rows; else a fixed 30% of the rows, chosen by the
   same hash bucket of ``campaign_id:customer_id`` as the warehouse's assignment (bucket < 3000 of
   10000).
3. **Two-model learner** (T-learner): one gradient-boosting classifier of ``is_retained`` fitted on
   the treated rows of the training part, one on its control rows
   (:func:`models_py.estimators.outcome_classifier`); predicted uplift = P(retained | treated, x)
   - P(retained | control, x), in retention probability over the window.
4. **Evaluation** on the held-out part: the Qini curve of the predicted uplift and of the churn
   probability at contact (the ranking the plan uses without the model). Customers are ranked best
   first (ties by campaign and customer id); at each depth k the incremental retained customers
   are ``Q(k) = R_T(k) - R_C(k) * N_T(k) / N_C(k)`` (R: retained, N: customers, T/C: treated /
   control among the first k; 0 while no control customer is among them). The **Qini coefficient**
   is the area between the curve, taken as a share of all held-out treated customers
   (``Q(k) / N_T``), and the straight line of random targeting, over the fraction of customers
   targeted: 0 for random, positive when the ranking puts the persuadable first, at most about half
   the overall uplift.
5. **Choice:** the model wins when its Qini coefficient is positive and above the churn ranking's;
   then the plan may rank by predicted uplift x value (var plan_ranking). The learner refitted on
   every row (training and held-out) scores the current customers.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from models_py.artifacts import date_values
from models_py.estimators import outcome_classifier
from models_py.snapshots import FEATURES, prepare_features, to_days

__all__ = ["LEARNER", "UpliftFit", "UpliftResult", "fit", "fit_and_score", "hash_bucket", "qini_coefficient",
           "qini_curve", "score"]

LEARNER = "two_model"
BASELINE = "churn_probability"
TEST_BUCKETS = 3000  # of 10000: the held-out share when the split cannot be out of time
QINI_POINTS = 101
TOP_SHARE = 0.3
_EXTRA = ("campaign_id", "contacted_at", "is_treated", "is_retained")


@dataclass(frozen=True)
class UpliftResult:
    """Outputs of :func:`fit_and_score` (every frame typed, also when empty).

    metrics
        Long table ``model, metric, value, detail``: ``choice`` (is_fitted, use_uplift,
        min_customers), ``data`` (treated_customers, control_customers, campaigns), ``split``
        (train/test treated and control customers, is_out_of_time), per ranking (``two_model``,
        ``churn_probability``) qini_coefficient and uplift_top_30pct (observed uplift among the top
        30% of the held-out customers), ``holdout`` observed_uplift.
    qini
        ``ranking`` (two_model, churn_probability, random), ``fraction`` (of held-out customers
        targeted, 0-1), ``customers``, ``treated``, ``control``, ``treated_retained``,
        ``control_retained``, ``incremental_retained`` (Q(k)), ``qini`` (Q(k) / held-out treated).
    holdout
        The held-out rows: ``campaign_id``, ``customer_id``, ``contacted_at``, ``is_treated``,
        ``is_retained``, ``predicted_uplift``, ``churn_probability`` (to recompute the curves).
    scores
        ``customer_id``, ``predicted_uplift``, ``retention_if_treated``, ``retention_if_control``
        of every current customer; empty when nothing was fitted.
    """

    metrics: pd.DataFrame
    qini: pd.DataFrame
    holdout: pd.DataFrame
    scores: pd.DataFrame
    is_fitted: bool
    use_uplift: bool

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"metrics": self.metrics, "qini": self.qini, "holdout": self.holdout, "scores": self.scores}


def hash_bucket(text: str, buckets: int = 10_000) -> int:
    """The warehouse's macro hash_bucket in Python: the first 32 bits of the MD5 of the text."""
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16) % buckets


def qini_curve(is_treated, is_retained, score, tie_key) -> pd.DataFrame:
    """The Qini curve of a ranking (highest score first, ties by ``tie_key`` ascending), one row per
    depth k = 0 .. n: customers, treated, control, treated_retained, control_retained,
    incremental_retained = R_T(k) - R_C(k) N_T(k) / N_C(k) (0 while N_C(k) = 0)."""
    t = np.asarray(is_treated, dtype=np.int64)
    y = np.asarray(is_retained, dtype=np.int64)
    order = np.lexsort((np.asarray(tie_key), -np.asarray(score, dtype=np.float64)))
    t, y = t[order], y[order]
    zero = np.zeros(1, dtype=np.int64)
    n_t = np.concatenate([zero, np.cumsum(t)])
    n_c = np.concatenate([zero, np.cumsum(1 - t)])
    r_t = np.concatenate([zero, np.cumsum(t * y)])
    r_c = np.concatenate([zero, np.cumsum((1 - t) * y)])
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_c > 0, r_t - r_c * n_t / np.maximum(n_c, 1), 0.0)
    return pd.DataFrame({"customers": np.arange(len(t) + 1), "treated": n_t, "control": n_c,
                         "treated_retained": r_t, "control_retained": r_c, "incremental_retained": q})


def qini_coefficient(curve: pd.DataFrame) -> float:
    """Area between the curve (incremental retained / all treated) and random targeting, over the
    fraction of customers targeted (trapezoids over every depth)."""
    n, treated = int(curve["customers"].iloc[-1]), int(curve["treated"].iloc[-1])
    if n == 0 or treated == 0:
        return float("nan")
    x = curve["customers"].to_numpy(dtype=np.float64) / n
    y = curve["incremental_retained"].to_numpy(dtype=np.float64) / treated
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    return area - float(y[-1]) / 2


def _observed_uplift(rows: pd.DataFrame) -> float:
    treated, control = rows[rows["is_treated"] == 1], rows[rows["is_treated"] == 0]
    if treated.empty or control.empty:
        return float("nan")
    return float(treated["is_retained"].mean() - control["is_retained"].mean())


def _top_uplift(rows: pd.DataFrame, score: np.ndarray) -> float:
    order = np.lexsort((rows["tie_key"].to_numpy(), -score))
    return _observed_uplift(rows.iloc[order[: int(round(TOP_SHARE * len(rows)))]])


def _prepare(snapshots: pd.DataFrame, contact_scores: pd.DataFrame) -> pd.DataFrame:
    rows = prepare_features(snapshots, "campaign_snapshots", extra=_EXTRA)
    rows["contacted_at"] = to_days(rows["contacted_at"])
    rows["campaign_id"] = rows["campaign_id"].astype(str)
    rows["is_treated"] = pd.to_numeric(rows["is_treated"]).astype(int)
    rows["is_retained"] = pd.to_numeric(rows["is_retained"]).astype(int)
    scores = pd.DataFrame({"customer_id": contact_scores["customer_id"].astype(str).to_numpy(),
                           "contacted_at": to_days(pd.Series(contact_scores["cutoff_date"])).to_numpy(),
                           "churn_probability": pd.to_numeric(contact_scores["churn_probability"]).to_numpy()})
    rows = rows.merge(scores, on=["customer_id", "contacted_at"], how="left", validate="many_to_one")
    rows["tie_key"] = rows["campaign_id"] + ":" + rows["customer_id"]
    return rows.sort_values(["contacted_at", "tie_key"], kind="mergesort").reset_index(drop=True)


def _counts(rows: pd.DataFrame) -> tuple[int, int]:
    treated = int(rows["is_treated"].sum())
    return treated, int(len(rows) - treated)


def _split(rows: pd.DataFrame, min_part: int) -> tuple[np.ndarray, str, bool]:
    """(held-out mask, how, is out of time)."""
    latest = rows["contacted_at"].max()
    test = (rows["contacted_at"] == latest).to_numpy()
    if rows["contacted_at"].nunique() >= 2 and min(_counts(rows[test]) + _counts(rows[~test])) >= min_part:
        return test, (f"out of time: the campaigns contacted on {pd.Timestamp(latest).date()} held out, "
                      "the earlier ones for training"), True
    bucket = rows["tie_key"].map(hash_bucket).to_numpy()
    return bucket < TEST_BUCKETS, ("a fixed 30% of the customers held out (hash bucket of campaign_id:customer_id "
                                   "< 3000): too few campaigns for an out-of-time split"), False


class _TwoModel:
    """P(retained | treated, x) and P(retained | control, x), each fitted on its own arm."""

    def __init__(self, rows: pd.DataFrame, random_state: int):
        arms = {}
        for arm in (1, 0):
            part = rows[rows["is_treated"] == arm]
            arms[arm] = outcome_classifier(random_state, len(part)).fit(part[list(FEATURES)],
                                                                        part["is_retained"].to_numpy())
        self.arms = arms

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if len(X) == 0:
            return np.empty(0), np.empty(0)
        return (self.arms[1].predict_proba(X[list(FEATURES)])[:, 1],
                self.arms[0].predict_proba(X[list(FEATURES)])[:, 1])


def _qini_table(test: pd.DataFrame, rankings: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, float]]:
    tables, coefficients = [], {}
    n = len(test)
    depths = np.unique(np.round(np.linspace(0, 1, QINI_POINTS) * n).astype(int))
    treated_total = max(int(test["is_treated"].sum()), 1)
    for name, score in rankings.items():
        curve = qini_curve(test["is_treated"], test["is_retained"], score, test["tie_key"])
        coefficients[name] = qini_coefficient(curve)
        tables.append(curve.iloc[depths].assign(ranking=name))
    final = tables[0].iloc[-1]
    random = pd.DataFrame({"customers": depths, "ranking": "random"})
    share = depths / max(n, 1)
    for column in ("treated", "control", "treated_retained", "control_retained", "incremental_retained"):
        random[column] = share * float(final[column])
    tables.append(random)
    table = pd.concat(tables, ignore_index=True)
    table["fraction"] = table["customers"] / max(n, 1)
    table["qini"] = table["incremental_retained"] / treated_total
    columns = ["ranking", "fraction", "customers", "treated", "control", "treated_retained", "control_retained",
               "incremental_retained", "qini"]
    return table[columns].astype({"customers": "int64", "treated": "float64", "control": "float64",
                                  "treated_retained": "float64", "control_retained": "float64"}), coefficients


def _empty_result(rows: list[tuple]) -> UpliftFit:
    return UpliftFit(metrics=_metrics(rows), qini=_qini_frame(), holdout=_holdout_frame(pd.DataFrame()),
                     is_fitted=False, use_uplift=False)


def _metrics(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["model", "metric", "value", "detail"])
    return frame.astype({"model": "str", "metric": "str", "value": "float64", "detail": "str"})


def _qini_frame(table: pd.DataFrame | None = None) -> pd.DataFrame:
    if table is not None:
        return table.astype({"ranking": "str"})
    return pd.DataFrame({"ranking": pd.Series([], dtype="str"), "fraction": np.empty(0), "customers": np.empty(0, "int64"),
                         **{c: np.empty(0) for c in ("treated", "control", "treated_retained", "control_retained",
                                                     "incremental_retained", "qini")}})


def _holdout_frame(test: pd.DataFrame, uplift: np.ndarray | None = None) -> pd.DataFrame:
    if test.empty:
        return pd.DataFrame({"campaign_id": pd.Series([], dtype="str"), "customer_id": pd.Series([], dtype="str"),
                             "contacted_at": date_values([]), "is_treated": np.empty(0, "int64"),
                             "is_retained": np.empty(0, "int64"), "predicted_uplift": np.empty(0),
                             "churn_probability": np.empty(0)})
    return pd.DataFrame({"campaign_id": pd.Series(test["campaign_id"].to_numpy(), dtype="str"),
                         "customer_id": pd.Series(test["customer_id"].to_numpy(), dtype="str"),
                         "contacted_at": date_values(test["contacted_at"]),
                         "is_treated": test["is_treated"].to_numpy(dtype="int64"),
                         "is_retained": test["is_retained"].to_numpy(dtype="int64"),
                         "predicted_uplift": uplift.astype("float64"),
                         "churn_probability": test["churn_probability"].to_numpy(dtype="float64")})


def _scores_frame(customer_id, treated: np.ndarray, control: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(np.asarray(customer_id), dtype="str"),
                         "predicted_uplift": (treated - control).astype("float64"),
                         "retention_if_treated": treated.astype("float64"),
                         "retention_if_control": control.astype("float64")})


@dataclass(frozen=True)
class UpliftFit:
    """What :func:`fit` learns from the past campaigns, before any current customer is scored:
    the tables of :class:`UpliftResult` but ``scores``, and ``model`` (the learner refitted on
    every row; None when nothing was fitted). :func:`score` applies it to any batch of customers."""

    metrics: pd.DataFrame
    qini: pd.DataFrame
    holdout: pd.DataFrame
    is_fitted: bool
    use_uplift: bool
    model: _TwoModel | None = None


def fit_and_score(campaign_snapshots: pd.DataFrame, contact_scores: pd.DataFrame, customer_features: pd.DataFrame,
                  *, min_customers: int = 500, min_part_customers: int = 100, random_state: int = 42,
                  n_jobs: int = 1) -> UpliftResult:
    """Fit, evaluate and apply the uplift model (see the module docstring): :func:`fit`, then
    :func:`score` of every customer.

    ``campaign_snapshots``: the rows described above; ``contact_scores``: ``customer_id``,
    ``cutoff_date`` (= contacted_at), ``churn_probability`` (ml.churn_scores_at_contact);
    ``customer_features``: the features as of as_of_date of the customers to score. ``n_jobs``:
    native threads during the call (default 1: reproducible, and no oversubscription when dbt runs
    several Python models at once). Never raises on too little data: the result then says why
    nothing was fitted.
    """
    fitted = fit(campaign_snapshots, contact_scores, min_customers=min_customers,
                 min_part_customers=min_part_customers, random_state=random_state, n_jobs=n_jobs)
    with threadpool_limits(limits=int(n_jobs)):
        scores = score(fitted, customer_features)
    return UpliftResult(metrics=fitted.metrics, qini=fitted.qini, holdout=fitted.holdout, scores=scores,
                        is_fitted=fitted.is_fitted, use_uplift=fitted.use_uplift)


def fit(campaign_snapshots: pd.DataFrame, contact_scores: pd.DataFrame, *, min_customers: int = 500,
        min_part_customers: int = 100, random_state: int = 42, n_jobs: int = 1) -> UpliftFit:
    """The fitting half of :func:`fit_and_score` (same arguments, without the customers to score)."""
    with threadpool_limits(limits=int(n_jobs)):
        return _fit(campaign_snapshots, contact_scores, min_customers, min_part_customers, random_state)


def score(fitted: UpliftFit, customer_features: pd.DataFrame) -> pd.DataFrame:
    """The ``scores`` table (see :class:`UpliftResult`) of the given customers, by customer_id;
    empty when nothing was fitted. A customer's row depends on the fit and that customer alone."""
    if fitted.model is None:
        return _scores_frame(pd.Series([], dtype="str"), np.empty(0), np.empty(0))
    current = prepare_features(customer_features, "customer_features")
    current = current.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
    now_t, now_c = fitted.model.predict(current)
    return _scores_frame(current["customer_id"], now_t, now_c)


def _fit(campaign_snapshots, contact_scores, min_customers, min_part_customers, random_state) -> UpliftFit:
    rows = _prepare(campaign_snapshots, contact_scores)
    treated, control = _counts(rows)
    base = [("choice", "min_customers", float(min_customers),
             "treated and control customers with a complete window needed (var uplift_min_customers)"),
            ("data", "treated_customers", float(treated), "with a complete window and features at contacted_at"),
            ("data", "control_customers", float(control), "with a complete window and features at contacted_at"),
            ("data", "campaigns", float(rows["campaign_id"].nunique()), "campaigns with a complete window")]
    if min(treated, control) < min_customers:
        why = (f"not fitted: {treated} treated and {control} control customers have a complete window; "
               f"the uplift model needs {min_customers} of each")
        return _empty_result(base + [("choice", "is_fitted", 0.0, why), ("choice", "use_uplift", 0.0, why)])
    if rows["churn_probability"].isna().any():
        raise ValueError("campaign_snapshots has rows without a churn probability at contacted_at "
                         "(ml.churn_scores_at_contact): build them from the same features")
    test_mask, how, out_of_time = _split(rows, min_part_customers)
    train, test = rows[~test_mask].reset_index(drop=True), rows[test_mask].reset_index(drop=True)
    for name, part in (("training", train), ("held-out", test)):
        for arm, label in ((1, "treated"), (0, "control")):
            outcomes = part.loc[part["is_treated"] == arm, "is_retained"]
            if outcomes.nunique() < 2:
                why = f"not fitted: the {label} customers of the {name} part all have the same outcome"
                return _empty_result(base + [("choice", "is_fitted", 0.0, why), ("choice", "use_uplift", 0.0, why)])
    p_t, p_c = _TwoModel(train, random_state).predict(test)
    uplift = p_t - p_c
    risk = test["churn_probability"].to_numpy(dtype=np.float64)
    qini, coefficients = _qini_table(test, {LEARNER: uplift, BASELINE: risk})
    wins = bool(coefficients[LEARNER] > 0 and coefficients[LEARNER] > coefficients[BASELINE])
    final = _TwoModel(rows, random_state)
    detail = f"held-out part: {how}"
    rows_out = base + [
        ("choice", "is_fitted", 1.0, f"{LEARNER}: gradient boosting of is_retained per arm; {how}"),
        ("choice", "use_uplift", float(wins),
         "the uplift model's Qini coefficient is positive and above ranking by churn probability" if wins else
         "ranking by churn probability does as well or better on the held-out part: the plan keeps it"),
        ("split", "is_out_of_time", float(out_of_time), how),
        ("split", "train_treated", float(_counts(train)[0]), detail),
        ("split", "train_control", float(_counts(train)[1]), detail),
        ("split", "test_treated", float(_counts(test)[0]), detail),
        ("split", "test_control", float(_counts(test)[1]), detail),
        ("holdout", "observed_uplift", _observed_uplift(test), "treated - control retention rate, held-out part"),
    ]
    for name, score in ((LEARNER, uplift), (BASELINE, risk)):
        rows_out += [
            (name, "qini_coefficient", coefficients[name],
             "area between the Qini curve (incremental retained / treated) and random targeting; held-out part"),
            (name, "uplift_top_30pct", _top_uplift(test, score),
             "observed treated - control retention rate among the top 30% by this ranking; held-out part"),
        ]
    return UpliftFit(metrics=_metrics(rows_out), qini=_qini_frame(qini), holdout=_holdout_frame(test, uplift),
                     is_fitted=True, use_uplift=wins, model=final)
