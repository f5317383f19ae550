"""Value if retained: what a customer would spend if they keep buying, chosen out of time.

Entry point: :func:`fit_and_score`.

The label is what a customer who did buy spent: ``revenue_in_label_window`` (net of returns,
floored at 0) of the training snapshots with ``churned = 0``, in the horizon window
``[cutoff, cutoff + h)``. So every candidate predicts spend in one window *given that the
customer buys*, never multiplied by a chance of staying: value and risk stay separate signals.

Candidates (each gives money for one window):

* ``gradient_boosting``: a Poisson gradient-boosting regressor on the snapshot features, fitted
  on the training cutoffs' buyers (the same out-of-time split as the churn model);
* ``bgnbd_gamma_gamma``: BG/NBD and Gamma-Gamma fitted on the test cutoff's own history (BTYD
  summary from the snapshot columns), the expected purchases *if alive*, t (r + x) / (alpha + T),
  times the Gamma-Gamma expected order value;
* ``historical_rate``: past spend per day kept up, monetary x h / max(tenure_days, h);
* ``past_monetary``: past spend, scaled by the training buyers' ratio of next-window spend to
  past spend (the baseline every method must beat).

They are compared on the test cutoff's buyers by Spearman rank correlation with realised spend
(normalised Gini breaks ties). The winner must beat ``past_monetary``; when no model does, the
best baseline is used and the metrics say so. The winner is refitted on every labelled cutoff and
applied as of as_of_date; the window's spend is scaled to ``value_horizon_days`` (discounted in
30-day steps) and multiplied by the gross margin: ``value_if_retained``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

from models_py.artifacts import date_values
from models_py.clv import bgnbd_expected_purchases_if_alive, fit_bgnbd, fit_gamma_gamma, gamma_gamma_expected_order_value
from models_py.estimators import regressor
from models_py.snapshots import (FEATURES, labelled_rows, out_of_time_split, prepare_features, sample,
                                 sample_positions, sampled_note, to_day, to_days)

__all__ = ["BASELINES", "METHODS", "ValueFit", "ValueModel", "ValueResult", "btyd_sample_positions",
           "contact_values", "fit", "fit_and_score", "normalised_gini", "score"]

METHODS: tuple[str, ...] = ("gradient_boosting", "bgnbd_gamma_gamma", "historical_rate", "past_monetary")
BASELINES: tuple[str, ...] = ("historical_rate", "past_monetary")
_LABEL_EXTRA = ("revenue_in_label_window", "mean_repeat_order_value")
_BTYD_MAX_CUSTOMERS = 50_000  # the BG/NBD + Gamma-Gamma fits use a fixed-seed sample of customers
_STEP_DAYS = 30


@dataclass(frozen=True)
class ValueResult:
    """Outputs of :func:`fit_and_score`.

    values
        One row per customer of ``customer_features`` (by customer_id): ``customer_id``,
        ``method``, ``window_spend_if_retained`` (currency, one horizon window),
        ``revenue_if_retained`` (currency over ``value_horizon_days``), ``value_if_retained``
        (gross margin over it), ``expected_order_value`` (currency), ``monetary``,
        ``tenure_days``, ``frequency`` (the inputs a person checks it against).
    metrics
        Long table ``model, metric, value, detail``: per candidate spearman, normalised_gini,
        mean_predicted, mean_realised, test_buyers, train_rows, is_chosen; model ``choice``:
        beats_past_monetary (1/0), margin, horizon_scale.
    method
        The method that produced ``values``.
    model
        The fitted :class:`ValueModel` that produced ``values``.
    contact_values
        When ``contact_features`` is given: ``customer_id``, ``cutoff_date`` (a campaign's contact
        day), ``value_if_retained`` and ``revenue_if_retained`` of every row, by the same method
        (fitted on every labelled cutoff, so in sample for the past; NULL at a cutoff whose own
        history BG/NBD cannot fit, when that is the method); else None.
    """

    values: pd.DataFrame
    metrics: pd.DataFrame
    method: str
    model: "ValueModel | None" = None
    contact_values: pd.DataFrame | None = None

    def summary(self) -> dict:
        """The chosen method's out-of-time figures and the choice."""
        return _summary(self.metrics, self.method)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name (what the dbt models write)."""
        tables = {"values": self.values, "metrics": self.metrics}
        if self.contact_values is not None:
            tables["contact_values"] = self.contact_values
        return tables


def _summary(metrics: pd.DataFrame, method: str) -> dict:
    rows = metrics[metrics["model"].isin([method, "choice"])]
    return {"method": method, **{k: float(v) for k, v in zip(rows["metric"], rows["value"])
                                 if k in ("spearman", "normalised_gini", "beats_past_monetary", "margin",
                                          "horizon_scale")}}


def normalised_gini(actual, predicted) -> float:
    """Gini of ``actual`` ordered by ``predicted``, over the Gini of the perfect order (1 = perfect)."""
    actual, predicted = np.asarray(actual, dtype="float64"), np.asarray(predicted, dtype="float64")

    def gini(by: np.ndarray) -> float:
        order = np.lexsort((np.arange(len(actual)), -by))
        cumulative = np.cumsum(actual[order]) / actual.sum()
        return float(cumulative.mean() - (len(actual) + 1) / (2 * len(actual)))

    return gini(predicted) / gini(actual)


def _btyd(frame: pd.DataFrame) -> pd.DataFrame:
    """The BTYD summary at the frame's cutoff (observation end = cutoff - 1 day) from the
    snapshot columns: frequency = order days - 1, recency = tenure - recency_days, T = tenure - 1."""
    frequency = frame["distinct_order_days"].to_numpy() - 1
    return pd.DataFrame({
        "customer_id": frame["customer_id"].to_numpy(),
        "frequency": frequency,
        "recency": np.where(frequency > 0, frame["tenure_days"] - frame["recency_days"], 0.0),
        "T": frame["tenure_days"].to_numpy() - 1.0,
        "monetary_value": np.where(frequency > 0, frame["mean_repeat_order_value"].fillna(0.0), 0.0),
    })


class _Methods:
    """Fit every candidate on one set of rows, predict one window's spend for another."""

    def __init__(self, train: pd.DataFrame, horizon_days: int, random_state: int):
        self.horizon_days, self.random_state = horizon_days, random_state
        buyers = train[train["churned"] == 0]
        self.label = buyers["revenue_in_label_window"].clip(lower=0).to_numpy()
        self.buyers = buyers
        self.ratio = float(self.label.sum() / max(buyers["monetary"].clip(lower=0).sum(), 1e-9))
        self._regressor = None
        self._btyd_fits = None

    def fit(self, method: str, btyd_rows: pd.DataFrame | None = None) -> "_Methods":
        """Fit what ``method`` needs now rather than at its first prediction: the regressor, or
        the BG/NBD and Gamma-Gamma fits on ``btyd_rows`` (the customers' own history, already
        sampled: :func:`btyd_sample_positions`), kept for :meth:`frozen`."""
        if method == "gradient_boosting":
            self._fitted_regressor()
        elif method == "bgnbd_gamma_gamma":
            self._btyd_fits = _fit_btyd(_btyd(btyd_rows))
        return self

    def predict(self, method: str, rows: pd.DataFrame) -> np.ndarray:
        h = float(self.horizon_days)
        if method == "past_monetary":
            return rows["monetary"].clip(lower=0).to_numpy() * self.ratio
        if method == "historical_rate":
            return rows["monetary"].clip(lower=0).to_numpy() * h / np.maximum(rows["tenure_days"].to_numpy(), h)
        if method == "gradient_boosting":
            return self._fitted_regressor().predict(rows[list(FEATURES)])
        if method == "bgnbd_gamma_gamma":
            return self._btyd_spend(rows, h)
        raise ValueError(f"unknown value method {method!r}; choose from {METHODS}")

    def _fitted_regressor(self):
        if self._regressor is None:
            self._regressor = regressor(self.random_state).fit(self.buyers[list(FEATURES)], self.label)
        return self._regressor

    def _btyd_spend(self, rows: pd.DataFrame, h: float) -> np.ndarray:
        """Fitted on the rows' own history (no label needed), a sample of customers."""
        summary = _btyd(rows)
        bg, gg = _fit_btyd(sample(summary, _BTYD_MAX_CUSTOMERS, self.random_state))
        return _btyd_window_spend(bg, gg, summary, h)

    def frozen(self, method: str, scale: float, margin: float) -> "ValueModel":
        """The chosen method as a :class:`ValueModel` (after :meth:`fit` fitted it)."""
        return ValueModel(method, self.horizon_days, float(scale), float(margin), self.ratio,
                          self._regressor if method == "gradient_boosting" else None,
                          self._btyd_fits if method == "bgnbd_gamma_gamma" else None)


