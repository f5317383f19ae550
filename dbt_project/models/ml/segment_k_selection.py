"""Silhouette and inertia of each k tried, and the k chosen."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("segment_fit").df(), "k_selection")
