"""The arguments each Python step takes from the build's parameters (one row of
``intermediate.int_analysis_parameters``: the dbt vars as the SQL checked them).

One owner for both ways the steps run: the dbt Python models of the DuckDB build
(``dbt_project/models/ml/*.py``) and the Spark target (``retention.targets.spark_ml``) call the
same ``models_py`` functions with these arguments, so the two builds fit the same models.
"""
from __future__ import annotations

__all__ = ["churn_arguments", "clv_fit_arguments", "clv_score_arguments", "segment_arguments", "uplift_arguments",
           "value_arguments"]


def churn_arguments(params) -> dict:
    """:func:`models_py.churn.train_and_score` / ``fit``: the scored date, the horizon (days) and
    the threshold rule (the recall target of var churn_recall_target)."""
    return {
        "as_of_date": params["as_of_date"],
        "horizon_days": int(params["churn_horizon_days"]),
        "threshold_rule": "recall_target",
        "target_recall": float(params["churn_recall_target"]),
    }


def value_arguments(params) -> dict:
    """:func:`models_py.value.fit_and_score` / ``fit``: the churn horizon is the label window;
    the value horizon, margin and discount rate are those of CLV."""
    return {
        "as_of_date": params["as_of_date"],
        "horizon_days": int(params["churn_horizon_days"]),
        "value_horizon_days": int(params["clv_horizon_days"]),
        "margin": float(params["gross_margin"]),
        "annual_discount_rate": float(params["clv_annual_discount_rate"]),
    }


def clv_fit_arguments(params) -> dict:
    """:func:`models_py.clv.fit`: the length of the holdout period (days)."""
    return {"holdout_days": int(params["clv_holdout_days"])}


def clv_score_arguments(params) -> dict:
    """:func:`models_py.clv.score`: the CLV horizon (days), margin and annual discount rate."""
    return {
        "horizon_days": int(params["clv_horizon_days"]),
        "margin": float(params["gross_margin"]),
        "annual_discount_rate": float(params["clv_annual_discount_rate"]),
    }


def segment_arguments(params) -> dict:
    """:func:`models_py.segmentation.segment_customers`: k of var segment_count (0: chosen)."""
    return {"k": int(params["segment_count"]) or None}


def uplift_arguments(params) -> dict:
    """:func:`models_py.uplift.fit_and_score` / ``fit``: the treated and control customers needed
    (var uplift_min_customers)."""
    return {"min_customers": int(params["uplift_min_customers"])}
