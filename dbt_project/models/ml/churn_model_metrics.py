"""Out-of-time metrics of every churn candidate and of the chosen, calibrated model."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("churn_fit").df(), "metrics")
