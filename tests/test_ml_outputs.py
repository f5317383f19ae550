"""The Python steps inside dbt build: results written back as tables, checked on real data."""
from __future__ import annotations

import pytest

from conftest import query


def metric(db, model, name):
    rows = query(db, f"select value from ml.churn_model_metrics where model = '{model}' and metric = '{name}'")
    assert len(rows) == 1, (model, name)
    return float(rows.value[0])


def test_every_customer_gets_a_churn_score_segment_and_clv(demo_db):
    counts = query(demo_db, """
        select
            (select count(*) from features.customer_features) as customers,
            (select count(*) from ml.churn_scores) as scored,
            (select count(*) from ml.customer_segments) as segmented,
            (select count(*) from ml.customer_clv) as valued
    """).iloc[0]
    assert counts.customers == counts.scored == counts.segmented == counts.valued > 100


def test_churn_model_is_evaluated_out_of_time_on_online_retail(online_retail_db):
    split = query(online_retail_db, "select metric, detail from ml.churn_model_metrics where model = 'split'")
    detail = dict(zip(split.metric, split.detail))
    assert detail["test_cutoff"] == "2011-09-11"            # as_of_date 2011-12-10 - 90 days
    assert detail["train_cutoff_max"] <= "2011-06-13"       # as_of_date - 2 x 90 days
    chosen = query(online_retail_db, "select model from ml.churn_model_metrics "
                                     "where metric = 'is_chosen' and value = 1").model[0]
    calibrated = f"{chosen}_calibrated"
    # measured 0.743 on this data (see the issue notes): a guard against regressions
    assert metric(online_retail_db, calibrated, "roc_auc") >= 0.72
    assert metric(online_retail_db, calibrated, "brier") < metric(online_retail_db, calibrated, "brier_base_rate")
    assert metric(online_retail_db, calibrated, "recall_at_threshold") >= 0.7   # var churn_recall_target


def test_clv_fits_converge_and_one_time_buyers_are_alive_on_online_retail(online_retail_db):
    params = query(online_retail_db, "select model || '.' || name as key, value from ml.clv_parameters")
    values = dict(zip(params.key, params.value))
    assert values["bgnbd.converged"] == 1 and values["gamma_gamma.converged"] == 1
    assert values["bgnbd.n_customers"] == 4338
    one_timers = query(online_retail_db, """
        select min(clv.p_alive) as lowest, count(*) as n
        from ml.customer_clv as clv
        join features.customer_btyd_summary as summary using (customer_id)
        where summary.frequency = 0""")
    assert one_timers.n[0] > 1000 and one_timers.lowest[0] == pytest.approx(1.0)
