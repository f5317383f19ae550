#!/usr/bin/env python3
"""Build the retention warehouse: raw transactions -> dbt build on DuckDB -> docs site.

    python scripts/run_warehouse.py                         # demo data (generated if missing)
    python scripts/run_warehouse.py --transactions my.csv.gz --as-of-date 2011-12-01
    TRANSACTIONS=my.parquet make run                        # the same through make

The build writes to `<warehouse-dir>/retention.duckdb.building` and replaces
`<warehouse-dir>/retention.duckdb` only when every model and test passed, so a failed
build leaves the previous warehouse as it was.
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
DEFAULT_WAREHOUSE = REPO / "warehouse"
DEFAULT_DEMO_ROWS = 300_000
DB_NAME = "retention.duckdb"
CANONICAL_COLUMNS = ("invoice_no", "stock_code", "description", "quantity",
                     "invoice_date", "unit_price", "customer_id", "country")
SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".parquet", ".parq")


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback."""


def log(message: str) -> None:
    print(f"[retention] {message}", flush=True)


def demo_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / "demo" / "transactions.parquet"


def ensure_demo_data(path: Path, rows: int) -> None:
    if path.exists():
        log(f"demo data: {path} (exists; delete it to regenerate)")
        return
    sys.path.insert(0, str(REPO))
    from scripts.generate_transactions import generate

    log(f"generating {rows:,} demo transactions -> {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = generate(str(path), rows=rows)
    log(f"demo data ready: {summary.get('rows', rows):,} rows in {summary.get('seconds', 0):.1f}s")


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def read_header(path: Path) -> list[str]:
    """Column names of the transactions file, read by DuckDB without loading the rows."""
    lowered = path.name.lower()
    literal = "'" + str(path).replace("'", "''") + "'"
    if lowered.endswith((".parquet", ".parq")):
        reader = f"read_parquet({literal})"
    else:
        reader = f"read_csv({literal}, all_varchar = true, header = true)"
    con = duckdb.connect()
    try:
        rows = con.execute(f"describe select * from {reader}").fetchall()
    except duckdb.Error as exc:
        raise UsageError(f"cannot read transactions file '{path}': {exc}".strip()) from exc
    finally:
        con.close()
    return [row[0] for row in rows]


def check_columns(path: Path, found: list[str], column_map: dict[str, str], aliases: dict) -> None:
    """Fail early, with the closest match, when a required column is missing.

    dbt resolves the same mapping (macro transaction_columns); this check runs first so
    that the user sees one clear message instead of a dbt compile error.
    """
    by_normal = {_normalise(name): name for name in found}
    problems = []
    for name in CANONICAL_COLUMNS:
        candidates = [column_map[name]] if name in column_map else list(aliases.get(name, []))
        if any(_normalise(c) in by_normal for c in candidates):
            continue
        close = difflib.get_close_matches(
            _normalise(candidates[0]) if candidates else name, list(by_normal), n=1, cutoff=0.6)
        hint = f" Did you mean '{by_normal[close[0]]}'?" if close else ""
        problems.append(
            f"  - {name}: none of {', '.join(repr(c) for c in candidates)} is a column.{hint}\n"
            f"    Fix: --column-map {name}='{by_normal[close[0]] if close else '<your column>'}'")
    if problems:
        raise UsageError(
            f"transactions file '{path}' is missing required column(s):\n" + "\n".join(problems)
            + f"\n  The file has: {', '.join(found)}")


def parse_column_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in CANONICAL_COLUMNS:
            raise UsageError(
                f"--column-map '{pair}': use NAME=COLUMN with NAME one of {', '.join(CANONICAL_COLUMNS)}")
        mapping[key] = value
    return mapping


def run_dbt(args: list[str], env: dict[str, str], log_file: Path) -> float:
    """Run one dbt command, streaming its progress lines; returns seconds taken."""
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt) if dbt.exists() else "dbt", *args]
    started = time.monotonic()
    with open(log_file, "a", encoding="utf-8") as sink:
        sink.write(f"\n$ {' '.join(command)}\n")
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.write(line)
            print(line, end="", flush=True)
        code = proc.wait()
    if code != 0:
        raise UsageError(f"dbt {args[0]} failed (exit {code}); the previous warehouse is untouched. "
                         f"Full log: {log_file}")
    return time.monotonic() - started


