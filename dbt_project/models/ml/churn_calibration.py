"""Predicted against observed churn by decile of predicted probability on the out-of-time test cutoff."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("churn_fit").df(), "calibration")
