"""Fit BG/NBD + Gamma-Gamma on the BTYD summary, score every customer and check a holdout
(models_py.clv.fit_and_score). Unpacked by customer_clv, clv_parameters and clv_holdout_check."""
from models_py.artifacts import pack_frames
from models_py.clv import fit_and_score


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    return pack_frames(fit_and_score(
        dbt.ref("customer_btyd_summary").df(),
        dbt.ref("clv_holdout_summary").df(),
        horizon_days=int(params["clv_horizon_days"]),
        margin=float(params["gross_margin"]),
        annual_discount_rate=float(params["clv_annual_discount_rate"]),
        holdout_days=int(params["clv_holdout_days"]),
    ))
