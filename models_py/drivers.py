"""The reasons behind one customer's churn score, in an account manager's words.

Occlusion: each group of related inputs is replaced by a typical customer's values (training
medians, the most common country) and the change in the score is that group's effect. The
strongest groups become sentences built from the customer's own values.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from models_py.parallel import thread_map

__all__ = ["DRIVER_GROUPS", "top_drivers"]

# Groups of inputs replaced together by "typical customer" values to explain one customer's score.
DRIVER_GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("recency_days", "r_score", "mean_days_between_orders"),
    "activity": (
        "frequency",
        "distinct_order_days",
        "f_score",
        "orders_30d",
        "orders_90d",
        "orders_180d",
        "revenue_30d",
        "revenue_90d",
        "revenue_180d",
    ),
    "trend": ("orders_trend_90d", "revenue_trend_90d"),
    "spend": ("monetary", "m_score", "avg_order_value"),
    "tenure": ("tenure_days",),
    "returns": ("return_rate",),
    "range": ("distinct_products",),
    "seasonality": ("q4_order_share",),
    "last_year": ("orders_same_window_last_year", "revenue_same_window_last_year"),
    "country": ("country",),
}
_MIN_DRIVER_EFFECT = 0.01  # probability points; smaller effects are not worth a sentence



def _fmt_days(value: float) -> str:
    n = int(round(value))
    return f"{n} day" if n == 1 else f"{n} days"


def _fmt_count(value: float, noun: str) -> str:
    n = int(round(value))
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _driver_text(group: str, row: dict, ref: dict, raises_risk: bool) -> str:
    """One reason in account-manager words, built from this customer's own values."""
    if group == "recency":
        r, gap = row["recency_days"], row["mean_days_between_orders"]
        lead = f"no order in {_fmt_days(r)}" if raises_risk else f"last order {_fmt_days(r)} ago"
        if pd.notna(gap):
            return f"{lead}, usually orders every {_fmt_days(gap)}"
        return f"{lead}, only one order day so far"
    if group == "activity":
        recent = "no orders" if row["orders_90d"] <= 0 else _fmt_count(row["orders_90d"], "order")
        return f"{recent} in the last 90 days ({int(round(row['frequency']))} in total)"
    if group == "trend":
        now = row["revenue_90d"]
        before = now - row["revenue_trend_90d"]
        if before > 0 and now <= 0:
            return f"no spend in the last 90 days (vs {before:,.0f} in the 90 days before)"
        if before > 0:
            change = (now - before) / before * 100
            word = "down" if change < 0 else "up"
            return f"spend {word} {abs(change):.0f}% vs previous quarter"
        if now > 0:
            return "spending again this quarter after a quarter without spend"
        return "no spend in the last 6 months"
    if group == "spend":
        return f"lifetime spend {row['monetary']:,.0f} (typical customer {ref['monetary']:,.0f})"
    if group == "tenure":
        return f"customer for {_fmt_days(row['tenure_days'])} (typical {_fmt_days(ref['tenure_days'])})"
    if group == "returns":
        return f"returns {row['return_rate']:.0%} of spend (typical {ref['return_rate']:.0%})"
    if group == "range":
        return (
            f"bought {_fmt_count(row['distinct_products'], 'distinct product')} "
            f"(typical {int(round(ref['distinct_products']))})"
        )
    if group == "seasonality":
        return f"{row['q4_order_share']:.0%} of orders in Oct-Dec"
    if group == "last_year":
        orders = row["orders_same_window_last_year"]
        if pd.isna(orders):
            return "no history from a year ago to compare this season with"
        if orders <= 0:
            return "no order in the same weeks last year"
        return f"{_fmt_count(orders, 'order')} in the same weeks last year"
    if group == "country":
        return f"based in {row['country']}"
    raise KeyError(group)


def top_drivers(predict: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame, p: np.ndarray,
                reference: dict, base_rate: float, jobs: int = 1, chunk_rows: int = 100_000) -> list[str]:
    """Occlusion attribution: effect of replacing a group of inputs by typical-customer values.

    delta_g = p(customer) - p(customer with group g set to the training medians / most common
    country). For a customer at or above the base rate the reasons are the groups that raise the
    risk most (delta > 0), otherwise those that lower it most; up to 3 with |delta| >= 0.01, and at
    least the single strongest one. The rows are occluded in chunks of at most ``chunk_rows``
    (at least one per job), the chunks on ``jobs`` threads: a customer's reasons depend on that
    customer alone, and the memory on the chunk.
    """
    groups = list(DRIVER_GROUPS)
    chunk = max(1, min(int(chunk_rows), -(-len(X) // max(int(jobs), 1))))

    def occluded_predictions(start):
        part = X.iloc[start : start + chunk]
        columns = []
        for group in groups:
            occluded = part.copy()
            for col in DRIVER_GROUPS[group]:
                if col in occluded:
                    occluded[col] = reference[col]
            columns.append(predict(occluded))
        return np.column_stack(columns)

    p = np.asarray(p, dtype="float64")
    occluded = (np.concatenate(thread_map(occluded_predictions, range(0, len(X), chunk), jobs)) if len(X)
                else np.empty((0, len(groups))))
    deltas = p[:, None] - occluded
    raises = p >= base_rate
    signed = np.where(raises[:, None], deltas, -deltas)
    orders = np.argsort(-signed, axis=1, kind="stable")[:, :3]
    strong = np.take_along_axis(signed, orders, axis=1) >= _MIN_DRIVER_EFFECT
    records = X.to_dict("records")
    texts = []
    for i, row in enumerate(records):
        chosen = [int(j) for j, keep in zip(orders[i], strong[i]) if keep] or [int(orders[i, 0])]
        texts.append("; ".join(_driver_text(groups[j], row, reference, bool(raises[i])) for j in chosen))
    return texts