def _btyd_window_spend(bg, gg, summary: pd.DataFrame, h: float) -> np.ndarray:
    purchases = bgnbd_expected_purchases_if_alive(bg, h, summary["frequency"], summary["T"])
    eov = gamma_gamma_expected_order_value(gg, summary["frequency"], summary["monetary_value"])
    return np.asarray(purchases * eov, dtype="float64")


@dataclass(frozen=True)
class ValueModel:
    """The chosen value method, fitted: ``value_if_retained`` of customers from their features (the
    build values every customer with it, and it is what the build persists).

    ``ratio`` is past_monetary's scale, ``regressor`` the fitted gradient-boosting regressor and
    ``btyd`` the (BG/NBD, Gamma-Gamma) fits of bgnbd_gamma_gamma; each is None for the other methods.
    ``scale`` turns one window's spend into ``value_horizon_days`` (discounted), ``margin`` into margin.
    """

    method: str
    horizon_days: int
    scale: float
    margin: float
    ratio: float
    regressor: object = None
    btyd: tuple | None = None

    def window_spend(self, rows: pd.DataFrame) -> np.ndarray:
        """Spend in one horizon window if the customer keeps buying (currency, >= 0)."""
        h = float(self.horizon_days)
        if self.method == "past_monetary":
            spend = rows["monetary"].clip(lower=0).to_numpy() * self.ratio
        elif self.method == "historical_rate":
            spend = rows["monetary"].clip(lower=0).to_numpy() * h / np.maximum(rows["tenure_days"].to_numpy(), h)
        elif self.method == "gradient_boosting":
            spend = self.regressor.predict(rows[list(FEATURES)]) if len(rows) else np.empty(0)
        elif self.method == "bgnbd_gamma_gamma":
            spend = _btyd_window_spend(*self.btyd, _btyd(rows), h)
        else:
            raise ValueError(f"unknown value method {self.method!r}; choose from {METHODS}")
        return np.clip(spend, 0.0, None)

    def score(self, current: pd.DataFrame) -> pd.DataFrame:
        """``current`` (prepared features, optionally expected_order_value) -> the values table."""
        window = self.window_spend(current)
        eov = (pd.to_numeric(current["expected_order_value"]) if "expected_order_value" in current
               else current["avg_order_value"]).to_numpy(dtype="float64")
        return pd.DataFrame({
            "customer_id": current["customer_id"].to_numpy(),
            "method": self.method,
            "window_spend_if_retained": window,
            "revenue_if_retained": window * self.scale,
            "value_if_retained": window * self.scale * self.margin,
            "expected_order_value": eov,
            "monetary": current["monetary"].to_numpy(),
            "tenure_days": current["tenure_days"].to_numpy(),
            "frequency": current["frequency"].to_numpy(),
        })


