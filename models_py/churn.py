"""Leak-free churn propensity: out-of-time model choice, calibration that transfers to the scored
season, a threshold, reasons in words and a backtest of every labelled cutoff.

Entry point: :func:`train_and_score`. The steps, each a function below:

1. ``labelled_rows`` / ``out_of_time_split`` (:mod:`models_py.snapshots`): test on the cutoff
   ``as_of_date - h``, train on cutoffs ``<= as_of_date - 2h`` (``h = horizon_days``).
2. :func:`compare_candidates`: logistic regression, random forest and gradient boosting fitted on
   the training cutoffs; the best out-of-time PR-AUC wins.
3. :func:`fit_calibrated`: the winner's out-of-fold scores on *whole cutoffs* (GroupKFold on
   cutoff_date, at most 3 folds; the fold model never saw the cutoff it scores, as in deployment),
   one calibrator per method fitted on them (:mod:`models_py.calibration`), the pipeline refitted
   on all rows.
4. :func:`choose_calibration`: every calibrator, with and without the season offset, applied to
   the test cutoff. The shape: the smooth calibrator (no ties the features do not make, never 0
   or 1) with the lowest out-of-time Brier score (ECE breaks ties). The level: the season offset,
   a prior-shift correction from last year -- the logit shift that makes the model's mean
   prediction at the labelled cutoff nearest to ``cutoff - 365 days`` equal the rate observed
   there. It moves every probability in logit space, so it changes the level, never the ranking.
   When that cutoff is too early in the data (under 180 days of history: every customer looks
   new there, and the model's error says little), the level is *transferred* instead: the
   model's level error at the latest cutoff labelled by the scored date (the anchor), plus last
   year's change in the churn rate of recent buyers (an order in the last d days, d the horizon
   or the history of the earlier date, if shorter) from the anchor's window to the scored one:
   a difference in differences that needs only both windows a year back to be in the data.
   Retail seasons repeat, so the offset is applied whenever the scored cutoff has either
   reference, unless the test cutoff has one too and the offset raised its expected calibration
   error (ECE) by more than 0.01 there.
5. The threshold reaches ``target_recall`` (or maximises F1) on the calibrated test probabilities.
6. The same recipe refitted on every labelled cutoff scores ``customer_features``; drivers in words
   (:mod:`models_py.drivers`).
7. :func:`backtest`: for every labelled cutoff with enough earlier history, the recipe trained only
   on cutoffs whose labels were known by then (``<= cutoff - h``) predicts it: drift over time.

Degenerate inputs raise ``ValueError`` naming the problem and the remedy; no fallback model is
fitted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from models_py.calibration import (
    CALIBRATORS,
    SMOOTH_CALIBRATORS,
    Calibrator,
    expected_calibration_error,
    fit_calibrator,
    reliability_table,
    season_offset,
    shift,
)
from models_py.artifacts import date_values
from models_py.drivers import top_drivers
from models_py.estimators import CANDIDATE_MODELS, classifier
from models_py.parallel import thread_map
from models_py.snapshots import (
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    labelled_rows,
    out_of_time_split,
    prepare_features,
    sample,
    sampled_note,
    to_day,
    to_days,
)

__all__ = [
    "CANDIDATE_MODELS",
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "ChurnFit",
    "ChurnModel",
    "ChurnResult",
    "ChurnScorer",
    "backtest",
    "choose_calibration",
    "compare_candidates",
    "contact_cutoffs",
    "fit",
    "fit_calibrated",
    "risk_band",
    "score",
    "score_at_contact",
    "score_previous",
    "train_and_score",
]

# Permutation importance predicts (rows x features x repeats) times: 10,000 test rows keep it to
# about a million predictions whatever the data size.
_IMPORTANCE_MAX_ROWS = 10_000
_IMPORTANCE_REPEATS = 5
# The season offset's reference: the labelled cutoff nearest to cutoff - 365 days (within 20
# days), at least 180 days after the first order in the data (in the first months of any history
# every customer is new, and their return rates say little about the season).
_SEASON_TOLERANCE_DAYS = 20
_SEASON_MIN_HISTORY_DAYS = 180
# The season offset is dropped when it raised the test cutoff's ECE by more than this.
_SEASON_ECE_TOLERANCE = 0.01
# The backtest covers at most the latest 12 labelled cutoffs, each fit with 2 calibration folds.
_BACKTEST_MAX_CUTOFFS = 12


@dataclass(frozen=True)
class ChurnModel:
    """A fitted churn model: pipeline -> calibrator -> season offset (logit shift)."""

    name: str
    pipeline: Pipeline
    calibrator: Calibrator
    offset: float = 0.0
    batch_size: int = 100_000

    def raw(self, X: pd.DataFrame, jobs: int = 1) -> np.ndarray:
        """The pipeline's probabilities, ``batch_size`` rows per call, the batches on ``jobs``
        threads (a row's probability depends on that row alone)."""
        if len(X) == 0:
            return np.empty(0)
        return np.concatenate(thread_map(lambda i: self.pipeline.predict_proba(X.iloc[i : i + self.batch_size])[:, 1],
                                         range(0, len(X), self.batch_size), jobs))

    def predict(self, X: pd.DataFrame, jobs: int = 1) -> np.ndarray:
        return self.from_raw(self.raw(X, jobs))

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        """The probabilities of the pipeline's scores ``raw`` (of :meth:`raw`): calibrated, shifted."""
        return shift(self.calibrator.apply(raw), self.offset) if len(raw) else np.empty(0)

    def with_offset(self, offset: float) -> "ChurnModel":
        return ChurnModel(self.name, self.pipeline, self.calibrator, offset, self.batch_size)


@dataclass(frozen=True)
class ChurnResult:
    """Outputs of :func:`train_and_score` (all DataFrames have a RangeIndex).

    scores
        One row per customer of ``customer_features``, ordered by customer_id (lexical):
        ``customer_id`` (str), ``churn_probability`` (float in (0, 1), calibrated probability of no
        order in the next ``horizon_days`` days), ``risk_band`` ('high' when
        probability >= threshold, 'medium' when >= threshold / 2, else 'low'),
        ``is_predicted_churner`` (bool, probability >= threshold), ``top_drivers`` (str, up to 3
        reasons separated by '; ', strongest first).
    metrics
        Long table ``model, metric, value (float), detail (str)``:

        * per candidate: roc_auc, pr_auc, brier (uncalibrated, test cutoff), base_rate,
          brier_base_rate, train_rows, test_rows, train_positives, test_positives, is_chosen;
        * ``<chosen>_calibrated``: roc_auc, pr_auc, brier, ece, mean_predicted, base_rate,
          brier_base_rate, distinct_probabilities, threshold, precision/recall/f1_at_threshold,
          flagged_share, season_offset, calibration_method (value NaN, detail: method and folds);
        * ``calibration:<method>`` and ``calibration:<method>+season``: brier, ece,
          mean_predicted, distinct_probabilities, is_eligible, is_chosen on the test cutoff;
        * ``scored``: expected_churn_rate (mean probability as of as_of_date), season_offset,
          last_year_observed_rate (observed churn at the cutoff a year earlier, NaN without one),
          last_year_predicted_rate (the final model's calibrated mean there, before the offset);
        * ``split``: horizon_days, test_cutoff, train_cutoff_min, train_cutoff_max, train_cutoffs,
          final_train_cutoffs, final_train_rows, final_train_positives, labelled_rows_available.
    feature_importance
        ``feature, importance, importance_std, method, rank`` (rank 1 = most important): permutation
        importance of the chosen calibrated model on the out-of-time test cutoff, the mean drop in
        PR-AUC when a column is shuffled.
    calibration
        ``decile`` (1 = lowest predicted), ``mean_predicted``, ``observed_rate``,
        ``observed_rate_low``, ``observed_rate_high`` (95% Wilson interval), ``customers``: the
        chosen calibrated model on the out-of-time test cutoff, by decile of predicted probability.
    backtest
        One row per labelled cutoff the recipe could be trained for from earlier cutoffs only:
        ``cutoff_date``, ``train_cutoffs``, ``train_rows``, ``customers``, ``mean_predicted``,
        ``observed_rate``, ``roc_auc``, ``brier``, ``ece``, ``season_offset``.
    model_name, calibration_method, season_offset, threshold, threshold_rule
        Chosen candidate, calibrator, the logit offset applied to the scores (0 when none),
        decision threshold on calibrated probability and the rule that chose it.
    test_cutoff, train_cutoffs
        The out-of-time test cutoff and the training cutoffs (ascending) of the evaluation fit.
    model
        The final :class:`ChurnModel` (it scored ``scores``).
    scorer
        The :class:`ChurnScorer` that produced ``scores`` (the model, threshold, drivers' reference).
    previous_scores
        When ``previous_features`` is given: ``customer_id``, ``churn_probability``,
        ``is_predicted_churner`` of those rows from the same final model and threshold (with the
        season offset of their own cutoff); else None.
    contact_scores
        When ``contact_features`` is given: ``customer_id``, ``cutoff_date`` (a campaign's contact
        day), ``churn_probability``, ``risk_band``, ``is_predicted_churner`` of every row, from the
        same final model and threshold, each cutoff with the season offset of its own date; else
        None.
    """

    scores: pd.DataFrame
    metrics: pd.DataFrame
    feature_importance: pd.DataFrame
    calibration: pd.DataFrame
    backtest: pd.DataFrame
    model_name: str
    calibration_method: str
    season_offset: float
    threshold: float
    threshold_rule: str
    test_cutoff: pd.Timestamp
    model: ChurnModel | None = None
    scorer: "ChurnScorer | None" = None
    train_cutoffs: tuple[pd.Timestamp, ...] = field(default_factory=tuple)
    previous_scores: pd.DataFrame | None = None
    contact_scores: pd.DataFrame | None = None

    def summary(self) -> dict:
        """The headline figures of the chosen, calibrated model on the out-of-time test cutoff."""
        return _summary(self.metrics, self.model_name, self.threshold, self.calibration_method, self.season_offset,
                        self.test_cutoff)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name (what the dbt models write)."""
        tables = {"scores": self.scores, "metrics": self.metrics, "feature_importance": self.feature_importance,
                  "calibration": self.calibration, "backtest": self.backtest}
        if self.previous_scores is not None:
            tables["previous_scores"] = self.previous_scores
        if self.contact_scores is not None:
            tables["contact_scores"] = self.contact_scores
        return tables


def _summary(metrics: pd.DataFrame, model_name: str, threshold: float, calibration_method: str,
             season_offset: float, test_cutoff: pd.Timestamp) -> dict:
    block = metrics[metrics["model"] == f"{model_name}_calibrated"]
    values = dict(zip(block["metric"], block["value"]))
    return {**{k: float(values[k]) for k in ("roc_auc", "pr_auc", "brier", "ece") if k in values},
            "threshold": threshold, "calibration_method": calibration_method,
            "season_offset": season_offset, "test_cutoff": test_cutoff.date().isoformat()}


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def _group_folds(cutoffs: pd.Series, y: np.ndarray, random_state: int, max_folds: int = 3) -> tuple[list, str]:
    """Folds of whole cutoffs (GroupKFold, at most ``max_folds``); stratified when that is impossible."""
    n_groups = cutoffs.nunique()
    if n_groups >= 2:
        n_splits = min(max_folds, n_groups)
        splits = list(GroupKFold(n_splits=n_splits).split(np.zeros(len(y)), y, groups=cutoffs))
        if all(len(np.unique(y[tr])) == 2 and len(np.unique(y[te])) == 2 for tr, te in splits):
            return splits, f"{n_splits} folds of whole cutoffs (GroupKFold on cutoff_date)"
    skf = StratifiedKFold(n_splits=max_folds, shuffle=True, random_state=random_state)
    return list(skf.split(np.zeros(len(y)), y)), f"stratified {max_folds}-fold (fewer than 2 usable cutoff folds)"


def fit_calibrated(name: str, data: pd.DataFrame, methods: Sequence[str], *, random_state: int,
                   tree_jobs: int, batch_size: int, max_folds: int = 3) -> tuple[dict[str, ChurnModel], str]:
    """{method: ChurnModel} sharing one pipeline fitted on all ``data``, each calibrator fitted on
    the out-of-fold scores of whole-cutoff folds; and how the folds were made. The folds and the
    whole fit are fitted side by side on ``tree_jobs`` threads."""
    X, y = data[list(FEATURES)], data["churned"].to_numpy()
    splits, how = _group_folds(data["cutoff_date"], y, random_state, max_folds)

    def fit_part(split):
        if split is None:
            return classifier(name, random_state, tree_jobs, len(data)).fit(X, y)
        train_idx, test_idx = split
        fold = classifier(name, random_state, tree_jobs, len(train_idx)).fit(X.iloc[train_idx], y[train_idx])
        return fold.predict_proba(X.iloc[test_idx])[:, 1]

    *fold_scores, pipeline = thread_map(fit_part, [*splits, None], tree_jobs)
    out_of_fold = np.empty(len(data))
    for (_, test_idx), scores in zip(splits, fold_scores):
        out_of_fold[test_idx] = scores
    models = {m: ChurnModel(name, pipeline, fit_calibrator(m, out_of_fold, y), 0.0, batch_size) for m in methods}
    return models, how


def compare_candidates(train: pd.DataFrame, test: pd.DataFrame, candidates: Sequence[str], *,
                       random_state: int, tree_jobs: int, batch_size: int) -> tuple[str, dict]:
    """The candidate with the best out-of-time PR-AUC (earlier in ``candidates`` on ties) and every
    candidate's uncalibrated test metrics (the candidates fitted side by side on ``tree_jobs`` threads)."""
    X_train, y_train = train[list(FEATURES)], train["churned"].to_numpy()
    X_test, y_test = test[list(FEATURES)], test["churned"].to_numpy()

    def evaluate(name):
        pipeline = classifier(name, random_state, tree_jobs, len(train)).fit(X_train, y_train)
        p = ChurnModel(name, pipeline, Calibrator("sigmoid", (1.0, 0.0)), 0.0, batch_size).raw(X_test)
        return _ranking_metrics(y_test, p)

    scores = dict(zip(candidates, thread_map(evaluate, candidates, tree_jobs)))
    chosen = max(candidates, key=lambda n: (scores[n]["pr_auc"], -list(candidates).index(n)))
    return chosen, scores


def _year_back(labelled: pd.DataFrame, cutoff: pd.Timestamp, min_history_days: int,
               data_start: pd.Timestamp) -> pd.DataFrame | None:
    """Labelled rows of the cutoff nearest to ``cutoff - 365 days`` (within the tolerance), at
    least ``min_history_days`` after ``data_start`` (the first order in the data), or None."""
    target = cutoff - pd.Timedelta(days=365)
    cutoffs = pd.Series(labelled["cutoff_date"].unique())
    cutoffs = cutoffs[cutoffs >= data_start + pd.Timedelta(days=min_history_days)]
    distance = (cutoffs - target).abs()
    near = cutoffs[distance <= pd.Timedelta(days=_SEASON_TOLERANCE_DAYS)]
    if near.empty:
        return None
    best = near.iloc[np.lexsort((near.to_numpy(), distance[near.index].to_numpy()))[0]]
    rows = labelled[labelled["cutoff_date"] == best]
    return rows if rows["churned"].nunique() == 2 else None


def _data_start(labelled: pd.DataFrame) -> pd.Timestamp:
    """The first order in the data, as far as the snapshots show it."""
    return (labelled["cutoff_date"] - pd.to_timedelta(labelled["tenure_days"], unit="D")).min()


def _same_window_last_year(labelled: pd.DataFrame, cutoff: pd.Timestamp,
                           data_start: pd.Timestamp | None = None) -> pd.DataFrame | None:
    """Labelled rows of the cutoff nearest to ``cutoff - 365 days`` (see the constants above), or
    None when there is no such reference (``data_start``: :func:`_data_start`, when known)."""
    start = _data_start(labelled) if data_start is None else data_start
    return _year_back(labelled, cutoff, _SEASON_MIN_HISTORY_DAYS, start)


@dataclass(frozen=True)
class LevelReference:
    """Where the level of a cutoff's probabilities comes from (see the module's step 4).

    ``kind`` "season": ``last_year`` is the reference a year back, and the offset is the model's
    level error there. ``kind`` "transfer": the offset is the model's level error at ``anchor``
    (the latest cutoff labelled by the scored date) plus ``change``, last year's change in the
    churn rate of recent buyers (an order in the last ``recent_days`` days) from the anchor's
    window to the scored one, in logit space; ``last_year`` is the scored window a year back.
    """

    kind: str
    last_year: pd.DataFrame
    anchor: pd.DataFrame | None = None
    change: float = 0.0
    recent_days: int = 0
    detail: str = ""


def _recent_rate(rows: pd.DataFrame, recent_days: int) -> float | None:
    recent = rows.loc[rows["recency_days"] <= recent_days, "churned"]
    return float(recent.mean()) if recent.nunique() == 2 else None


def _level_transfer(labelled: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int,
                    data_start: pd.Timestamp) -> LevelReference | None:
    """The transfer reference of ``cutoff`` (see :class:`LevelReference`), or None when a year
    back of either window is not in the data."""
    known = labelled.loc[labelled["cutoff_date"] <= cutoff - pd.Timedelta(days=horizon_days), "cutoff_date"]
    if known.empty:
        return None
    anchor_date = known.max()
    anchor = labelled[labelled["cutoff_date"] == anchor_date]
    last_year, anchor_last_year = (_year_back(labelled, c, 0, data_start) for c in (cutoff, anchor_date))
    if last_year is None or anchor_last_year is None or anchor["churned"].nunique() < 2:
        return None
    then = [pd.Timestamp(r["cutoff_date"].iloc[0]) for r in (anchor_last_year, last_year)]
    if then[0] == then[1]:  # a short horizon: one cutoff a year back stands for both windows, no change to read
        return None
    # the same population at both dates: recent enough that the earlier date's history holds it
    recent_days = int(min(horizon_days, (min(then) - data_start).days))
    if recent_days < 1:
        return None
    rates = [_recent_rate(r, recent_days) for r in (anchor_last_year, last_year)]
    if None in rates:
        return None
    change = float(logit(rates[1]) - logit(rates[0]))
    detail = (f"the level at {pd.Timestamp(anchor_date).date()} moved by {change:+.3f}, last year's change in "
              f"the churn of customers with an order in the last {recent_days} days from {then[0].date()} "
              f"({rates[0]:.3f}) to {then[1].date()} ({rates[1]:.3f})")
    return LevelReference("transfer", last_year, anchor, change, recent_days, detail)


def _level_reference(labelled: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int) -> LevelReference | None:
    """The season reference when there is one; else the level transfer; else None."""
    data_start = _data_start(labelled)
    season = _same_window_last_year(labelled, cutoff, data_start)
    if season is not None:
        when = pd.Timestamp(season["cutoff_date"].iloc[0]).date()
        return LevelReference("season", season, detail=f"last year's level error at {when}")
    return _level_transfer(labelled, cutoff, horizon_days, data_start)


def _reference_rows(reference: LevelReference) -> pd.DataFrame:
    """The labelled rows whose level error the offset starts from."""
    return reference.last_year if reference.kind == "season" else reference.anchor


def _offset_from(model: ChurnModel, reference: LevelReference | None, raw: np.ndarray | None = None) -> float:
    """The logit offset a reference gives this model's probabilities (0 without one); ``raw``: the
    pipeline's scores of the reference rows, when already computed."""
    if reference is None:
        return 0.0
    rows = _reference_rows(reference)
    p = model.from_raw(model.raw(rows[list(FEATURES)]) if raw is None else raw)
    return season_offset(p, rows["churned"].to_numpy()) + reference.change


def _offset_for(model: ChurnModel, labelled: pd.DataFrame, cutoff: pd.Timestamp,
                horizon_days: int) -> tuple[float, LevelReference | None]:
    """The logit offset of ``cutoff``'s probabilities and its reference (0, None without one)."""
    reference = _level_reference(labelled, cutoff, horizon_days)
    return _offset_from(model, reference), reference


def choose_calibration(models: dict[str, ChurnModel], test: pd.DataFrame, labelled: pd.DataFrame,
                       test_cutoff: pd.Timestamp, scored_cutoff: pd.Timestamp,
                       horizon_days: int) -> tuple[str, bool, pd.DataFrame]:
    """(method, use season offset, table of every option on the test cutoff). The season offset
    is used when the scored cutoff has a reference, unless the test cutoff has one too and the
    offset raised its ECE by more than the tolerance. The calibrators of one fitted pipeline share
    its scores, computed once."""
    X, y = test[list(FEATURES)], test["churned"].to_numpy()
    seasonal_possible = _level_reference(labelled, scored_cutoff, horizon_days) is not None
    reference = _level_reference(labelled, test_cutoff, horizon_days)  # the same for every calibrator
    scores: dict = {}

    def raw(model: ChurnModel, which: str, rows: pd.DataFrame) -> np.ndarray:
        key = (id(model.pipeline), which)
        if key not in scores:
            scores[key] = model.raw(rows[list(FEATURES)])
        return scores[key]

    rows = []
    for method, model in models.items():
        offset = (_offset_from(model, reference, raw(model, "reference", _reference_rows(reference)))
                  if reference is not None else 0.0)
        options = [(False, 0.0)] + ([(True, offset)] if reference is not None and seasonal_possible else [])
        for seasonal, value in options:
            p = model.with_offset(value).from_raw(raw(model, "test", X))
            rows.append({
                "method": method, "season_offset": seasonal, "offset": value,
                "brier": float(brier_score_loss(y, p)), "ece": expected_calibration_error(y, p),
                "mean_predicted": float(p.mean()), "distinct": int(len(np.unique(p))),
                "eligible": method in SMOOTH_CALIBRATORS and bool(((p > 0) & (p < 1)).all()),
            })
    table = pd.DataFrame(rows)
    plain = table[table["eligible"] & ~table["season_offset"]]
    if plain.empty:
        raise ValueError("no smooth calibrator could be fitted; check the training snapshots")
    best = plain.sort_values(["brier", "ece"], kind="mergesort").iloc[0]
    seasonal = table[(table["method"] == best["method"]) & table["season_offset"]]
    use_offset = seasonal_possible and not (len(seasonal) and seasonal["ece"].iloc[0] > best["ece"] + _SEASON_ECE_TOLERANCE)
    # without a reference at the test cutoff the offset cannot be shown there: the plain row is the test's
    table["is_chosen"] = (table["method"] == best["method"]) & (table["season_offset"] == (use_offset and len(seasonal) > 0))
    return str(best["method"]), use_offset, table


def _test_offset(options: pd.DataFrame, method: str) -> float:
    """The season offset ``method`` had on the test cutoff in :func:`choose_calibration`'s table
    (0 when the test cutoff had no reference)."""
    row = options[(options["method"] == method) & options["season_offset"]]
    return float(row["offset"].iloc[0]) if len(row) else 0.0


def backtest(labelled: pd.DataFrame, name: str, method: str, seasonal: bool, horizon_days: int, *,
             max_train_rows: int, min_rows_per_class: int, random_state: int, tree_jobs: int,
             batch_size: int) -> pd.DataFrame:
    """What the recipe, trained only on cutoffs whose labels were known by then, predicted at each
    labelled cutoff, against what happened (see :class:`ChurnResult`). The cutoffs are fitted side
    by side on ``tree_jobs`` threads."""
    horizon = pd.Timedelta(days=horizon_days)

    def predict_cutoff(cutoff):
        history = labelled[labelled["cutoff_date"] <= cutoff - horizon]
        target = labelled[labelled["cutoff_date"] == cutoff]
        if min(_class_counts(history) + _class_counts(target)) < min_rows_per_class:
            return None
        train = sample(history, max_train_rows, random_state)
        model = fit_calibrated(name, train, [method], random_state=random_state, tree_jobs=tree_jobs,
                               batch_size=batch_size, max_folds=2)[0][method]
        offset = _offset_for(model, history, cutoff, horizon_days)[0] if seasonal else 0.0
        y, p = target["churned"].to_numpy(), model.with_offset(offset).predict(target[list(FEATURES)])
        return {
            "cutoff_date": cutoff, "train_cutoffs": int(train["cutoff_date"].nunique()), "train_rows": len(train),
            "customers": len(target), "mean_predicted": float(p.mean()), "observed_rate": float(y.mean()),
            "roc_auc": float(roc_auc_score(y, p)), "brier": float(brier_score_loss(y, p)),
            "ece": expected_calibration_error(y, p), "season_offset": offset,
        }

    cutoffs = [pd.Timestamp(c) for c in sorted(labelled["cutoff_date"].unique())[-_BACKTEST_MAX_CUTOFFS:]]
    rows = [row for row in thread_map(predict_cutoff, cutoffs, tree_jobs) if row is not None]
    columns = ["cutoff_date", "train_cutoffs", "train_rows", "customers", "mean_predicted", "observed_rate",
               "roc_auc", "brier", "ece", "season_offset"]
    table = pd.DataFrame(rows, columns=columns)
    table["cutoff_date"] = pd.to_datetime(table["cutoff_date"]).dt.date
    return table


# --------------------------------------------------------------------------------------------
# Threshold, metrics, importance
# --------------------------------------------------------------------------------------------


def _class_counts(frame: pd.DataFrame) -> list[int]:
    positives = int(frame["churned"].sum())
    return [positives, int(len(frame) - positives)]


def _choose_threshold(y: np.ndarray, p: np.ndarray, rule: str, target_recall: float) -> tuple[float, str]:
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]  # align with thresholds (ascending)
    if rule == "max_f1":
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        best = np.flatnonzero(f1 == f1.max())[-1]  # the highest threshold among ties
        return float(thresholds[best]), "max_f1: threshold maximising F1 on the out-of-time test cutoff"
    ok = np.flatnonzero(recall >= target_recall)
    best = ok[-1]  # highest threshold that still reaches the target (recall[0] == 1 always)
    return float(thresholds[best]), (
        f"recall_target: highest threshold with recall >= {target_recall:g} on the out-of-time test cutoff"
    )


