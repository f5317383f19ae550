"""Train the churn model out of time on the training snapshots and score every customer.

Candidates (logistic regression, random forest, gradient boosting) are compared on the
cutoff as_of_date - horizon after training on cutoffs up to as_of_date - 2 x horizon; the
best by PR-AUC is calibrated, refitted on every labelled cutoff and scores customer_features.
The threshold reaches var churn_recall_target on the test cutoff. The results are packed
here and unpacked by churn_scores, churn_model_metrics, churn_feature_importance,
churn_calibration and churn_scores_previous (the previous cutoff scored by the same model).

Bounded memory: past MAX_SNAPSHOT_ROWS snapshot rows (about 180,000 customers x 11 cutoffs),
the snapshots are read for a fixed sample of customers, chosen in SQL by a hash of
customer_id, so every cutoff keeps the same customers and the frame never holds all rows.
The fits sample at most 100,000 rows anyway; the sample is reported in the metrics
(model 'split', metric 'snapshot_customer_share'). Every customer is still scored.
"""
from models_py.artifacts import pack_frames
from models_py.churn import FEATURES, train_and_score

MAX_SNAPSHOT_ROWS = 2_000_000
# hash buckets for the customer sample: the kept share is a multiple of 1/1000
HASH_BUCKETS = 1000
COLUMNS = ("customer_id", "cutoff_date", "snapshot_index", "label_window_end_date",
           "is_label_window_complete", "churned") + FEATURES


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    snapshots = dbt.ref("training_snapshots").project(", ".join(COLUMNS))
    total = snapshots.aggregate("count(*)").fetchall()[0][0]
    share = 1.0
    if total > MAX_SNAPSHOT_ROWS:
        kept = max(1, int(HASH_BUCKETS * MAX_SNAPSHOT_ROWS / total))
        share = kept / HASH_BUCKETS
        # the previous cutoff is scored for every customer, so it is read whole
        previous = snapshots.filter("snapshot_index = 1").df()
        training = snapshots.filter(f"hash(customer_id) % {HASH_BUCKETS} < {kept}").df()
    else:
        training = snapshots.df()
        previous = training[training["snapshot_index"] == 1]
    result = train_and_score(
        training,
        dbt.ref("customer_features").df(),
        as_of_date=params["as_of_date"],
        horizon_days=int(params["churn_horizon_days"]),
        threshold_rule="recall_target",
        target_recall=float(params["churn_recall_target"]),
        previous_features=previous,
    )
    metrics = result.metrics
    metrics.loc[len(metrics)] = (
        "split", "snapshot_customer_share", share,
        "all customers' snapshots" if share == 1.0 else
        f"snapshots of a fixed hash sample of customers ({total:,} snapshot rows in all, "
        f"more than {MAX_SNAPSHOT_ROWS:,}); every customer is scored",
    )
    return pack_frames({
        "scores": result.scores,
        "metrics": metrics,
        "feature_importance": result.feature_importance,
        "calibration": result.calibration,
        "previous_scores": result.previous_scores,
    })
