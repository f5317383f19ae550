"""Churn probability, risk band and the top drivers of every customer's score, as of as_of_date."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("churn_fit").df(), "scores")