def _fit_btyd(fitted: pd.DataFrame):
    bg, gg = fit_bgnbd(fitted), fit_gamma_gamma(fitted)
    if not (bg.converged and gg.converged):
        raise ValueError(f"BG/NBD or Gamma-Gamma did not converge: {bg.message or gg.message}")
    return bg, gg


def btyd_sample_positions(n_customers: int, random_state: int = 42) -> np.ndarray | None:
    """Positions (in customer_id order, ascending) of the customers the BG/NBD + Gamma-Gamma
    candidate is fitted on when it scores ``n_customers`` customers; None: all of them. The
    same rows as :func:`models_py.snapshots.sample`, known from the count alone."""
    return sample_positions(n_customers, _BTYD_MAX_CUSTOMERS, random_state)


def _compare(methods: _Methods, test: pd.DataFrame) -> tuple[dict, list[str]]:
    bought = (test["churned"] == 0).to_numpy()
    realised = test.loc[bought, "revenue_in_label_window"].clip(lower=0).to_numpy()
    scores, failed = {}, []
    for method in METHODS:
        try:  # predicted for the whole cutoff (BG/NBD fits on its history), compared on the buyers
            predicted = methods.predict(method, test)[bought]
        except ValueError:
            failed.append(method)
            continue
        scores[method] = {
            "spearman": float(spearmanr(predicted, realised).statistic),
            "normalised_gini": normalised_gini(realised, predicted),
            "mean_predicted": float(np.mean(predicted)),
            "mean_realised": float(np.mean(realised)),
        }
    return scores, failed


