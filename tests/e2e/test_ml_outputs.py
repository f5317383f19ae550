"""The Python steps inside dbt build: results written back as tables, checked on real data."""
from __future__ import annotations

import pytest

from helpers import query


def metric(db, model, name):
    rows = query(db, f"select value from ml.churn_model_metrics where model = '{model}' and metric = '{name}'")
    assert len(rows) == 1, (model, name)
    return float(rows.value[0])


def test_every_customer_gets_a_churn_score_segment_value_and_clv(demo_db):
    counts = query(demo_db, """
        select
            (select count(*) from features.customer_features) as customers,
            (select count(*) from ml.churn_scores) as scored,
            (select count(*) from ml.customer_segments) as segmented,
            (select count(*) from ml.customer_value) as valued,
            (select count(*) from ml.customer_clv) as clv
    """).iloc[0]
    assert counts.customers == counts.scored == counts.segmented == counts.valued == counts.clv > 100


def test_the_churn_backtest_and_the_value_model_are_written_back(demo_db):
    backtest = query(demo_db, "select * from ml.churn_backtest order by cutoff_date")
    assert len(backtest) >= 3 and backtest.mean_predicted.between(0, 1).all()
    assert (backtest.train_cutoffs.diff().dropna() >= 0).all()   # later cutoffs know more history
    value = query(demo_db, "select * from ml.value_model_metrics")
    chosen = value[(value.metric == "is_chosen") & (value.value == 1)].model
    assert len(chosen) == 1
    methods = query(demo_db, "select distinct method from ml.customer_value").method
    assert list(methods) == list(chosen)


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


def test_on_online_retail_the_data_show_no_measurable_dropout_and_p_alive_is_left_empty(online_retail_db):
    """One year of history: the BG/NBD fit sits on the boundary (a -> 0), no more likely than a
    model in which nobody leaves. The fit converged, but the dropout is not identified."""
    params = query(online_retail_db, "select model || '.' || name as key, value from ml.clv_parameters")
    values = dict(zip(params.key, params.value))
    assert values["bgnbd.converged"] == 1 and values["gamma_gamma.converged"] == 1
    assert values["bgnbd.n_customers"] == 4338
    assert values["bgnbd.dropout_identified"] == 0 and values["bgnbd.dropout_lr_statistic"] < 2.706
    assert values["bgnbd.mean_dropout_probability"] < 1e-3
    alive = query(online_retail_db, "select count(p_alive) as known, count(*) as n from ml.customer_clv").iloc[0]
    assert alive.known == 0 and alive.n == 4338
