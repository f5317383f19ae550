"""models_py.churn on the synthetic shop of tests/simulated_shop.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py.churn import CANDIDATE_MODELS, train_and_score
from models_py.estimators import TreeParallelForest
from scipy.special import logit

from models_py.snapshots import FEATURES
from simulated_shop import AS_OF, CADENCE, HORIZON, SNAPSHOTS, simulate, simulate_with_outcome

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


def test_the_results_are_the_same_for_any_number_of_tree_threads(learnable):
    """The build passes its --threads as tree_jobs: the forest's trees, the candidates (gradient
    boosting among them), the calibration folds, the backtest's cutoffs, the permutation shuffles
    and the drivers' occlusions run on that many threads, and every table must be bit for bit what
    one thread gives."""
    snapshots, current, first = learnable
    again = train_and_score(snapshots, current, AS_OF, HORIZON, random_state=42, tree_jobs=2)
    assert "random_forest" in set(first.metrics["model"])  # a forest was fitted (and compared)
    for table in ("scores", "metrics", "feature_importance", "calibration", "backtest"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(again, table), check_exact=True)
    assert (first.model_name, first.threshold) == (again.model_name, again.threshold)
    with pytest.raises(ValueError, match="tree_jobs must be a positive integer"):
        train_and_score(snapshots, current, AS_OF, HORIZON, tree_jobs=0)


def test_the_forest_sums_its_trees_in_order_on_one_thread():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 6))
    y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
    forest = TreeParallelForest(n_estimators=40, min_samples_leaf=5, n_jobs=2, random_state=0).fit(X, y)
    rows = forest._validate_X_predict(X)
    expected = np.zeros((len(X), 2))
    for tree in forest.estimators_:  # one tree after the other, as one thread adds them
        expected += tree.predict_proba(rows, check_input=False)
    expected /= len(forest.estimators_)
    np.testing.assert_array_equal(forest.predict_proba(X), expected)
    assert forest.n_jobs == 2  # the trees of the next fit are built on two threads again
    single = TreeParallelForest(n_estimators=40, min_samples_leaf=5, n_jobs=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(single.predict_proba(X), expected)  # the same trees


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


def test_probabilities_are_never_0_or_1_and_tie_only_where_the_model_scores_tie(learnable):
    _, current, result = learnable
    p = result.scores["churn_probability"]
    assert ((p > 0) & (p < 1)).all()
    assert result.calibration_method in ("sigmoid", "beta", "isotonic_smoothed")
    # the calibrator is strictly increasing: it never merges customers the model told apart
    X = result.scores[["customer_id"]].merge(current, on="customer_id")[list(FEATURES)]
    raw = result.model.raw(X)
    assert p.nunique() == len(set(raw.round(12)))
    assert p.nunique() >= 0.8 * len(p)


def test_calibration_metrics_are_reported(learnable):
    _, _, result = learnable
    tag = f"{result.model_name}_calibrated"
    for metric in ("ece", "mean_predicted", "base_rate", "distinct_probabilities", "season_offset"):
        _metric(result, tag, metric)
    options = result.metrics[result.metrics["model"].str.startswith("calibration:")]
    chosen = options[(options["metric"] == "is_chosen") & (options["value"] == 1)]
    assert len(chosen) == 1
    # the reliability table covers the test cutoff and carries a 95% band around each rate
    cal = result.calibration
    assert (cal["observed_rate_low"] <= cal["observed_rate"]).all()
    assert (cal["observed_rate"] <= cal["observed_rate_high"]).all()
    assert _metric(result, "scored", "expected_churn_rate")["value"] == pytest.approx(
        result.scores["churn_probability"].mean())


def test_backtest_predicts_each_cutoff_from_earlier_labels_only(learnable):
    snapshots, _, result = learnable
    bt = result.backtest
    assert len(bt) >= 5 and bt["cutoff_date"].is_unique
    labelled = sorted(pd.to_datetime(snapshots.loc[snapshots["is_label_window_complete"], "cutoff_date"]).unique())
    for row in bt.itertuples():
        cutoff = pd.Timestamp(row.cutoff_date)
        known = [c for c in labelled if c <= cutoff - pd.Timedelta(days=HORIZON)]
        assert row.train_cutoffs == len(known) >= 1   # trained on the cutoffs whose labels were known by then
        observed = snapshots.loc[pd.to_datetime(snapshots["cutoff_date"]) == cutoff, "churned"].mean()
        assert row.observed_rate == pytest.approx(observed)
        assert 0 < row.mean_predicted < 1 and 0.5 < row.roc_auc <= 1


def test_the_season_offset_is_last_years_level_error_applied_in_logit_space(learnable):
    """The as-of date has a labelled cutoff a year back (as_of - 360 days) and the test cutoff has
    none, so the offset is applied: the shift that makes the final model's mean at that cutoff
    equal what happened there, added to every customer's log-odds."""
    snapshots, current, result = learnable
    reference = snapshots[pd.to_datetime(snapshots["cutoff_date"]) == AS_OF - pd.Timedelta(days=360)]
    observed = _metric(result, "scored", "last_year_observed_rate")
    assert observed["value"] == pytest.approx(reference["churned"].mean())
    assert observed["detail"] == (AS_OF - pd.Timedelta(days=360)).date().isoformat()
    plain = result.model.with_offset(0.0)
    from models_py.snapshots import labelled_rows

    labelled = labelled_rows(snapshots, AS_OF, HORIZON)
    ref = labelled[labelled["cutoff_date"] == AS_OF - pd.Timedelta(days=360)]
    assert plain.with_offset(result.season_offset).predict(ref[list(FEATURES)]).mean() == pytest.approx(
        ref["churned"].mean(), abs=1e-6)
    X = result.scores[["customer_id"]].merge(current, on="customer_id")[list(FEATURES)]
    shifted = logit(result.scores["churn_probability"].to_numpy()) - logit(plain.predict(X))
    assert np.allclose(shifted, result.season_offset, atol=1e-6)


