"""For each labelled cutoff: what the churn recipe, trained only on earlier cutoffs, predicted against what happened."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("churn_fit").df(), "backtest")
