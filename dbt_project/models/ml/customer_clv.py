"""Per-customer CLV (P(alive), expected purchases, expected order value, CLV over the horizon, baseline)."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("clv_fit").df(), "scores")
