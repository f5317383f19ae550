"""The customers of past campaigns scored by the churn model as of their contact day."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("churn_fit").df(), "contact_scores")
