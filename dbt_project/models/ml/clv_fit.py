"""Fit BG/NBD + Gamma-Gamma on the BTYD summary, score every customer and check a holdout
(models_py.clv.fit_and_score). Unpacked by customer_clv, clv_parameters and clv_holdout_check."""
from models_py.artifacts import pack_frames
from models_py.clv import fit_and_score
from models_py.steps import clv_fit_arguments, clv_score_arguments


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    return pack_frames(fit_and_score(
        dbt.ref("customer_btyd_summary").df(),
        dbt.ref("clv_holdout_summary").df(),
        **clv_fit_arguments(params),
        **clv_score_arguments(params),
    ))
