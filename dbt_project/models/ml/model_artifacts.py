"""The models this build saved (churn, value, segments): build id, files, SHA-256, input columns,
library versions and metrics, one row per model (models_py.persistence)."""
import pandas as pd

from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    fits = (dbt.ref("churn_fit"), dbt.ref("value_fit"), dbt.ref("segment_fit"))
    return pd.concat([unpack_frame(fit.df(), "artifact") for fit in fits], ignore_index=True)
