"""Out-of-time metrics of every value-if-retained candidate, and the choice."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("value_fit").df(), "metrics")
