"""Train the churn model out of time on the training snapshots and score every customer
(models_py.churn.train_and_score). The result tables are unpacked by churn_scores,
churn_model_metrics, churn_feature_importance, churn_calibration, churn_backtest and
churn_scores_previous (the previous cutoff scored by the same model)."""
from models_py.artifacts import pack_frames
from models_py.churn import train_and_score
from models_py.steps import churn_arguments


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    result = train_and_score(
        dbt.ref("training_sample").df(),
        dbt.ref("customer_features").df(),
        previous_features=dbt.ref("training_snapshots").filter("snapshot_index = 1").df(),
        **churn_arguments(params),
    )
    return pack_frames(result.tables())
