"""The uplift model (models_py.uplift), without dbt: the Qini curve and coefficient worked by hand,
the minimum before anything is fitted, and the model beating ranking by churn probability when the
campaign's effect peaks at medium risk (Ascarza's "retention futility": the likeliest to leave are
not the likeliest to be persuaded)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py.estimators import classifier
from models_py.snapshots import FEATURES
from models_py.uplift import fit_and_score, hash_bucket, qini_coefficient, qini_curve
from helpers import qini_coefficient_by_loop
from simulated_shop import simulate_with_outcome


def test_the_qini_curve_counts_incremental_retained_customers_by_hand():
    # ranked a, b, c, d, e (scores 5..1): a treated retained, b control not, c treated not,
    # d control retained, e treated retained
    treated = [1, 0, 1, 0, 1]
    retained = [1, 0, 0, 1, 1]
    curve = qini_curve(treated, retained, [5, 4, 3, 2, 1], ["a", "b", "c", "d", "e"])
    # k=1: no control yet -> 0; k=2: 1 - 0 x 1/1 = 1; k=3: 1 - 0 x 2/1 = 1; k=4: 1 - 1 x 2/2 = 0;
    # k=5: 2 - 1 x 3/2 = 0.5
    assert list(curve["incremental_retained"]) == [0, 0, 1, 1, 0, 0.5]
    assert list(curve["treated"]) == [0, 1, 1, 2, 2, 3] and list(curve["control"]) == [0, 0, 1, 1, 2, 2]
    # as a share of the 3 treated over x = k/5: trapezoids 0.2 x (0 + 0)/2 + (0 + 1/3)/2 + (1/3 + 1/3)/2
    # + (1/3 + 0)/2 + (0 + 1/6)/2 = 0.2 x (1/6 + 1/3 + 1/6 + 1/12) = 0.15; random: (1/6) / 2 = 1/12
    assert qini_coefficient(curve) == pytest.approx(0.15 - 1 / 12)
    rows = list(zip([5, 4, 3, 2, 1], "abcde", treated, retained))
    assert qini_coefficient_by_loop(rows) == pytest.approx(0.15 - 1 / 12)


def test_ties_are_broken_by_the_key_not_by_row_order():
    a = qini_curve([1, 0, 1], [1, 0, 0], [0.5, 0.5, 0.5], ["x", "y", "z"])
    b = qini_curve([1, 0, 1][::-1], [1, 0, 0][::-1], [0.5, 0.5, 0.5], ["z", "y", "x"])
    assert a.equals(b)


def test_the_hash_bucket_is_the_warehouse_macro_in_python():
    # first 8 hex digits of md5('c1:12346') = ... as an integer, modulo 10000 (macro hash_bucket)
    import hashlib
    digest = hashlib.md5(b"c1:12346").hexdigest()
    assert hash_bucket("c1:12346") == int(digest[:8], 16) % 10_000
    assert 0 <= hash_bucket("anything") < 10_000


def _peak_at_medium_risk(recency):
    return 0.4 * np.exp(-0.5 * (np.log(recency / 60) / 0.5) ** 2)


@pytest.fixture(scope="module")
def shop():
    """A simulated shop, two contact days, and the churn scores there from a model trained on the
    cutoffs whose labels were known before the first contact."""
    snaps, current, _ = simulate_with_outcome(4000, seed=3)
    cutoffs = sorted(snaps["cutoff_date"].unique())
    contacts = cutoffs[-6], cutoffs[-3]
    listed = snaps[snaps["cutoff_date"].isin(contacts) & (snaps["recency_days"] <= 365)].copy()
    train = snaps[snaps["cutoff_date"] <= contacts[0] - pd.Timedelta(days=90)]
    model = classifier("hist_gradient_boosting", 0, 1, len(train)).fit(train[list(FEATURES)], train["churned"])
    scores = pd.DataFrame({"customer_id": listed["customer_id"], "cutoff_date": listed["cutoff_date"],
                           "churn_probability": model.predict_proba(listed[list(FEATURES)])[:, 1]})
    return listed, scores, current


def _campaigns(shop, effect, seed: int):
    """Two past campaigns: every customer active in the last year at the two contact days is
    contacted or held out at random (50/50); a contact makes a customer who would not have
    ordered in the window order with probability effect(recency). Returns (campaign rows, churn
    scores at contact, current features)."""
    listed, scores, current = shop
    rows = listed.copy()
    rng = np.random.default_rng(seed)
    rows["is_treated"] = (rng.random(len(rows)) < 0.5).astype(int)
    natural = 1 - rows["churned"].to_numpy()
    persuaded = rng.random(len(rows)) < effect(np.maximum(rows["recency_days"].to_numpy(), 1))
    rows["is_retained"] = np.where(rows["is_treated"] == 1, natural | persuaded, natural)
    rows["campaign_id"] = "c" + rows["cutoff_date"].dt.strftime("%Y%m%d")
    rows["contacted_at"] = rows["cutoff_date"]
    return rows, scores, current


@pytest.fixture(scope="module")
def medium_risk_campaigns(shop):
    """The effect peaks at 60 days of recency (medium risk): small for the recent (who order
    anyway) and for the long gone (the highest risk)."""
    return _campaigns(shop, _peak_at_medium_risk, seed=103)


def test_the_uplift_model_beats_ranking_by_churn_probability_when_the_effect_peaks_at_medium_risk(medium_risk_campaigns):
    rows, scores, current = medium_risk_campaigns
    result = fit_and_score(rows, scores, current, min_customers=500)
    m = result.metrics.set_index(["model", "metric"])["value"]
    assert result.is_fitted and m["split", "is_out_of_time"] == 1   # the later campaign is held out
    assert m["two_model", "qini_coefficient"] > 1.5 * m["churn_probability", "qini_coefficient"]
    assert m["two_model", "uplift_top_30pct"] > m["churn_probability", "uplift_top_30pct"]
    assert result.use_uplift and m["choice", "use_uplift"] == 1
    # the held-out table gives the same coefficients by an independent loop
    held = result.holdout
    assert len(held) == m["split", "test_treated"] + m["split", "test_control"]
    for column, name in (("predicted_uplift", "two_model"), ("churn_probability", "churn_probability")):
        tie = held["campaign_id"] + ":" + held["customer_id"]
        q = qini_coefficient_by_loop(list(zip(held[column], tie, held["is_treated"], held["is_retained"])))
        assert q == pytest.approx(m[name, "qini_coefficient"])
    last = result.qini[result.qini["fraction"] == 1.0].set_index("ranking")["qini"]
    observed = held[held.is_treated == 1].is_retained.mean() - held[held.is_treated == 0].is_retained.mean()
    assert last.to_dict() == pytest.approx({"two_model": observed, "churn_probability": observed, "random": observed})
    # every current customer is scored, the uplift is the difference of the two arms
    assert set(result.scores["customer_id"]) == set(current["customer_id"].astype(str))
    s = result.scores
    assert np.allclose(s["predicted_uplift"], s["retention_if_treated"] - s["retention_if_control"])


def test_the_predicted_uplift_is_highest_at_medium_recency(medium_risk_campaigns):
    rows, scores, current = medium_risk_campaigns
    result = fit_and_score(rows, scores, current, min_customers=500)
    held = result.holdout.merge(rows[["campaign_id", "customer_id", "recency_days"]], on=["campaign_id", "customer_id"])
    by_recency = held.groupby(pd.cut(held["recency_days"], [0, 20, 40, 120, 365]), observed=True)["predicted_uplift"].mean()
    assert by_recency.idxmax() in (pd.Interval(20, 40), pd.Interval(40, 120))
    assert by_recency.iloc[-1] < by_recency.max() / 2      # the long gone are not persuaded


def test_without_an_effect_the_model_finds_none(shop):
    rows, scores, current = _campaigns(shop, lambda recency: np.zeros(len(recency)), seed=105)
    result = fit_and_score(rows, scores, current, min_customers=300)
    m = result.metrics.set_index(["model", "metric"])["value"]
    assert result.is_fitted
    # no effect at all: the observed uplift is noise around 0, and the Qini coefficients are small
    assert abs(m["holdout", "observed_uplift"]) < 0.05
    assert abs(m["two_model", "qini_coefficient"]) < 0.02


def test_below_the_minimum_nothing_is_fitted_and_the_metrics_say_why(medium_risk_campaigns):
    rows, scores, current = medium_risk_campaigns
    result = fit_and_score(rows, scores, current, min_customers=100_000)
    m = result.metrics.set_index(["model", "metric"])
    assert not result.is_fitted and not result.use_uplift
    assert m.loc[("choice", "is_fitted"), "value"] == 0
    assert "needs 100000 of each" in m.loc[("choice", "is_fitted"), "detail"]
    assert result.scores.empty and result.qini.empty and result.holdout.empty
    # typed even when empty (the dbt models write them as tables)
    assert str(result.scores["customer_id"].dtype) == "str" and result.scores["predicted_uplift"].dtype == "float64"
    assert str(result.holdout["contacted_at"].dtype).startswith("date32")


def test_one_campaign_is_split_by_a_fixed_hash_of_its_customers(medium_risk_campaigns):
    rows, scores, current = medium_risk_campaigns
    one = rows[rows["contacted_at"] == rows["contacted_at"].max()]
    result = fit_and_score(one, scores, current, min_customers=300)
    m = result.metrics.set_index(["model", "metric"])["value"]
    assert m["split", "is_out_of_time"] == 0
    keys = result.holdout["campaign_id"] + ":" + result.holdout["customer_id"]
    assert all(hash_bucket(k) < 3000 for k in keys)
    share = len(result.holdout) / len(one)
    assert 0.25 < share < 0.35
