"""Metrics of the uplift model: whether it was fitted, its Qini coefficient and that of ranking by churn probability on the held-out part, and the choice."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("uplift_fit").df(), "metrics")
