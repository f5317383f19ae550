"""Export the marts for the people and tools that do not query DuckDB.

Every table of schema `marts` as Parquet, and CRM lists as CSV with the columns a CRM import
needs, best first, each holding the **treatment group only** (the control group of every list is
held out at random: marts.campaign_assignments):

    retention_plan.csv        the customers the retention plan targets (positive expected
                              incremental profit, within the budgets), by plan rank
    <crm_list>.csv            the customers of a decision quadrant with a CRM list (seed
                              decision_quadrants.crm_list: retention_targets, brand_ambassadors,
                              sunk_costs), by expected incremental profit
    campaign_assignments.csv  both groups of every list (campaign_id, customer_id, group,
                              contacted_at, ...): the file to read back with --campaigns once the
                              campaign's window has passed
 Every result table of the Python
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

ASSIGNMENTS_FILE = "campaign_assignments.csv"
ASSIGNMENT_COLUMNS = (
    "campaign_id", "customer_id", "group", "contacted_at", "list_name", "decision_quadrant", "risk_band",
    "rfm_segment", "churn_probability", "value_if_retained", "expected_incremental_profit", "plan_rank",
    "assignment_bucket",
)
CRM_COLUMNS = (
    "campaign_id", "customer_id", "country", "decision_quadrant", "strategy", "action", "rfm_segment",
    "cluster_name", "risk_band", "churn_probability", "value_if_retained", "expected_incremental_profit",
    "last_order_date", "top_drivers",
)
PLAN_COLUMNS = (
    "campaign_id", "plan_rank", "customer_id", "country", "decision_quadrant", "action", "risk_band", "churn_probability",
    "value_if_retained", "expected_order_value", "expected_cost", "expected_incremental_profit", "reason",
    "last_order_date", "top_drivers",
)
_FROM_DECISIONS = ("country", "action", "last_order_date", "top_drivers")


def crm_lists(con) -> dict[str, str]:
    """{CRM list name: quadrant key} of the quadrants with a list (seed decision_quadrants.crm_list)."""
    return dict(con.execute("select crm_list, quadrant_key from reference.decision_quadrants "
                            "where crm_list is not null order by crm_list").fetchall())


def crm_files(written: dict[str, int]) -> list[str]:
    """The CRM list files among the exports written (the plan's first)."""
    names = [n for n in written if n.endswith(".csv") and n != ASSIGNMENTS_FILE]
    return sorted(names, key=lambda n: (n != "retention_plan.csv", n))


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


def _treated(con, list_name: str | None) -> tuple[str, str]:
    """(join, campaign id column) that keep a list's treatment group (marts.campaign_assignments)."""
    has = con.execute("select count(*) from information_schema.tables where table_schema = 'marts' "
                      "and table_name = 'campaign_assignments'").fetchone()[0]
    if not has:  # a warehouse built before campaign experiments: no holdout to apply
        return "", "cast(null as varchar) as campaign_id"
    join = ("join marts.campaign_assignments as assignments on assignments.customer_id = decisions.customer_id "
            f"and assignments.list_name = {sql_string(list_name)} and assignments.\"group\" = 'treatment'")
    return join, "assignments.campaign_id"


def _crm_lists(con, folder: Path) -> dict[str, int]:
    written = {}
    join, campaign = _treated(con, "retention_plan")
    columns = ", ".join(campaign if c == "campaign_id" else f"decisions.{c}" if c in _FROM_DECISIONS else f"plan.{c}"
                        for c in PLAN_COLUMNS)
    written["retention_plan.csv"] = _copy_csv(
        con, f"select {columns} from marts.retention_plan as plan join marts.customer_decisions as decisions "
             f"using (customer_id) {join} where plan.is_targeted order by plan.plan_rank", folder / "retention_plan.csv")
    for name, quadrant_key in crm_lists(con).items():
        join, campaign = _treated(con, name)
        columns = ", ".join(campaign if c == "campaign_id" else f"decisions.{c}" for c in CRM_COLUMNS)
        written[f"{name}.csv"] = _copy_csv(
            con, f"select {columns} from marts.customer_decisions as decisions {join} "
                 f"where decisions.quadrant_key = {sql_string(quadrant_key)} "
                 "order by decisions.expected_incremental_profit desc, decisions.customer_id", folder / f"{name}.csv")
    if _treated(con, None)[0]:
        columns = ", ".join(f'"{c}"' for c in ASSIGNMENT_COLUMNS)
        written[ASSIGNMENTS_FILE] = _copy_csv(
            con, f"select {columns} from marts.campaign_assignments order by campaign_id, plan_rank nulls last, "
                 "customer_id", folder / ASSIGNMENTS_FILE)
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
