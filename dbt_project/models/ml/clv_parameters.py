"""BG/NBD and Gamma-Gamma parameters, log-likelihoods and convergence, long format."""
from models_py.artifacts import unpack_frame


def model(dbt, session):
    dbt.config(materialized="table")
    return unpack_frame(dbt.ref("clv_fit").df(), "parameters")
