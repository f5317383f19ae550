"""Fit BG/NBD + Gamma-Gamma on the BTYD summary; score every customer; check a holdout.

One fit, several tables: the results are packed here and unpacked by customer_clv,
clv_parameters and clv_holdout_check.
"""
from models_py.artifacts import pack_frames
from models_py.clv import fit_bgnbd, holdout_check, score_customers


def model(dbt, session):
    dbt.config(materialized="table")
    # in a fixed order, so that the packed result tables are identical build after build
    summary = dbt.ref("customer_btyd_summary").df().sort_values("customer_id", ignore_index=True)
    holdout = dbt.ref("clv_holdout_summary").df().sort_values("customer_id", ignore_index=True)
    params = dbt.ref("int_analysis_parameters").df().iloc[0]

    scores, parameters = score_customers(
        summary,
        horizon_days=int(params["clv_horizon_days"]),
        margin=float(params["gross_margin"]),
        annual_discount_rate=float(params["clv_annual_discount_rate"]),
    )
    calibration_fit = fit_bgnbd(holdout)
    check = holdout_check(
        holdout,
        holdout[["customer_id"]].assign(actual_purchases=holdout["holdout_purchases"]),
        holdout_days=int(params["clv_holdout_days"]),
        fit=calibration_fit,
    )
    return pack_frames({"scores": scores, "parameters": parameters, "holdout_check": check})
