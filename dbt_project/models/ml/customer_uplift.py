"""Predicted uplift of every customer as of as_of_date (empty when the uplift model was not fitted)."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("uplift_fit").df(), "scores")
