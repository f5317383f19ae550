"""The behavioural segment (KMeans cluster) of every customer."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("segment_fit").df(), "assignments")