def _choose(scores: dict) -> tuple[str, bool]:
    rank = lambda m: (scores[m]["spearman"], scores[m]["normalised_gini"])  # noqa: E731
    best = max(scores, key=rank)
    beats = rank(best) > rank("past_monetary")
    if best in BASELINES or beats:
        return best, best not in BASELINES
    return max((m for m in BASELINES if m in scores), key=rank), False


def _discounted_scale(horizon_days: int, value_horizon_days: int, annual_discount_rate: float) -> float:
    """value_horizon_days / horizon_days, each 30-day step discounted at the annual rate."""
    ends = np.append(np.arange(_STEP_DAYS, value_horizon_days, _STEP_DAYS, dtype="float64"), float(value_horizon_days))
    lengths = np.diff(np.concatenate([[0.0], ends]))
    return float(np.sum(lengths / (1.0 + annual_discount_rate) ** (ends / 365.0)) / horizon_days)


@dataclass(frozen=True)
class ValueFit:
    """What :func:`fit` learns, before any customer is valued: the chosen method fitted on every
    labelled cutoff (``model``: the factor from one window's spend to ``value_horizon_days``,
    discounted, and the margin included) and the ``metrics`` table. :func:`score` applies it to
    any batch of customers; ``random_state`` is the seed of the BG/NBD samples."""

    model: ValueModel
    metrics: pd.DataFrame
    random_state: int = 42

    @property
    def method(self) -> str:
        return self.model.method

    def summary(self) -> dict:
        """The chosen method's out-of-time figures and the choice (as :meth:`ValueResult.summary`)."""
        return _summary(self.metrics, self.method)


def fit_and_score(training_snapshots: pd.DataFrame, customer_features: pd.DataFrame, as_of_date,
                  horizon_days: int = 90, *, value_horizon_days: int = 365, margin: float = 0.3,
                  annual_discount_rate: float = 0.0, random_state: int = 42, max_train_rows: int = 100_000,
                  min_buyers: int = 50, contact_features: pd.DataFrame | None = None,
                  n_jobs: int = 1) -> ValueResult:
    """Choose the value method out of time and apply it as of ``as_of_date`` (:func:`fit`, then
    :func:`score` on every customer of ``customer_features`` and :func:`contact_values` on
    ``contact_features``); ``n_jobs`` limits the native OpenMP / BLAS pools for the call (1:
    reproducible, and no oversubscription when dbt runs several Python models at once)."""
    with threadpool_limits(limits=int(n_jobs)):
        current = _current_rows(customer_features)
        fitted = _fit(training_snapshots, as_of_date, horizon_days, value_horizon_days=value_horizon_days,
                      margin=margin, annual_discount_rate=annual_discount_rate, random_state=random_state,
                      max_train_rows=max_train_rows, min_buyers=min_buyers, n_customers=len(current),
                      customers_at=lambda positions: _at(current, positions))
        contact = None if contact_features is None else contact_values(fitted, contact_features)
        return ValueResult(values=fitted.model.score(current), metrics=fitted.metrics, method=fitted.method,
                           model=fitted.model, contact_values=contact)


