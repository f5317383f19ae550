"""Real-time scoring: the request schema (one field per input of the churn model, each with its
type and bounds) and the scoring of records with the served build's persisted models.

The fields are `models_py.snapshots.FEATURES`, exactly the columns of
`features.customer_features` that the churn model reads; the served model's own feature list
(ml.model_artifacts) must be the same, else scoring is refused. Records go through the same
coercion (`prepare_features`) and the same `ChurnScorer.score` as the build's scores, so the
stored features of a customer give exactly their stored probability and drivers.
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from models_py.snapshots import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES, prepare_features

MAX_RECORDS = 1000
_DAYS = (0, 36_500)            # up to a hundred years
_COUNT = (0, 10_000_000)
_SIGNED_COUNT = (-10_000_000, 10_000_000)
_MONEY = (-1e12, 1e12)
_SHARE = (0, 1)
_SCORE = (1, 5)
# (bounds, may be null, description) of every numeric input.
FEATURE_RULES: dict[str, tuple[tuple[float, float], bool, str]] = {
    "tenure_days": (_DAYS, False, "days since the first order"),
    "recency_days": (_DAYS, False, "days since the last order"),
    "frequency": (_COUNT, False, "orders"),
    "monetary": (_MONEY, False, "lifetime net spend (currency)"),
    "distinct_order_days": (_COUNT, False, "days with an order"),
    "avg_order_value": (_MONEY, False, "mean order value (currency)"),
    "mean_days_between_orders": (_DAYS, True, "mean gap between order days (null with one order day)"),
    "orders_30d": (_COUNT, False, "orders in the last 30 days"),
    "orders_90d": (_COUNT, False, "orders in the last 90 days"),
    "orders_180d": (_COUNT, False, "orders in the last 180 days"),
    "revenue_30d": (_MONEY, False, "spend in the last 30 days"),
    "revenue_90d": (_MONEY, False, "spend in the last 90 days"),
    "revenue_180d": (_MONEY, False, "spend in the last 180 days"),
    "orders_trend_90d": (_SIGNED_COUNT, False, "orders in the last 90 days minus the 90 before"),
    "revenue_trend_90d": (_MONEY, False, "spend in the last 90 days minus the 90 before"),
    "return_rate": ((0, 100), False, "returned value over ordered value"),
    "distinct_products": (_COUNT, False, "distinct products bought"),
    "q4_order_share": (_SHARE, False, "share of orders in October-December"),
    "orders_same_window_last_year": (_COUNT, True, "orders in the same weeks last year (null: no history then)"),
    "revenue_same_window_last_year": (_MONEY, True, "spend in the same weeks last year (null: no history then)"),
    "r_score": (_SCORE, False, "RFM recency score 1-5"),
    "f_score": (_SCORE, False, "RFM frequency score 1-5"),
    "m_score": (_SCORE, False, "RFM monetary score 1-5"),
}
assert set(FEATURE_RULES) == set(NUMERIC_FEATURES), "every numeric input of the churn model needs a rule"


def _field(name: str):
    (low, high), nullable, description = FEATURE_RULES[name]
    number = Annotated[float, Field(strict=True, ge=low, le=high, allow_inf_nan=False)]
    kind = number | None if nullable else number
    return (kind, Field(..., description=f"{description}; {low:g} to {high:g}"))


CustomerFeatures = create_model(
    "CustomerFeatures",
    __config__=ConfigDict(extra="forbid"),
    **{name: _field(name) for name in NUMERIC_FEATURES},
    country=(Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")],
             Field(..., description="country as in the input data (unseen countries count as infrequent)")),
)
assert tuple(CustomerFeatures.model_fields) == NUMERIC_FEATURES + CATEGORICAL_FEATURES == FEATURES


class ScoreRequest(BaseModel):
    """One record (`features`) or a batch (`records`, at most 1,000)."""

    model_config = ConfigDict(extra="forbid")
    features: CustomerFeatures | None = None
    records: Annotated[list[CustomerFeatures], Field(min_length=1, max_length=MAX_RECORDS)] | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.features is None) == (self.records is None):
            raise ValueError("give either `features` (one record) or `records` (a list), not both and not neither")
        return self

    def rows(self) -> list[CustomerFeatures]:
        return [self.features] if self.features is not None else list(self.records)


def score_records(models, records: list, known_countries: set) -> list[dict[str, Any]]:
    """Churn probability, risk band, drivers and segment of each record, from the served build's
    models (`Generation.models`)."""
    frame = pd.DataFrame([r.model_dump() for r in records])
    frame.insert(0, "customer_id", [f"record-{i}" for i in range(len(frame))])
    prepared = prepare_features(frame, "records")
    scores = models.churn.score(prepared)
    segments = models.segments.assign(prepared) if models.segments is not None else None
    out = []
    for i, row in scores.iterrows():
        result = {
            "churn_probability": float(row["churn_probability"]),
            "risk_band": row["risk_band"],
            "is_predicted_churner": bool(row["is_predicted_churner"]),
            "top_drivers": [d for d in str(row["top_drivers"]).split("; ") if d],
            "threshold": models.churn.threshold,
            "country_known": prepared["country"].iloc[i] in known_countries,
        }
        if segments is not None:
            result["cluster_id"] = int(segments["cluster_id"].iloc[i])
            result["cluster_name"] = str(segments["cluster_name"].iloc[i])
        out.append(result)
    return out


def stored_features_body(features: dict) -> dict:
    """The /api/score body of a customer's stored features (JSON numbers, null where NULL)."""
    body = {}
    for name in FEATURES:
        value = features.get(name)
        if name in CATEGORICAL_FEATURES:
            body[name] = value
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            body[name] = None
        else:
            body[name] = float(value)
    return body
