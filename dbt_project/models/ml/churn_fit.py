"""Train the churn model out of time on the training snapshots and score every customer.

Candidates (logistic regression, random forest, gradient boosting) are compared on the
cutoff as_of_date - horizon after training on cutoffs up to as_of_date - 2 x horizon; the
best by PR-AUC is calibrated, refitted on every labelled cutoff and scores customer_features.
The threshold reaches var churn_recall_target on the test cutoff. The results are packed
here and unpacked by churn_scores, churn_model_metrics, churn_feature_importance,
churn_calibration and churn_scores_previous (the previous cutoff scored by the same model).
"""
from models_py.artifacts import pack_frames
from models_py.churn import train_and_score


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    snapshots = dbt.ref("training_snapshots").df()
    result = train_and_score(
        snapshots,
        dbt.ref("customer_features").df(),
        as_of_date=params["as_of_date"],
        horizon_days=int(params["churn_horizon_days"]),
        threshold_rule="recall_target",
        target_recall=float(params["churn_recall_target"]),
        previous_features=snapshots[snapshots["snapshot_index"] == 1],
    )
    return pack_frames({
        "scores": result.scores,
        "metrics": result.metrics,
        "feature_importance": result.feature_importance,
        "calibration": result.calibration,
        "previous_scores": result.previous_scores,
    })