def fit(training_snapshots: pd.DataFrame, as_of_date, horizon_days: int = 90, *, n_customers: int,
        customers_at, value_horizon_days: int = 365, margin: float = 0.3, annual_discount_rate: float = 0.0,
        random_state: int = 42, max_train_rows: int = 100_000, min_buyers: int = 50, n_jobs: int = 1) -> ValueFit:
    """The fitting half of :func:`fit_and_score` (same arguments), for a caller that holds the
    ``n_customers`` customers to value elsewhere (the Spark target). The BG/NBD + Gamma-Gamma
    candidate, when chosen, is fitted on the customers it values, a fixed sample of them:
    ``customers_at(positions)`` must return the ``customer_features`` rows at those positions of
    the customers ordered by customer_id (all of them for None); it is called only then."""
    with threadpool_limits(limits=int(n_jobs)):
        return _fit(training_snapshots, as_of_date, horizon_days, value_horizon_days=value_horizon_days,
                    margin=margin, annual_discount_rate=annual_discount_rate, random_state=random_state,
                    max_train_rows=max_train_rows, min_buyers=min_buyers, n_customers=n_customers,
                    customers_at=customers_at)


def score(fitted: ValueFit, customer_features: pd.DataFrame) -> pd.DataFrame:
    """The ``values`` table (see :class:`ValueResult`) of the given customers, by customer_id;
    a customer's row depends on the fit and that customer alone."""
    return fitted.model.score(_current_rows(customer_features))


def contact_values(fitted: ValueFit, contact_features: pd.DataFrame) -> pd.DataFrame:
    """The ``contact_values`` table (see :class:`ValueResult`): every row of ``contact_features``
    (features as of the contact days of past campaigns, with ``cutoff_date``) valued by the
    chosen method, each cutoff on its own (BG/NBD is refitted on that cutoff's own history; a
    cutoff it cannot fit keeps NULL values). Ordered by cutoff_date, customer_id."""
    model = fitted.model
    rows = prepare_features(contact_features, "contact_features", extra=("cutoff_date", "mean_repeat_order_value"))
    rows["cutoff_date"] = to_days(rows["cutoff_date"])
    rows = rows.sort_values(["cutoff_date", "customer_id"], kind="mergesort").reset_index(drop=True)
    window = np.full(len(rows), np.nan)
    for cutoff in rows["cutoff_date"].unique():
        at = (rows["cutoff_date"] == cutoff).to_numpy()
        part = rows.loc[at].reset_index(drop=True)
        try:
            if model.method == "bgnbd_gamma_gamma":
                summary = _btyd(part)
                spend = _btyd_window_spend(*_fit_btyd(sample(summary, _BTYD_MAX_CUSTOMERS, fitted.random_state)),
                                           summary, float(model.horizon_days))
                window[at] = np.clip(spend, 0.0, None)
            else:
                window[at] = model.window_spend(part)
        except ValueError:
            continue
    return pd.DataFrame({
        "customer_id": pd.Series(rows["customer_id"].to_numpy(), dtype="str"),
        "cutoff_date": date_values(rows["cutoff_date"]),
        "revenue_if_retained": window * model.scale,
        "value_if_retained": window * model.scale * model.margin,
    })


def _current_rows(customer_features: pd.DataFrame) -> pd.DataFrame:
    extra = tuple(c for c in ("mean_repeat_order_value", "expected_order_value") if c in customer_features.columns)
    current = prepare_features(customer_features, "customer_features", extra=extra)
    return current.sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def _at(frame: pd.DataFrame, positions: np.ndarray | None) -> pd.DataFrame:
    return frame if positions is None else frame.iloc[positions]


