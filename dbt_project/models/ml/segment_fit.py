"""Cluster customers into behavioural segments (KMeans on log-scaled, standardised features).

k comes from var segment_count, or is chosen in 3..8 by silhouette when it is 0. The
results are unpacked by customer_segments, segment_profiles (which adds each segment's churn rate
from churn_scores: the clustering does not wait for the churn model) and segment_k_selection; the fitted
pipeline is saved to the build's model folder (RETENTION_MODELS_DIR, see model_artifacts).
"""
import os

from models_py.artifacts import pack_frames
from models_py.persistence import save_model
from models_py.segmentation import SEGMENT_FEATURES, segment_customers
from models_py.steps import segment_arguments


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    result = segment_customers(dbt.ref("customer_features").df(), **segment_arguments(params))
    artifact = save_model("segments", result.model, name=result.algorithm, features=SEGMENT_FEATURES,
                          metrics=result.summary(), folder=os.environ.get("RETENTION_MODELS_DIR"),
                          build_id=os.environ.get("RETENTION_BUILD_ID"))
    return pack_frames({
        "assignments": result.assignments,
        "profiles": result.profiles,
        "k_selection": result.k_selection,
        "artifact": artifact,
    })
