"""Size, centroid in original units, revenue share and churn rate of each behavioural segment."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("segment_fit").df(), "profiles")
