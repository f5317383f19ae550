"""BG/NBD forecast of purchases in the holdout period against what happened, overall and by past frequency."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("clv_fit").df(), "holdout_check")
