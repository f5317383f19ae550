"""Cluster customers into behavioural segments (KMeans on log-scaled, standardised features).

k comes from var segment_count, or is chosen in 3..8 by silhouette when it is 0. The
results are unpacked by customer_segments, segment_profiles and segment_k_selection.
"""
from models_py.artifacts import pack_frames
from models_py.segmentation import segment_customers
from models_py.steps import segment_arguments


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    result = segment_customers(
        dbt.ref("customer_features").df(),
        churn=dbt.ref("churn_scores").df(),
        **segment_arguments(params),
    )
    return pack_frames({
        "assignments": result.assignments,
        "profiles": result.profiles,
        "k_selection": result.k_selection,
    })