def _fit(training_snapshots, as_of_date, horizon_days, *, value_horizon_days, margin, annual_discount_rate,
         random_state, max_train_rows, min_buyers, n_customers, customers_at) -> ValueFit:
    """Choose the value method out of time and fit it on every labelled cutoff.

    ``training_snapshots`` needs the churn model's columns plus ``revenue_in_label_window`` and
    ``mean_repeat_order_value``; the customers valued later need the features (with
    ``mean_repeat_order_value``) and optionally ``expected_order_value`` (e.g. the Gamma-Gamma
    posterior of ml.customer_clv; else the customer's average order value is used). ``margin``
    is the gross margin (0, 1]. ``contact_features``: features as of the contact days of past
    campaigns (with ``cutoff_date``), valued by the same method (``contact_values``). Raises
    ValueError when fewer than ``min_buyers`` buyers are in the training or test split.
    """
    if not 0 < margin <= 1:
        raise ValueError("margin must be in (0, 1]")
    as_of, horizon_days = to_day(as_of_date), int(horizon_days)
    labelled = labelled_rows(training_snapshots, as_of, horizon_days, extra=_LABEL_EXTRA)
    if labelled.empty:
        raise ValueError("no training snapshot has a complete label window: the value model cannot be trained")
    split = out_of_time_split(labelled, as_of, horizon_days)
    for name, part in (("training", split.train), ("test", split.test)):
        buyers = int((part["churned"] == 0).sum())
        if buyers < min_buyers:
            raise ValueError(f"too few buyers in the {name} split of the value model ({buyers}; need "
                             f"{min_buyers}): provide more history or customers")
    train = sample(split.train, max_train_rows, random_state)
    scores, failed = _compare(_Methods(train, horizon_days, random_state), split.test)
    method, beats = _choose(scores)

    final_rows = sample(labelled, max_train_rows, random_state)
    predictor = _Methods(final_rows, horizon_days, random_state)
    if method == "bgnbd_gamma_gamma":
        customers = customers_at(btyd_sample_positions(n_customers, random_state))
        predictor.fit(method, _current_rows(customers))
    else:
        predictor.fit(method)
    scale = _discounted_scale(horizon_days, int(value_horizon_days), float(annual_discount_rate))
    rows = _metric_rows(scores, failed, method, beats, train, split, margin, scale, value_horizon_days)
    metrics = pd.DataFrame(rows, columns=["model", "metric", "value", "detail"]).astype({"value": "float64"})
    return ValueFit(model=predictor.frozen(method, scale, margin), metrics=metrics, random_state=random_state)


def _metric_rows(scores, failed, method, beats, train, split, margin, scale, value_horizon_days) -> list[tuple]:
    detail = f"buyers at the out-of-time test cutoff {split.test_cutoff.date()}"
    test_buyers = float((split.test["churned"] == 0).sum())
    rows = []
    for name in METHODS:
        if name in failed:
            rows.append((name, "is_chosen", 0.0, "could not be fitted (BG/NBD or Gamma-Gamma did not converge)"))
            continue
        m = scores[name]
        rows += [
            (name, "spearman", m["spearman"], f"rank correlation with realised spend, {detail}; selection metric"),
            (name, "normalised_gini", m["normalised_gini"], f"{detail}; breaks ties"),
            (name, "mean_predicted", m["mean_predicted"], f"currency per window, {detail}"),
            (name, "mean_realised", m["mean_realised"], f"currency per window, {detail}"),
            (name, "test_buyers", test_buyers, detail),
            (name, "train_rows", float(len(train)), sampled_note(train, split.train)),
            (name, "is_chosen", float(name == method), "highest spearman; a model must beat past_monetary"),
        ]
    rows += [
        ("choice", "beats_past_monetary", float(beats),
         f"{method} is a model that beats past_monetary" if beats else
         "no model beat past_monetary: the best baseline is used"),
        ("choice", "margin", float(margin), "gross margin applied to revenue (var gross_margin)"),
        ("choice", "horizon_scale", scale, f"value_horizon_days {value_horizon_days} over the window, discounted"),
    ]
    return rows
