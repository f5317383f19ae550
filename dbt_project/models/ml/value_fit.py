"""Choose the value-if-retained method out of time and apply it to every customer, and to the
customers of past campaigns as of their contact day (models_py.value.fit_and_score). Unpacked by
customer_value, value_model_metrics and customer_value_at_contact; the fitted method is saved to
the build's model folder (RETENTION_MODELS_DIR, see model_artifacts)."""
import os

from models_py.artifacts import pack_frames
from models_py.persistence import save_model
from models_py.snapshots import FEATURES
from models_py.steps import value_arguments
from models_py.value import fit_and_score


def model(dbt, session):
    dbt.config(materialized="table")
    params = dbt.ref("int_analysis_parameters").df().iloc[0]
    clv = dbt.ref("customer_clv").df()
    features = dbt.ref("customer_features").df()
    result = fit_and_score(
        dbt.ref("training_sample").df(),
        features.merge(clv[["customer_id", "expected_order_value"]], on="customer_id", how="left"),
        contact_features=dbt.ref("int_customer_features_at_contact").df(),
        **value_arguments(params),
    )
    artifact = save_model("value", result.model, name=result.method,
                          features=(*FEATURES, "mean_repeat_order_value", "expected_order_value"),
                          metrics=result.summary(), folder=os.environ.get("RETENTION_MODELS_DIR"),
                          build_id=os.environ.get("RETENTION_BUILD_ID"))
    return pack_frames({**result.tables(), "artifact": artifact})
