#!/usr/bin/env python3
"""Export the marts for the people and tools that do not query DuckDB.

    python scripts/export_outputs.py --warehouse warehouse/retention.duckdb --output warehouse/exports

Writes every table of schema `marts` as Parquet, and CRM lists as CSV with the columns a CRM
import needs, best first:

    retention_plan.csv      the customers the retention plan targets (positive expected
                            incremental profit, within the budgets), by plan rank
    retention_targets.csv   quadrant: high value, high churn risk (immediate retention offer)
    brand_ambassadors.csv   quadrant: high value, low risk (early access, referral rewards)
    sunk_costs.csv          quadrant: low value, high risk (automated low-cost re-engagement only)

The quadrant lists are ordered by expected incremental profit.

and every result table of the Python steps (schema `ml`, except the packed `*_fit` tables)
as `ml/<table>.parquet`, with `ml/build.json` saying which input and vars produced them: the
`spark` target reads its ml tables from there (the Python steps run on DuckDB only).

The files are written to a temporary folder that replaces the output folder at the end,
so a failed export never leaves a mix of old and new files.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.run_warehouse import sql_string  # noqa: E402

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


def _export_schema(con, schema: str, folder: Path, prefix: str = "") -> dict[str, int]:
    """Every table of the schema as <folder>/<table>.parquet (packed *_fit tables excepted)."""
    written: dict[str, int] = {}
    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? order by 1", [schema]).fetchall()]
    for table in tables:
        if schema == "ml" and table.endswith("_fit"):
            continue
        folder.mkdir(exist_ok=True)
        target = folder / f"{table}.parquet"
        con.execute(f'copy (select * from {schema}."{table}") to {sql_string(target)} (format parquet)')
        written[prefix + target.name] = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    return written


def export_outputs(db_path: Path, output_dir: Path, build_info: dict | None = None) -> dict[str, int]:
    """Write the exports; returns {file name: rows} (ml tables as 'ml/<table>.parquet').
    build_info (the input files and dbt vars of the build) is written as ml/build.json."""
    output_dir = Path(output_dir)
    staging = output_dir.with_name(output_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    written: dict[str, int] = {}
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        written.update(_export_schema(con, "marts", staging))
        written.update(_export_schema(con, "ml", staging / "ml", prefix="ml/"))
        if build_info is not None and (staging / "ml").is_dir():
            (staging / "ml" / "build.json").write_text(json.dumps(build_info, indent=2, sort_keys=True))
        marts = [name[:-len(".parquet")] for name in written if "/" not in name]
        if "retention_plan" in marts:
            columns = ", ".join(f"decisions.{c}" if c in ("country", "action", "last_order_date", "top_drivers")
                                else f"plan.{c}" for c in PLAN_COLUMNS)
            query = (f"select {columns} from marts.retention_plan as plan join marts.customer_decisions as decisions "
                     "using (customer_id) where plan.is_targeted order by plan.plan_rank")
            target = staging / "retention_plan.csv"
            con.execute(f"copy ({query}) to {sql_string(target)} (format csv, header true)")
            written[target.name] = con.execute(
                "select count(*) from marts.retention_plan where is_targeted").fetchone()[0]
        if "customer_decisions" in marts:
            columns = ", ".join(CRM_COLUMNS)
            for name, quadrant_key in CRM_LISTS.items():
                target = staging / f"{name}.csv"
                query = (f"select {columns} from marts.customer_decisions "
                         f"where quadrant_key = '{quadrant_key}' "
                         "order by expected_incremental_profit desc, customer_id")
                con.execute(f"copy ({query}) to {sql_string(target)} (format csv, header true)")
                written[target.name] = con.execute(
                    "select count(*) from marts.customer_decisions where quadrant_key = ?",
                    [quadrant_key]).fetchone()[0]
    finally:
        con.close()
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", default="warehouse/retention.duckdb")
    parser.add_argument("--output", default="warehouse/exports")
    args = parser.parse_args()
    for name, rows in export_outputs(Path(args.warehouse), Path(args.output)).items():
        print(f"{args.output}/{name}: {rows:,} rows")


if __name__ == "__main__":
    main()
