"""Export the marts for the people and tools that do not query DuckDB.

Every table of schema `marts` as Parquet, and CRM lists as CSV with the columns a CRM import
needs, best first:

    retention_plan.csv      the customers the retention plan targets (positive expected
                            incremental profit, within the budgets), by plan rank
    retention_targets.csv   quadrant: high value, high churn risk (immediate retention offer)
    brand_ambassadors.csv   quadrant: high value, low risk (early access, referral rewards)
    sunk_costs.csv          quadrant: low value, high risk (automated low-cost re-engagement only)

The quadrant lists are ordered by expected incremental profit. Every result table of the Python
steps (schema `ml`, except the packed `*_fit` tables) goes to `ml/<table>.parquet`, with
`ml/build.json` saying which input and vars produced them (the `spark` target can read its ml
tables from there). The files are written to a temporary folder that replaces the output folder
at the end, so a failed export never leaves a mix of old and new files.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from retention.inputs.files import duckdb_connect, sql_string
from retention.inputs.vars import NON_RESULT_VARS

CRM_LISTS = {
    "retention_targets": "high_value_high_risk",
    "brand_ambassadors": "high_value_low_risk",
    "sunk_costs": "low_value_high_risk",
}
CRM_COLUMNS = (
    "customer_id", "country", "decision_quadrant", "strategy", "action", "rfm_segment",
    "cluster_name", "risk_band", "churn_probability", "value_if_retained", "expected_incremental_profit",
    "last_order_date", "top_drivers",
)
PLAN_COLUMNS = (
    "plan_rank", "customer_id", "country", "decision_quadrant", "action", "risk_band", "churn_probability",
    "value_if_retained", "expected_order_value", "expected_cost", "expected_incremental_profit", "reason",
    "last_order_date", "top_drivers",
)
_FROM_DECISIONS = ("country", "action", "last_order_date", "top_drivers")


def build_info(files: list[Path], dbt_vars: dict) -> dict:
    """What a build was made from: the input files (path, size, modification time) and the dbt
    vars that change results."""
    return {
        "files": [{"path": str(p), "bytes": p.stat().st_size, "modified": p.stat().st_mtime_ns} for p in files],
        "vars": {k: v for k, v in sorted(dbt_vars.items()) if k not in NON_RESULT_VARS},
    }


def _export_schema(con, schema: str, folder: Path, prefix: str = "") -> dict[str, int]:
    """Every table of the schema as <folder>/<table>.parquet (packed *_fit tables excepted)."""
    written: dict[str, int] = {}
    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]).fetchall()]
    for table in tables:
        if schema == "ml" and table.endswith("_fit"):
            continue
        folder.mkdir(exist_ok=True)
        target = folder / f"{table}.parquet"
        con.execute(f'copy (select * from {schema}."{table}") to {sql_string(target)} (format parquet)')
        written[prefix + target.name] = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    return written


def _copy_csv(con, query: str, target: Path) -> int:
    con.execute(f"copy ({query}) to {sql_string(target)} (format csv, header true)")
    return con.execute(f"select count(*) from ({query})").fetchone()[0]


def _crm_lists(con, folder: Path) -> dict[str, int]:
    written = {}
    columns = ", ".join(f"decisions.{c}" if c in _FROM_DECISIONS else f"plan.{c}" for c in PLAN_COLUMNS)
    written["retention_plan.csv"] = _copy_csv(
        con, f"select {columns} from marts.retention_plan as plan join marts.customer_decisions as decisions "
             "using (customer_id) where plan.is_targeted order by plan.plan_rank", folder / "retention_plan.csv")
    for name, quadrant_key in CRM_LISTS.items():
        written[f"{name}.csv"] = _copy_csv(
            con, f"select {', '.join(CRM_COLUMNS)} from marts.customer_decisions "
                 f"where quadrant_key = {sql_string(quadrant_key)} "
                 "order by expected_incremental_profit desc, customer_id", folder / f"{name}.csv")
    return written


def stage_exports(db_path: Path, output_dir: Path, build_info: dict | None = None) -> tuple[Path, dict[str, int]]:
    """Write the exports into `<output_dir>.building`; returns that folder and {file name: rows}
    (ml tables as 'ml/<table>.parquet'). swap_exports puts it in place."""
    output_dir = Path(output_dir)
    staging = output_dir.with_name(output_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    written: dict[str, int] = {}
    con = duckdb_connect(str(db_path), read_only=True)
    try:
        written.update(_export_schema(con, "marts", staging))
        written.update(_export_schema(con, "ml", staging / "ml", prefix="ml/"))
        if build_info is not None and (staging / "ml").is_dir():
            (staging / "ml" / "build.json").write_text(json.dumps(build_info, indent=2, sort_keys=True))
        if {"retention_plan.parquet", "customer_decisions.parquet"} <= set(written):
            written.update(_crm_lists(con, staging))
    finally:
        con.close()
    return staging, written


def swap_exports(staging: Path, output_dir: Path) -> None:
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)


def export_outputs(db_path: Path, output_dir: Path, build_info: dict | None = None) -> dict[str, int]:
    """Write the exports; returns {file name: rows} (ml tables as 'ml/<table>.parquet')."""
    staging, written = stage_exports(db_path, output_dir, build_info)
    swap_exports(staging, Path(output_dir))
    return written
