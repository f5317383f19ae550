"""Train the churn model out of time on the training snapshots and score every customer
(models_py.churn.train_and_score). The result tables are unpacked by churn_scores,
churn_model_metrics, churn_feature_importance, churn_calibration, churn_backtest,
churn_scores_previous (the previous cutoff scored by the same model) and churn_scores_at_contact
(the customers of past campaigns as of their contact day); the scorer that produced churn_scores
is saved to the build's model folder (RETENTION_MODELS_DIR, see model_artifacts)."""
import os

from models_py.artifacts import pack_frames
from models_py.churn import FEATURES, train_and_score
from models_py.persistence import save_model
from models_py.steps import churn_arguments


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    result = train_and_score(
        dbt.ref("training_sample").df(),
        dbt.ref("customer_features").df(),
        previous_features=dbt.ref("training_snapshots").filter("snapshot_index = 1").df(),
        contact_features=dbt.ref("int_customer_features_at_contact").df(),
        tree_jobs=int(os.environ.get("RETENTION_DUCKDB_THREADS", "1")),  # the build's --threads
        **churn_arguments(params),
    )
    artifact = save_model("churn", result.scorer, name=result.model_name, features=FEATURES,
                          metrics=result.summary(), folder=os.environ.get("RETENTION_MODELS_DIR"),
                          build_id=os.environ.get("RETENTION_BUILD_ID"))
    return pack_frames({**result.tables(), "artifact": artifact})
