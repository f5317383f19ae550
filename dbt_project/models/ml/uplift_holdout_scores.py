"""The held-out customers of past campaigns with their outcome, predicted uplift and churn probability at contact."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("uplift_fit").df(), "holdout")