def failed_nodes(run_results: Path) -> list[str]:
    """unique_ids of the nodes that errored or failed in the last dbt invocation."""
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text()).get("results", [])
    return [r["unique_id"] for r in results if r.get("status") in ("error", "fail")]


def summarise(db_path: Path) -> list[tuple[str, str, int]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2").fetchall()
        return [(s, t, con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0])
                for s, t in tables]
    finally:
        con.close()


def publish_outputs(db: Path, warehouse_dir: Path, args, timings: dict) -> dict[str, Path]:
    """Exports (Parquet marts, CRM CSV lists) and the HTML report, from the finished build."""
    sys.path.insert(0, str(REPO))
    from scripts.export_outputs import export_outputs

    outputs: dict[str, Path] = {}
    started = time.monotonic()
    exports_dir = warehouse_dir / "exports"
    written = export_outputs(db, exports_dir)
    timings["exports"] = time.monotonic() - started
    outputs["exports"] = exports_dir
    for name in ("retention_targets.csv", "brand_ambassadors.csv", "sunk_costs.csv"):
        if name in written:
            outputs[f"CRM list ({written[name]:,} customers)"] = exports_dir / name
    if not args.no_report:
        from scripts.render_report import render_report

        started = time.monotonic()
        outputs["report"] = render_report(db, warehouse_dir / "report.html")
        timings["report"] = time.monotonic() - started
    return outputs