def _ranking_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, p))}


def _calibration_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame(reliability_table(y, p), columns=[
        "decile", "mean_predicted", "observed_rate", "observed_rate_low", "observed_rate_high", "customers"])
    return table.astype({"decile": "int64", "customers": "int64"})


def _permutation_importance(model: ChurnModel, rows: pd.DataFrame, random_state: int, jobs: int = 1) -> pd.DataFrame:
    """Mean drop in PR-AUC when one column is shuffled (5 repeats, fixed seed; the shuffles are
    drawn in order, then scored on ``jobs`` threads)."""
    rng = np.random.RandomState(random_state)
    X, y = rows[list(FEATURES)].reset_index(drop=True), rows["churned"].to_numpy()
    base = average_precision_score(y, model.predict(X))
    shuffles = [(column, rng.permutation(len(X))) for column in FEATURES for _ in range(_IMPORTANCE_REPEATS)]

    def drop(shuffle):
        column, order = shuffle
        shuffled = X.copy()
        shuffled[column] = X[column].to_numpy()[order]
        return base - average_precision_score(y, model.predict(shuffled))

    drops = np.reshape(thread_map(drop, shuffles, jobs), (len(FEATURES), _IMPORTANCE_REPEATS))
    means = [float(np.mean(d)) for d in drops]
    stds = [float(np.std(d)) for d in drops]
    table = pd.DataFrame({"feature": list(FEATURES), "importance": means, "importance_std": stds})
    table = table.sort_values(["importance", "feature"], ascending=[False, True], kind="mergesort")
    table["rank"] = np.arange(1, len(table) + 1, dtype="int64")
    return table.reset_index(drop=True)


