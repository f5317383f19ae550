"""Judge a built warehouse by what really happened next (out of time).

Build the warehouse with an as-of date whose next horizon is in the data, e.g.

    retention build --transactions ../shared/data/online_retail.csv.gz --as-of-date 2011-09-10
    retention evaluate warehouse/retention.duckdb

Staging keeps the rows dated on or after as_of_date (clean, but invisible to every feature,
label and mart), so the outcome of every decision can be read from the same file: orders in
[as_of_date, as_of_date + churn_horizon_days). Prints (and with --json writes) the churn
model's level and ranking against the observed churn, the value model's rank correlation with
realised spend against past monetary, and how much of the past revenue of the customers who
really churned each targeting rule holds at a budget of a share of the customers.
"""
from __future__ import annotations

import argparse
import json
import sys

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score


def _tables(con) -> set[str]:
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}


def outcomes(con) -> pd.DataFrame:
    """Per scored customer: past monetary, whether they ordered in the next horizon, and their
    net spend in it (the same order definition as int_orders)."""
    return con.execute("""
        with parameters as (select * from intermediate.int_analysis_parameters),
        future as (
            select t.customer_id,
                count(distinct case when not t.is_cancellation and t.quantity > 0 and t.unit_price > 0
                    then t.invoice_no end) as future_orders,
                sum(t.line_amount) as future_net_spend
            from staging.stg_transactions as t cross join parameters as p
            where t.invoice_date >= p.as_of_date
                and t.invoice_date < p.as_of_date + p.churn_horizon_days
            group by 1
        )
        select s.customer_id, s.churn_probability, s.risk_band, f.monetary, f.frequency,
            coalesce(future.future_orders, 0) = 0 as churned,
            coalesce(future.future_net_spend, 0) as future_net_spend
        from ml.churn_scores as s
        join features.customer_features as f using (customer_id)
        left join future using (customer_id)
    """).df()


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed - predicted| over equal-count bins of predicted probability, weighted by size."""
    order = np.argsort(p, kind="mergesort")
    error = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            error += len(part) * abs(y[part].mean() - p[part].mean())
    return error / len(y)


def normalised_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of actual sorted by predicted, divided by the Gini of the perfect ordering."""
    def gini(order_by):
        order = np.lexsort((np.arange(len(actual)), -order_by))
        cumulative = np.cumsum(actual[order]) / actual.sum()
        return float(cumulative.sum() / len(actual) - (len(actual) + 1) / (2 * len(actual)))
    return gini(predicted) / gini(actual)


def share_held(frame: pd.DataFrame, selected: pd.Series) -> float:
    churners = frame["churned"].astype(bool)
    revenue = frame["monetary"].clip(lower=0)
    return float(revenue[churners & selected].sum() / revenue[churners].sum())


def top_share(frame: pd.DataFrame, score: pd.Series, budget: int) -> pd.Series:
    order = pd.DataFrame({"score": score.to_numpy(), "id": frame["customer_id"].to_numpy()})
    order = order.sort_values(["score", "id"], ascending=[False, True], kind="mergesort")
    chosen = set(order["id"].head(budget))
    return frame["customer_id"].isin(chosen)


def evaluate(db_path: str, budget_share: float = 0.1) -> dict:
    con = duckdb.connect(db_path, read_only=True)
    try:
        tables = _tables(con)
        params = con.execute("select as_of_date, churn_horizon_days from intermediate.int_analysis_parameters").fetchone()
        frame = outcomes(con)
        decisions = con.execute("select * from marts.customer_decisions").df()
        clv = con.execute("select customer_id, clv from ml.customer_clv").df()
        value = (con.execute("select customer_id, value_if_retained from ml.customer_value").df()
                 if "ml.customer_value" in tables else None)
        plan = (con.execute("select customer_id, plan_rank, expected_incremental_profit from marts.retention_plan").df()
                if "marts.retention_plan" in tables else None)
    finally:
        con.close()
    frame = frame.merge(clv, on="customer_id", how="left").merge(
        decisions[["customer_id", "quadrant_key"]], on="customer_id", how="left")
    y = frame["churned"].to_numpy(dtype=int)
    p = frame["churn_probability"].to_numpy(dtype=float)
    result: dict = {
        "warehouse": db_path, "as_of_date": str(params[0]), "horizon_days": int(params[1]),
        "customers": int(len(frame)), "observed_churn": float(y.mean()),
        "churn": {
            "roc_auc": float(roc_auc_score(y, p)), "mean_predicted": float(p.mean()),
            "mean_minus_observed": float(p.mean() - y.mean()),
            "brier": float(np.mean((p - y) ** 2)), "ece": expected_calibration_error(y, p),
            "distinct_probabilities": int(len(np.unique(p))),
            "at_exactly_0_or_1": int(((p <= 0) | (p >= 1)).sum()),
        },
    }
    buyers = frame[~frame["churned"]]
    realised = buyers["future_net_spend"].to_numpy(dtype=float)
    ranking = {"past_monetary": buyers["monetary"], "clv": buyers["clv"]}
    if value is not None:
        frame = frame.merge(value, on="customer_id", how="left")
        ranking["value_if_retained"] = frame.loc[~frame["churned"], "value_if_retained"]
    result["value"] = {
        name: {"spearman": float(spearmanr(score.to_numpy(dtype=float), realised).statistic),
               "normalised_gini": normalised_gini(np.clip(realised, 0, None), score.to_numpy(dtype=float))}
        for name, score in ranking.items()
    }
    budget = int(round(budget_share * len(frame)))
    rules = {
        "at_risk_quadrant": frame["quadrant_key"] == "high_value_high_risk",
        "churn_probability_x_clv": top_share(frame, frame["churn_probability"] * frame["clv"], budget),
        "churn_probability": top_share(frame, frame["churn_probability"], budget),
    }
    if plan is not None:  # the plan at a contact budget: its best customers with a positive profit
        ranked = frame[["customer_id"]].merge(plan, on="customer_id", how="left")
        rules["retention_plan"] = (ranked["plan_rank"] <= budget) & (ranked["expected_incremental_profit"] > 0)
    result["budget_customers"] = budget
    result["churners_past_revenue_held"] = {
        name: {"customers": int(sel.sum()), "share": share_held(frame, sel)} for name, sel in rules.items()
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="retention evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", help="a retention.duckdb built with an as-of date whose next horizon is in the data")
    parser.add_argument("--budget-share", type=float, default=0.1, help="share of customers a campaign may contact (default 0.1)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = evaluate(args.warehouse, args.budget_share)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 0

