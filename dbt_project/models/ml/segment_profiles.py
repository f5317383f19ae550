"""Size, centroid in original units, revenue share and churn rate of each behavioural segment.

segment_fit clusters without the churn scores (so that it runs beside churn_fit); the churn rate
of each segment is joined here (models_py.segmentation.churn_rates, the figures segment_customers
gives when it is handed the scores)."""
from models_py.artifacts import unpack_frame
from models_py.segmentation import churn_rates


def model(dbt, session):
    dbt.config(materialized="table")
    packed = dbt.ref("segment_fit").df()
    profiles = unpack_frame(packed, "profiles")
    profiles["churn_rate"] = churn_rates(profiles, unpack_frame(packed, "assignments"), dbt.ref("churn_scores").df())
    return profiles
