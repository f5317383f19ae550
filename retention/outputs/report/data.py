"""Everything the report reads from the warehouse (read-only; a missing table reads as None)."""
from __future__ import annotations

from typing import Any

import duckdb

from retention.outputs.report.formatting import clean

GAINS_POINTS = 400  # the gains curve is drawn through at most this many ranks (and the budget's)
TABLES = {
    "kpis": "marts.retention_kpis",
    "monthly": "marts.retention_kpis_monthly",
    "segment_summary": "marts.segment_summary",
    "campaign_roi": "marts.campaign_roi",
    "campaign_inputs": "marts.campaign_inputs",
    "sensitivity": "marts.campaign_sensitivity",
    "engagement": "marts.engagement_thresholds",
    "cohort_matrix": "features.cohort_retention_matrix",
    "metrics": "ml.churn_model_metrics",
    "calibration": "ml.churn_calibration",
    "importance": "ml.churn_feature_importance",
    "backtest": "ml.churn_backtest",
    "value_metrics": "ml.value_model_metrics",
    "clv_parameters": "ml.clv_parameters",
    "parameters": "intermediate.int_analysis_parameters",
    "input_warnings": "staging.input_warnings",
}


class Warehouse:
    """Read-only access to the tables the report uses."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        rows = con.execute("select table_schema, table_name, column_name from information_schema.columns").fetchall()
        self.columns: dict[str, list[str]] = {}
        for schema, table, column in rows:
            self.columns.setdefault(f"{schema}.{table}".lower(), []).append(column.lower())

    def has(self, table: str) -> bool:
        return table.lower() in self.columns

    def records(self, table: str, sql: str | None = None, params: list | None = None) -> list[dict] | None:
        if not self.has(table):
            return None
        cur = self.con.execute(sql if sql is not None else f"select * from {quoted(table)}", params or [])
        names = [d[0] for d in cur.description]
        return [{k: clean(v) for k, v in zip(names, row)} for row in cur.fetchall()]

    def count(self, table: str) -> int | None:
        if not self.has(table):
            return None
        return int(self.con.execute(f"select count(*) from {quoted(table)}").fetchone()[0])


def quoted(table: str) -> str:
    schema, name = table.split(".")
    return f'"{schema}"."{name}"'


def _plan(wh: Warehouse) -> dict[str, Any]:
    if not wh.has("marts.retention_plan"):
        return {"plan_top": None, "gains": None, "targeted": None, "total_revenue_at_risk": None}
    con = wh.con
    total, targeted, risk = con.execute(
        "select count(*), count(*) filter (where is_targeted), coalesce(sum(revenue_at_risk), 0) "
        "from marts.retention_plan").fetchone()
    step = max(1, total // GAINS_POINTS)
    gains = wh.records("marts.retention_plan", f"""
        select plan_rank, cumulative_contacts, cumulative_profit, cumulative_revenue_at_risk
        from marts.retention_plan
        where plan_rank % {step} = 0 or plan_rank in (1, ?, ?)
        order by plan_rank""", [total, max(targeted, 1)])
    top = wh.records("marts.retention_plan", """
        select plan.*, decisions.country, decisions.rfm_segment, decisions.cluster_name, decisions.action,
               decisions.top_drivers, decisions.last_order_date
        from marts.retention_plan as plan
        join marts.customer_decisions as decisions using (customer_id)
        where plan.is_targeted order by plan.plan_rank limit 10""") if wh.has("marts.customer_decisions") else None
    return {"plan_top": top, "gains": gains, "targeted": int(targeted), "total_revenue_at_risk": float(risk)}


def load_data(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    wh = Warehouse(con)
    data: dict[str, Any] = {key: wh.records(table) for key, table in TABLES.items()}
    if data["input_warnings"] is not None:
        data["input_warnings"].sort(key=lambda w: w["warning_id"])
    # the long cohort table only stands in for the wide one when that is missing
    data["cohort_long"] = None if data["cohort_matrix"] else wh.records("features.cohort_retention")
    decisions = "marts.customer_decisions"
    data["customer_count"] = wh.count(decisions)
    data["quadrant_info"] = None
    if wh.has(decisions):
        targeted = ("count(*) filter (where plan.is_targeted)" if wh.has("marts.retention_plan") else "null")
        join = ("left join marts.retention_plan as plan using (customer_id)" if wh.has("marts.retention_plan") else "")
        data["quadrant_info"] = wh.records(decisions, f"""
            select decisions.decision_quadrant, decisions.quadrant_key, any_value(decisions.strategy) as strategy,
                   any_value(decisions.action) as action, count(*) as customers, {targeted} as targeted
            from {quoted(decisions)} as decisions {join}
            group by 1, 2 order by 2""")
    data.update(_plan(wh))
    alerts = "marts.alerts"
    data["alert_count"] = wh.count(alerts)
    data["alerts"] = wh.records(alerts, f"""
        select * from {quoted(alerts)}
        order by expected_incremental_profit desc nulls last, customer_id limit 10""") if wh.has(alerts) else None
    return data
