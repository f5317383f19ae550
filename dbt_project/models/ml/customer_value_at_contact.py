"""The value if retained of the customers of past campaigns as of their contact day."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("value_fit").df(), "contact_values")
