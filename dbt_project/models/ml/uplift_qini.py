"""The Qini curves of the uplift model, of ranking by churn probability and of random targeting on the held-out part."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("uplift_fit").df(), "qini")
