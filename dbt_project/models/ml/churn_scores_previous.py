"""Churn probability of every customer at the previous cutoff (snapshot 1), from the same final model and threshold."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("churn_fit").df(), "previous_scores")
