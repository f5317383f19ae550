"""Choose the value-if-retained method out of time and apply it to every customer
(models_py.value.fit_and_score). Unpacked by customer_value and value_model_metrics."""
from models_py.artifacts import pack_frames
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
        **value_arguments(params),
    )
    return pack_frames({"values": result.values, "metrics": result.metrics})
