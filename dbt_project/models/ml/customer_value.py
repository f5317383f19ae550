"""Value if retained of every customer: expected gross margin over clv_horizon_days if they keep buying."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("value_fit").df(), "values")