def _threshold_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = p >= threshold
    tp = float((flagged & (y == 1)).sum())
    precision = tp / flagged.sum() if flagged.any() else 0.0
    recall = tp / y.sum()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision_at_threshold": precision, "recall_at_threshold": recall, "f1_at_threshold": f1,
            "flagged_share": float(flagged.mean())}


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
    candidates: Iterable[str] = CANDIDATE_MODELS,
    max_train_rows: int = 100_000,
    backtest_max_train_rows: int = 20_000,
    batch_size: int = 100_000,
    min_rows_per_class: int = 20,
    n_jobs: int | None = 1,
    tree_jobs: int = 1,
    previous_features: pd.DataFrame | None = None,
    contact_features: pd.DataFrame | None = None,
) -> ChurnResult:
    """Select, calibrate and apply a churn model with an out-of-time evaluation.

    Parameters
    ----------
    training_snapshots : DataFrame
        ``features.training_snapshots``: customer_id, cutoff_date, the feature columns
        (:data:`NUMERIC_FEATURES` in days / counts / money / shares, ``country``), ``churned`` (0/1),
        ``is_label_window_complete`` and optionally ``label_window_end_date`` (checked to equal
        cutoff_date + horizon_days). Rows without a complete label window are ignored.
    customer_features : DataFrame
        ``features.customer_features``: customer_id and the same feature columns as of
        ``as_of_date``; one row per customer. If it has ``cutoff_date`` it must equal as_of_date.
    as_of_date : date-like
        Analysis date (day precision). Labels are only trusted when cutoff + horizon <= as_of_date.
    horizon_days : int
        Churn horizon in days: churn = no order in [cutoff, cutoff + horizon_days).
    threshold_rule : {'max_f1', 'recall_target'}
        'max_f1': threshold maximising F1 on the out-of-time test cutoff (highest among ties);
        'recall_target': highest threshold whose test recall >= ``target_recall``. Chosen and
        evaluated on the same cutoff, so precision / recall at it are slightly optimistic.
    candidates : iterable of str
        Subset of :data:`CANDIDATE_MODELS` to compare (default: all three).
    max_train_rows, backtest_max_train_rows : int
        Each fit uses a fixed-seed sample of at most this many rows (the backtest's fits fewer).
    batch_size : int
        Rows per predict_proba call when scoring and explaining.
    min_rows_per_class : int
        Minimum churned and retained rows required in both the training and the test split (and
        in a backtest cutoff and its history).
    n_jobs : int or None
        Threads of the native OpenMP / BLAS pools for the call (threadpoolctl).
        Default 1: bit-for-bit reproducible and immune to OpenMP oversubscription when dbt runs
        several models at once. None leaves the native pools alone.
    tree_jobs : int
        Threads for the step's independent pieces: the random forest's trees, the candidates, the
        calibration folds, the backtest's cutoffs, the permutation shuffles, the scoring batches and
        the drivers' occlusions (:func:`models_py.parallel.thread_map`). Every result is the same
        to the last bit for any number (each tree's seed is drawn first and the forest's
        predictions are summed on one thread; each other piece runs whole on one thread, under
        the caller's OpenMP limit).
    previous_features : DataFrame or None
        Features of the same customers at an earlier cutoff, scored by the same final model.
    contact_features : DataFrame or None
        Features as of the contact days of past campaigns (customer_id, cutoff_date, the feature
        columns; several cutoffs), scored by the same final model (``contact_scores``). The final
        model has seen every labelled cutoff, so these scores are in sample for the past: a
        baseline to compare an uplift model with, not an out-of-time forecast.

    Returns
    -------
    ChurnResult (its ``metrics`` rows are listed there)
    """
    jobs = _tree_jobs(tree_jobs)
    with _thread_limits(n_jobs):
        current = _current_rows(customer_features, to_day(as_of_date))
        fitted = _fit(training_snapshots, as_of_date, horizon_days, random_state=random_state,
                      threshold_rule=threshold_rule, target_recall=target_recall, candidates=tuple(candidates),
                      max_train_rows=max_train_rows, backtest_max_train_rows=backtest_max_train_rows,
                      batch_size=batch_size, min_rows_per_class=min_rows_per_class,
                      tree_jobs=jobs, previous_cutoff=_previous_cutoff(previous_features),
                      contact_cutoffs=contact_cutoffs(contact_features))
        return _result(fitted, current, previous_features, contact_features, jobs)