def build(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", default=os.environ.get("TRANSACTIONS") or None,
                        help="CSV, CSV.gz or Parquet file of transactions (default: env "
                             "TRANSACTIONS, else the demo data, generated if missing)")
    parser.add_argument("--warehouse-dir", default=os.environ.get("WAREHOUSE_DIR") or str(DEFAULT_WAREHOUSE),
                        help="where retention.duckdb, the docs site and logs go (default: warehouse/)")
    parser.add_argument("--as-of-date", help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--churn-horizon-days", type=int, help="churn horizon in days (default 90)")
    parser.add_argument("--snapshot-cadence-days", type=int, help="days between training cutoffs (default 30)")
    parser.add_argument("--snapshot-count", type=int, help="number of past training cutoffs (default 12)")
    parser.add_argument("--column-map", action="append", default=[], metavar="NAME=COLUMN",
                        help="map a canonical column to your file's column, e.g. customer_id='Client No'")
    parser.add_argument("--vars", default=None, help="extra dbt vars as YAML/JSON, e.g. '{snapshot_count: 6}'")
    parser.add_argument("--demo-rows", type=int, default=DEFAULT_DEMO_ROWS,
                        help=f"size of the generated demo data (default {DEFAULT_DEMO_ROWS:,})")
    parser.add_argument("--no-docs", action="store_true", help="skip the dbt docs site")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    parser.add_argument("--skip-ml", action="store_true",
                        help="build only the SQL layers (no churn model, segments or CLV), e.g. when "
                             "the history is too short to train on")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("RETENTION_THREADS", os.cpu_count() or 2)),
                        help="DuckDB threads and dbt threads (default: the machine's cores)")
    parser.add_argument("--memory-limit", default=os.environ.get("RETENTION_MEMORY_LIMIT", "8GB"),
                        help="DuckDB memory_limit (default 8GB)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    warehouse_dir = Path(args.warehouse_dir).resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)

    if args.transactions:
        transactions = Path(args.transactions).expanduser().resolve()
        if not transactions.exists():
            raise UsageError(f"transactions file '{transactions}' does not exist. "
                             "Fix: give an existing CSV, CSV.gz or Parquet file (--transactions PATH "
                             "or TRANSACTIONS=PATH make run).")
    else:
        transactions = demo_path(warehouse_dir)
        ensure_demo_data(transactions, args.demo_rows)
    if not transactions.name.lower().endswith(SUPPORTED_SUFFIXES):
        raise UsageError(f"transactions file '{transactions}': unsupported file type. "
                         f"Fix: give one of {', '.join(SUPPORTED_SUFFIXES)}.")
    if transactions.is_file() and transactions.stat().st_size == 0:
        raise UsageError(f"transactions file '{transactions}' is empty. Fix: export the transactions "
                         "again with a header row and at least one line.")

    dbt_vars: dict = yaml.safe_load(args.vars) if args.vars else {}
    if not isinstance(dbt_vars, dict):
        raise UsageError(f"--vars must be a YAML/JSON mapping, got: {args.vars}")
    dbt_vars["transactions_path"] = str(transactions)
    for name in ("as_of_date", "churn_horizon_days", "snapshot_cadence_days", "snapshot_count"):
        value = getattr(args, name)
        if value is not None:
            dbt_vars[name] = value
    column_map = {**(dbt_vars.get("column_map") or {}), **parse_column_map(args.column_map)}
    if column_map:
        dbt_vars["column_map"] = column_map

    project_vars = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    check_columns(transactions, read_header(transactions), column_map, project_vars["column_aliases"])

    final_db = warehouse_dir / DB_NAME
    building_db = warehouse_dir / f"{DB_NAME}.building"
    for leftover in (building_db, Path(f"{building_db}.wal")):
        leftover.unlink(missing_ok=True)
    target_dir = warehouse_dir / "dbt_target"
    log_file = warehouse_dir / "logs" / "build.log"
    log_file.parent.mkdir(exist_ok=True)
    log_file.write_text("")
    env = {
        **os.environ,
        "RETENTION_DUCKDB_PATH": str(building_db),
        "RETENTION_REPO_DIR": str(REPO),
        "RETENTION_DUCKDB_THREADS": str(args.threads),
        "RETENTION_DBT_THREADS": str(args.threads),
        "RETENTION_MEMORY_LIMIT": args.memory_limit,
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(target_dir),
        "DBT_LOG_PATH": str(warehouse_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    common = ["--project-dir", str(DBT_PROJECT), "--vars", json.dumps(dbt_vars)]
    log(f"building from {transactions}")
    build_args = ["build", *common] + (["--exclude", "tag:ml"] if args.skip_ml else [])
    try:
        timings = {"dbt build": run_dbt(build_args, env, log_file)}
    except UsageError as exc:
        failed = failed_nodes(target_dir / "run_results.json")
        if any(node.startswith("model.retention.") and "_fit" in node for node in failed):
            raise UsageError(f"{exc}\nA Python step failed ({', '.join(failed)}): see its message above. "
                             "To build the SQL warehouse without the models, add --skip-ml.") from exc
        raise

    docs_dir = warehouse_dir / "docs"
    if not args.no_docs:
        timings["dbt docs generate"] = run_dbt(["docs", "generate", "--static", *common], env, log_file)
        docs_dir.mkdir(exist_ok=True)
        shutil.copyfile(target_dir / "static_index.html", docs_dir / "index.html")

    os.replace(building_db, final_db)
    Path(f"{building_db}.wal").unlink(missing_ok=True)

    outputs = publish_outputs(final_db, warehouse_dir, args, timings)
    tables = summarise(final_db)
    print()
    log("built tables (schema.table: rows):")
    for schema, table, count in tables:
        if schema != "reference":
            print(f"    {schema + '.' + table:<48} {count:>12,}")
    log(f"warehouse: {final_db}")
    if not args.no_docs:
        log(f"docs site: {docs_dir / 'index.html'}")
    for label, path in outputs.items():
        log(f"{label}: {path}")
    log(f"build log: {log_file}")
    log("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        + f", total {time.monotonic() - started:.1f}s")
    log(f"query it: .venv/bin/python -c \"import duckdb; print(duckdb.connect('{final_db}', "
        "read_only=True).sql('select * from features.customer_rfm limit 5'))\"")
    return final_db


def main() -> int:
    try:
        build()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
