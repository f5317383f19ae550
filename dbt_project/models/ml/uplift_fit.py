"""Fit the uplift model on the past campaigns with a complete window, evaluate it against ranking
by churn probability on a held-out part, and score every customer (models_py.uplift.fit_and_score).
Unpacked by uplift_model_metrics, uplift_qini, uplift_holdout_scores and customer_uplift; when too
few customers have an outcome, nothing is fitted and the metrics say why."""
from models_py.artifacts import pack_frames
from models_py.steps import uplift_arguments
from models_py.uplift import fit_and_score


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    result = fit_and_score(
        dbt.ref("campaign_snapshots").df(),
        dbt.ref("churn_scores_at_contact").df(),
        dbt.ref("customer_features").df(),
        **uplift_arguments(params),
    )
    return pack_frames(result.tables())