def _tree_jobs(tree_jobs: int) -> int:
    if int(tree_jobs) != tree_jobs or tree_jobs < 1:
        raise ValueError("tree_jobs must be a positive integer")
    return int(tree_jobs)


def _thread_limits(n_jobs: int | None):
    """``n_jobs`` checked, as a context that holds BLAS/OpenMP to that many threads (None: no limit)."""
    if n_jobs is not None and (int(n_jobs) != n_jobs or n_jobs < 1):
        raise ValueError("n_jobs must be a positive integer or None")
    return contextlib.nullcontext() if n_jobs is None else threadpool_limits(limits=int(n_jobs))


def _check_arguments(horizon_days: int, threshold_rule: str, target_recall: float, candidates: tuple) -> None:
    if horizon_days <= 0:
        raise ValueError("horizon_days must be a positive number of days")
    if threshold_rule not in {"max_f1", "recall_target"}:
        raise ValueError("threshold_rule must be 'max_f1' or 'recall_target'")
    if not 0 < target_recall <= 1:
        raise ValueError("target_recall must be in (0, 1]")
    if not candidates or any(c not in CANDIDATE_MODELS for c in candidates):
        raise ValueError(f"candidates must be a non-empty subset of {CANDIDATE_MODELS}")


def _current_rows(customer_features: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    extra = ("cutoff_date",) if "cutoff_date" in customer_features.columns else ()
    current = prepare_features(customer_features, "customer_features", extra=extra)
    if len(current) == 0:
        raise ValueError("customer_features is empty: nothing to score")
    if current["customer_id"].duplicated().any():
        raise ValueError("customer_features must have one row per customer_id")
    if extra and (to_days(current["cutoff_date"]) != as_of).any():
        raise ValueError("customer_features.cutoff_date differs from as_of_date; pass the as_of slice")
    return current.sort_values("customer_id", kind="mergesort").reset_index(drop=True)


def _check_labels(labelled: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> None:
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


def _check_split_sizes(train: pd.DataFrame, test: pd.DataFrame, min_rows_per_class: int) -> None:
    for split_name, part in (("training", train), ("test", test)):
        pos, neg = _class_counts(part)
        if min(pos, neg) < min_rows_per_class:
            raise ValueError(
                f"too few rows in the {split_name} split ({pos} churned, {neg} retained; need at "
                f"least {min_rows_per_class} of each): provide more customers / history, lower "
                "churn_horizon_days, or lower min_rows_per_class"
            )


def _result(fitted: "ChurnFit", current: pd.DataFrame, previous_features, contact_features,
            jobs: int = 1) -> ChurnResult:
    """A fit's scores of the current, previous and contact-day customers, with its tables."""
    scores = fitted.scorer.score(current, jobs)
    previous_scores = None if previous_features is None else score_previous(fitted, previous_features, jobs)
    contact_scores = None if contact_features is None else score_at_contact(fitted, contact_features, jobs)
    return ChurnResult(
        scores=scores, metrics=fitted.metrics(float(scores["churn_probability"].mean())),
        feature_importance=fitted.feature_importance, calibration=fitted.calibration, backtest=fitted.backtest,
        model_name=fitted.model_name, calibration_method=fitted.calibration_method,
        season_offset=fitted.season_offset, threshold=fitted.threshold, threshold_rule=fitted.threshold_rule,
        test_cutoff=fitted.test_cutoff, model=fitted.model, scorer=fitted.scorer, train_cutoffs=fitted.train_cutoffs,
        previous_scores=previous_scores, contact_scores=contact_scores,
    )


@dataclass(frozen=True)
class ChurnFit:
    """What :func:`fit` learns from the training snapshots, before any customer is scored: the
    scorer (final model, threshold, drivers' reference, base rate: everything needed to score and
    explain a customer on its own, so scoring can run in batches anywhere, e.g. on Spark
    executors) and the result tables that do not depend on the scored customers. Fields as in
    :class:`ChurnResult`, plus:

    previous_offset
        The logit offset for the previous cutoff's scores (``previous_cutoff`` of :func:`fit`;
        the scored date's offset when none was given).
    contact_offsets
        {contact day: logit offset} for the contact days of past campaigns (``contact_cutoffs``
        of :func:`fit`), each the season offset of its own date (0 without a seasonal offset).
    """

    scorer: ChurnScorer
    threshold_rule: str
    model_name: str
    calibration_method: str
    season_offset: float
    test_cutoff: pd.Timestamp
    train_cutoffs: tuple[pd.Timestamp, ...]
    previous_offset: float
    contact_offsets: dict
    feature_importance: pd.DataFrame
    calibration: pd.DataFrame
    backtest: pd.DataFrame
    as_of: pd.Timestamp
    metric_rows: tuple[tuple, ...]
    scored_rows_at: int

    @property
    def model(self) -> ChurnModel:
        return self.scorer.model

    @property
    def threshold(self) -> float:
        return self.scorer.threshold

    def metrics(self, expected_churn_rate: float) -> pd.DataFrame:
        """The metrics table, given the mean churn probability of every scored customer."""
        scored = [("scored", "expected_churn_rate", float(expected_churn_rate),
                   f"mean churn probability as of {self.as_of.date()}")]
        rows = list(self.metric_rows[:self.scored_rows_at]) + scored + list(self.metric_rows[self.scored_rows_at:])
        metrics = pd.DataFrame(rows, columns=["model", "metric", "value", "detail"])
        metrics["value"] = metrics["value"].astype("float64")
        metrics["detail"] = metrics["detail"].astype(object)
        return metrics

    def summary(self) -> dict:
        """The headline figures of the chosen, calibrated model (as :meth:`ChurnResult.summary`;
        they do not depend on the scored customers)."""
        return _summary(self.metrics(float("nan")), self.model_name, self.threshold, self.calibration_method,
                        self.season_offset, self.test_cutoff)


def fit(training_snapshots: pd.DataFrame, as_of_date, horizon_days: int = 90, *, random_state: int = 42,
        threshold_rule: str = "max_f1", target_recall: float = 0.7, candidates: Iterable[str] = CANDIDATE_MODELS,
        max_train_rows: int = 100_000, backtest_max_train_rows: int = 20_000, batch_size: int = 100_000,
        min_rows_per_class: int = 20, n_jobs: int | None = 1, tree_jobs: int = 1, previous_cutoff=None,
        contact_cutoffs: Iterable = ()) -> ChurnFit:
    """The fitting half of :func:`train_and_score` (same arguments, without the customers to
    score; ``previous_cutoff``: the cutoff of the previous features, for their season offset;
    ``contact_cutoffs``: the contact days the contact features will be scored at, see
    :func:`contact_cutoffs`). Score with ``ChurnFit.scorer`` (or :func:`score`),
    :func:`score_previous` and :func:`score_at_contact`; the metrics with ``ChurnFit.metrics``."""
    with _thread_limits(n_jobs):
        return _fit(training_snapshots, as_of_date, horizon_days, random_state=random_state,
                    threshold_rule=threshold_rule, target_recall=target_recall, candidates=tuple(candidates),
                    max_train_rows=max_train_rows, backtest_max_train_rows=backtest_max_train_rows,
                    batch_size=batch_size, min_rows_per_class=min_rows_per_class,
                    tree_jobs=_tree_jobs(tree_jobs), previous_cutoff=previous_cutoff,
                    contact_cutoffs=tuple(contact_cutoffs))


def _fit(training_snapshots, as_of_date, horizon_days, *, random_state, threshold_rule, target_recall, candidates,
         max_train_rows, backtest_max_train_rows, batch_size, min_rows_per_class, tree_jobs,
         previous_cutoff, contact_cutoffs) -> ChurnFit:
    as_of, horizon_days = to_day(as_of_date), int(horizon_days)
    _check_arguments(horizon_days, threshold_rule, target_recall, candidates)
    labelled = labelled_rows(training_snapshots, as_of, horizon_days)
    _check_labels(labelled, as_of, horizon_days)
    split = out_of_time_split(labelled, as_of, horizon_days)
    _check_split_sizes(split.train, split.test, min_rows_per_class)
    fit_args = dict(random_state=random_state, tree_jobs=tree_jobs, batch_size=batch_size)

    train = sample(split.train, max_train_rows, random_state)
    chosen, candidate_scores = compare_candidates(train, split.test, candidates, **fit_args)
    evaluated, folds = fit_calibrated(chosen, train, CALIBRATORS, **fit_args)
    method, seasonal, options = choose_calibration(evaluated, split.test, labelled, split.test_cutoff, as_of,
                                                   horizon_days)
    test_model = evaluated[method].with_offset(_test_offset(options, method) if seasonal else 0.0)
    y_test, p_test = split.test["churned"].to_numpy(), test_model.predict(split.test[list(FEATURES)])
    threshold, rule_text = _choose_threshold(y_test, p_test, threshold_rule, target_recall)
    importance = _permutation_importance(test_model, sample(split.test, _IMPORTANCE_MAX_ROWS, random_state),
                                         random_state, tree_jobs)
    importance["method"] = (f"permutation: mean drop in PR-AUC of calibrated {chosen} on the out-of-time test "
                            f"cutoff {split.test_cutoff.date()}, {_IMPORTANCE_REPEATS} repeats, "
                            f"{min(len(split.test), _IMPORTANCE_MAX_ROWS)} rows")

    final_data = sample(labelled, max_train_rows, random_state)
    final = fit_calibrated(chosen, final_data, [method], **fit_args)[0][method]
    offset, reference = _offset_for(final, labelled, as_of, horizon_days)
    offset = offset if seasonal else 0.0
    final = final.with_offset(offset)
    scorer = ChurnScorer.from_training(final, final_data, threshold)
    unshifted = final.with_offset(0.0)
    previous_offset = final.offset
    if seasonal and previous_cutoff is not None:
        previous_offset = _offset_for(unshifted, labelled, to_day(previous_cutoff), horizon_days)[0]
    contact_offsets = {pd.Timestamp(c): (_offset_for(unshifted, labelled, pd.Timestamp(c), horizon_days)[0]
                                         if seasonal else 0.0)
                       for c in contact_cutoffs}
    history = backtest(labelled, chosen, method, seasonal, horizon_days, max_train_rows=backtest_max_train_rows,
                       min_rows_per_class=min_rows_per_class, **fit_args)

    rows = _candidate_rows(candidate_scores, chosen, train, split, y_test)
    rows += _calibrated_rows(chosen, y_test, p_test, threshold, rule_text, method, folds, test_model.offset,
                             split.test_cutoff)
    rows += _option_rows(options)
    scored_rows_at = len(rows)
    rows += _scored_rows(final, reference, offset)
    rows += _split_rows(as_of, horizon_days, split.test_cutoff, train, final_data, labelled)
    rows += _sample_rows(training_snapshots)
    return ChurnFit(
        scorer=scorer, threshold_rule=threshold_rule, model_name=chosen,
        calibration_method=method, season_offset=offset, test_cutoff=split.test_cutoff,
        train_cutoffs=tuple(pd.Timestamp(c) for c in sorted(train["cutoff_date"].unique())),
        previous_offset=float(previous_offset), contact_offsets=contact_offsets,
        feature_importance=importance[["feature", "importance", "importance_std", "method", "rank"]],
        calibration=_calibration_table(y_test, p_test), backtest=history, as_of=as_of,
        metric_rows=tuple(rows), scored_rows_at=scored_rows_at,
    )


def risk_band(p, threshold: float) -> np.ndarray:
    """'high' at or above the threshold, 'medium' at or above half of it, else 'low'."""
    p = np.asarray(p, dtype="float64")
    return np.where(p >= threshold, "high", np.where(p >= threshold / 2, "medium", "low")).astype(object)


@dataclass(frozen=True)
class ChurnScorer:
    """Everything that turns one customer's features into their score: the final model, the decision
    threshold, the typical customer the drivers compare with (training medians, the most common
    country) and the training base rate (above it the drivers name what raises the risk). The build
    scores every customer with it, and it is what the build persists for scoring later."""

    model: ChurnModel
    threshold: float
    reference: dict
    base_rate: float

    @classmethod
    def from_training(cls, model: ChurnModel, training_rows: pd.DataFrame, threshold: float) -> "ChurnScorer":
        reference = {c: float(training_rows[c].median()) for c in NUMERIC_FEATURES}
        reference["country"] = training_rows["country"].value_counts().sort_index().idxmax()
        return cls(model, float(threshold), reference, float(training_rows["churned"].mean()))

    def score(self, current: pd.DataFrame, jobs: int = 1) -> pd.DataFrame:
        """``current`` (customer_id and :data:`FEATURES`, as :func:`prepare_features` returns them) ->
        customer_id, churn_probability, risk_band, is_predicted_churner, top_drivers; the batches and
        the drivers' occlusions on ``jobs`` threads (the same results for any number)."""
        X_now = current[list(FEATURES)]
        p_now = self.model.predict(X_now, jobs)
        drivers = top_drivers(self.model.predict, X_now, p_now, self.reference, self.base_rate, jobs,
                              self.model.batch_size)
        return pd.DataFrame({
            "customer_id": current["customer_id"].to_numpy(),
            "churn_probability": p_now,
            "risk_band": risk_band(p_now, self.threshold),
            "is_predicted_churner": p_now >= self.threshold,
            "top_drivers": np.asarray(drivers, dtype=object),
        })


def _previous_cutoff(previous_features: pd.DataFrame | None):
    if previous_features is None or "cutoff_date" not in previous_features.columns or not len(previous_features):
        return None
    return to_days(previous_features["cutoff_date"]).iloc[0]


def contact_cutoffs(contact_features: pd.DataFrame | None) -> list[pd.Timestamp]:
    """The distinct contact days (cutoff_date) of ``contact_features``, ascending."""
    if contact_features is None or not len(contact_features):
        return []
    return sorted(pd.Timestamp(c) for c in to_days(contact_features["cutoff_date"]).unique())


def score(fitted: ChurnFit, customer_features: pd.DataFrame, jobs: int = 1) -> pd.DataFrame:
    """The ``scores`` table (see :class:`ChurnResult`) of the given customers, ordered by
    customer_id; any subset of the customers gives the same rows for them (one customer's score
    and drivers depend on the fit and that customer alone), on any number of ``jobs`` threads."""
    if len(customer_features) == 0:
        return pd.DataFrame({"customer_id": pd.Series(dtype=object), "churn_probability": pd.Series(dtype="float64"),
                             "risk_band": pd.Series(dtype=object), "is_predicted_churner": pd.Series(dtype=bool),
                             "top_drivers": pd.Series(dtype=object)})
    return fitted.scorer.score(_current_rows(customer_features, fitted.as_of), jobs)


def score_previous(fitted: ChurnFit, previous_features: pd.DataFrame, jobs: int = 1) -> pd.DataFrame:
    """``customer_id, churn_probability, is_predicted_churner`` of the previous cutoff's rows, from
    the final model with that cutoff's season offset, ordered by customer_id (the batches on
    ``jobs`` threads)."""
    extra = ("cutoff_date",) if "cutoff_date" in previous_features.columns else ()
    previous = prepare_features(previous_features, "previous_features", extra=extra)
    previous = previous.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
    model = fitted.model.with_offset(fitted.previous_offset)
    p = model.predict(previous[list(FEATURES)], jobs)
    return pd.DataFrame({"customer_id": previous["customer_id"].to_numpy(),
                         "churn_probability": p.astype("float64"), "is_predicted_churner": p >= fitted.threshold})


def score_at_contact(fitted: ChurnFit, contact_features: pd.DataFrame, jobs: int = 1) -> pd.DataFrame:
    """The ``contact_scores`` table (see :class:`ChurnResult`): every row of ``contact_features``
    scored by the final model and threshold, each contact day with its own season offset
    (``ChurnFit.contact_offsets``: the day must have been given to :func:`fit`). Ordered by
    cutoff_date, customer_id; a row depends on the fit and that row alone."""
    rows = prepare_features(contact_features, "contact_features", extra=("cutoff_date",))
    rows["cutoff_date"] = to_days(rows["cutoff_date"])
    rows = rows.sort_values(["cutoff_date", "customer_id"], kind="mergesort").reset_index(drop=True)
    p = np.empty(len(rows))
    threshold = fitted.threshold
    for cutoff in rows["cutoff_date"].unique():
        at = (rows["cutoff_date"] == cutoff).to_numpy()
        offset = fitted.contact_offsets.get(pd.Timestamp(cutoff))
        if offset is None:
            raise ValueError(f"contact day {pd.Timestamp(cutoff).date()} was not given to churn.fit "
                             "(contact_cutoffs): its season offset is unknown")
        p[at] = fitted.model.with_offset(offset).predict(rows.loc[at, list(FEATURES)], jobs)
    return pd.DataFrame({
        "customer_id": pd.Series(rows["customer_id"].to_numpy(), dtype="str"),
        "cutoff_date": date_values(rows["cutoff_date"]),
        "churn_probability": p.astype("float64"),
        "risk_band": pd.Series(risk_band(p, threshold), dtype="str"),
        "is_predicted_churner": p >= threshold,
    })


# --------------------------------------------------------------------------------------------
# Metric rows
# --------------------------------------------------------------------------------------------


def _candidate_rows(scores: dict, chosen: str, train: pd.DataFrame, split, y_test: np.ndarray) -> list[tuple]:
    base_rate = float(y_test.mean())
    brier_base = float(np.mean((y_test - base_rate) ** 2))
    detail = f"out-of-time test cutoff {split.test_cutoff.date()}"
    rows = []
    for name, m in scores.items():
        rows += [
            (name, "roc_auc", m["roc_auc"], f"uncalibrated, {detail}"),
            (name, "pr_auc", m["pr_auc"], f"uncalibrated, {detail}; selection metric"),
            (name, "brier", m["brier"], f"uncalibrated, {detail}"),
            (name, "base_rate", base_rate, detail),
            (name, "brier_base_rate", brier_base, "constant forecast = test base rate"),
            (name, "train_rows", float(len(train)), sampled_note(train, split.train)),
            (name, "test_rows", float(len(split.test)), detail),
            (name, "train_positives", float(train["churned"].sum()), "churned = 1"),
            (name, "test_positives", float(y_test.sum()), "churned = 1"),
            (name, "is_chosen", float(name == chosen), "highest out-of-time pr_auc"),
        ]
    return rows


def _calibrated_rows(chosen, y, p, threshold, rule_text, method, folds, offset, test_cutoff) -> list[tuple]:
    detail = f"out-of-time test cutoff {test_cutoff.date()}"
    base_rate = float(y.mean())
    tag = f"{chosen}_calibrated"
    rows = [(tag, k, v, detail) for k, v in _ranking_metrics(y, p).items()]
    rows += [
        (tag, "ece", expected_calibration_error(y, p), f"10 equal-count bins, {detail}"),
        (tag, "mean_predicted", float(p.mean()), detail),
        (tag, "base_rate", base_rate, f"observed churn, {detail}"),
        (tag, "brier_base_rate", float(np.mean((y - base_rate) ** 2)), "constant forecast = test base rate"),
        (tag, "distinct_probabilities", float(len(np.unique(p))), detail),
        (tag, "threshold", threshold, rule_text),
    ]
    rows += [(tag, k, v, detail) for k, v in _threshold_metrics(y, p, threshold).items()]
    rows += [
        (tag, "season_offset", offset, "logit shift from the same window last year (0: not applied)"),
        (tag, "calibration_method", np.nan, f"{method}; {folds}"),
    ]
    return rows


def _option_rows(options: pd.DataFrame) -> list[tuple]:
    rows = []
    for option in options.itertuples(index=False):
        tag = f"calibration:{option.method}" + ("+season" if option.season_offset else "")
        note = "out-of-time test cutoff" + (f", season offset {option.offset:+.3f}" if option.season_offset else "")
        rows += [
            (tag, "brier", option.brier, note),
            (tag, "ece", option.ece, note),
            (tag, "mean_predicted", option.mean_predicted, note),
            (tag, "distinct_probabilities", float(option.distinct), note),
            (tag, "is_eligible", float(option.eligible), "smooth: strictly increasing, never 0 or 1"),
            (tag, "is_chosen", float(option.is_chosen),
             "calibrator: lowest Brier among the eligible; season offset: when it lowers the ECE"),
        ]
    return rows


def _scored_rows(model: ChurnModel, reference: LevelReference | None, offset: float) -> list[tuple]:
    """The ``scored`` rows that the fit decides (``expected_churn_rate`` comes with the scores)."""
    how = "0: none" if reference is None or offset == 0 else f"{reference.kind}: {reference.detail}"
    rows = [("scored", "season_offset", offset, f"logit shift applied to every score ({how})")]
    if reference is None:
        rows += [("scored", "last_year_observed_rate", np.nan, "no labelled cutoff a year before as_of_date"),
                 ("scored", "last_year_predicted_rate", np.nan, "no labelled cutoff a year before as_of_date")]
    else:
        last_year = reference.last_year
        when = pd.Timestamp(last_year["cutoff_date"].iloc[0]).date().isoformat()
        predicted = model.with_offset(0.0).predict(last_year[list(FEATURES)])
        rows += [("scored", "last_year_observed_rate", float(last_year["churned"].mean()), when),
                 ("scored", "last_year_predicted_rate", float(predicted.mean()), when)]
    return rows


def _sample_rows(training_snapshots: pd.DataFrame) -> list[tuple]:
    """The share of customers whose snapshots were read (column customer_share of
    features.training_sample), when the input says."""
    if "customer_share" not in training_snapshots.columns or training_snapshots.empty:
        return []
    share = float(training_snapshots["customer_share"].iloc[0])
    return [("split", "snapshot_customer_share", share,
             "all customers' snapshots" if share >= 1 else
             "snapshots of a fixed hash sample of customers (var ml_max_snapshot_rows); every customer is scored")]


def _split_rows(as_of, horizon_days, test_cutoff, train, final_data, labelled) -> list[tuple]:
    def days_before(ts) -> float:
        return float((as_of - pd.Timestamp(ts)).days)

    def iso(values) -> str:
        return ",".join(pd.Timestamp(v).date().isoformat() for v in values)

    train_cutoffs = sorted(train["cutoff_date"].unique())
    final_cutoffs = sorted(final_data["cutoff_date"].unique())
    return [
        ("split", "horizon_days", float(horizon_days), f"label window [cutoff, cutoff + {horizon_days} days)"),
        ("split", "test_cutoff", days_before(test_cutoff), test_cutoff.date().isoformat()),
        ("split", "train_cutoff_min", days_before(train_cutoffs[0]), iso(train_cutoffs[:1])),
        ("split", "train_cutoff_max", days_before(train_cutoffs[-1]), iso(train_cutoffs[-1:])),
        ("split", "train_cutoffs", float(len(train_cutoffs)), iso(train_cutoffs)),
        ("split", "final_train_cutoffs", float(len(final_cutoffs)), iso(final_cutoffs)),
        ("split", "final_train_rows", float(len(final_data)), sampled_note(final_data, labelled)),
        ("split", "final_train_positives", float(final_data["churned"].sum()), "churned = 1"),
        ("split", "labelled_rows_available", float(len(labelled)), f"as_of_date {as_of.date().isoformat()}"),
    ]