def test_the_season_reference_is_a_year_back_within_20_days_and_not_in_the_first_months():
    from models_py.churn import _same_window_last_year

    def frame(cutoffs, start="2010-01-01"):
        rows = []
        for c in cutoffs:
            c = pd.Timestamp(c)
            tenure = (c - pd.Timestamp(start)).days
            rows += [{"cutoff_date": c, "tenure_days": tenure, "churned": k % 2} for k in range(4)]
        return pd.DataFrame(rows)

    scored = pd.Timestamp("2011-12-10")
    found = _same_window_last_year(frame(["2010-12-01", "2010-12-18", "2011-06-01"]), scored)
    assert set(found["cutoff_date"]) == {pd.Timestamp("2010-12-18")}        # 357 days back beats 374
    assert _same_window_last_year(frame(["2010-11-15", "2011-06-01"]), scored) is None   # 390 days: too far
    # a year back is only 105 days into the data: every customer was new then
    assert _same_window_last_year(frame(["2010-12-10"], start="2010-08-27"), scored) is None


def _transfer_frame(simulated: pd.DataFrame, start: str = "2010-01-01") -> pd.DataFrame:
    """Labelled rows at four cutoffs, worked by hand: A0 = 2010-01-15 (14 days into the data) and
    S0 = 2010-04-15 a year before the anchor A = 2011-01-10 and the scored date S = 2011-04-10.
    Feature values come from the simulated shop; dates, recency and labels are set here."""
    def block(cutoff, recency, churned):
        rows = simulated.iloc[:len(churned)].copy()
        rows["cutoff_date"] = pd.Timestamp(cutoff)
        rows["tenure_days"] = float((pd.Timestamp(cutoff) - pd.Timestamp(start)).days)
        rows["recency_days"] = np.asarray(recency, dtype=float)
        rows["churned"] = np.asarray(churned, dtype=int)
        return rows

    a0 = block("2010-01-15", [3] * 20 + [14] * 20, [1] * 5 + [0] * 15 + [1] * 5 + [0] * 15)      # 10 / 40 churn
    s0 = block("2010-04-15", [10] * 40 + [50] * 40, [1] * 20 + [0] * 20 + [1] * 36 + [0] * 4)  # recent: 20 / 40
    anchor = block("2011-01-10", [20] * 60, [1] * 40 + [0] * 20)
    return pd.concat([a0, s0, anchor], ignore_index=True)


def test_the_level_transfer_is_last_years_change_among_recent_buyers_added_to_the_anchors_error(learnable):
    """A year before the scored date is only 104 days into the data, so there is no season
    reference; the level is transferred from the anchor (the latest cutoff labelled by the scored
    date) by last year's change in the churn of customers with an order in the last 14 days
    (A0's history): 10/40 at A0, 20/40 at S0 (the 40 older buyers at S0 are not counted)."""
    from models_py.churn import _level_reference, _offset_for, _same_window_last_year

    snapshots, _, result = learnable
    labelled = _transfer_frame(snapshots)
    scored = pd.Timestamp("2011-04-10")
    assert _same_window_last_year(labelled, scored) is None
    reference = _level_reference(labelled, scored, 90)
    assert reference.kind == "transfer" and reference.recent_days == 14
    assert set(reference.anchor["cutoff_date"]) == {pd.Timestamp("2011-01-10")}
    assert set(reference.last_year["cutoff_date"]) == {pd.Timestamp("2010-04-15")}
    assert reference.change == pytest.approx(np.log(0.5 / 0.5) - np.log(0.25 / 0.75))
    model = result.model.with_offset(0.0)
    offset, _ = _offset_for(model, labelled, scored, 90)
    # without the change, the offset brings the model's mean at the anchor to what happened there
    anchor = reference.anchor
    assert model.with_offset(offset - reference.change).predict(anchor[list(FEATURES)]).mean() == pytest.approx(
        40 / 60, abs=1e-6)
    # the anchor must be labelled by the scored date: 2011-01-10 + 90 days > 2011-04-09
    assert _level_reference(labelled, pd.Timestamp("2011-04-09"), 90) is None
    # no transfer when the anchor's window a year back is not in the data
    without_a0 = labelled[labelled["cutoff_date"] != pd.Timestamp("2010-01-15")]
    assert _level_reference(without_a0, scored, 90) is None


def test_the_season_reference_comes_before_the_level_transfer(learnable):
    """With 180 days of history a year back, the season reference is used, not the transfer."""
    from models_py.churn import _level_reference

    snapshots, _, _ = learnable
    labelled = _transfer_frame(snapshots, start="2009-10-01")     # S0 is now 196 days into the data
    reference = _level_reference(labelled, pd.Timestamp("2011-04-10"), 90)
    assert reference.kind == "season" and reference.change == 0
    assert set(reference.last_year["cutoff_date"]) == {pd.Timestamp("2010-04-15")}
