"""The same dbt project builds the same tables on Spark as on DuckDB.

One small generated input (20,000 rows of 200 customers in two overlapping CSV files, plus
hand-written messy lines: spreadsheet dates, bad numbers, placeholders, quoted delimiters,
duplicates) is built on DuckDB (the
whole job, with the Python steps and the export) and then on the `spark` target (local
pyspark, the ml tables loaded from that export). Every table that both build must hold the
same rows: strings, integers, booleans and dates exactly, floating-point numbers to a
relative 1e-9. Skipped, with the reason, where pyspark/dbt-spark or Java 17 is missing
(`make spark-setup` installs the extra); with CI=true a missing prerequisite fails the test,
since .ci/run installs both.
"""
from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from helpers import REPO, run_build

# Built only on DuckDB: the Python steps' packed fits (on Spark the ml schema holds the
# exported result tables, which are compared like every other table).
DUCKDB_ONLY = {"ml.churn_fit": "packed Python artifact", "ml.segment_fit": "packed Python artifact",
               "ml.clv_fit": "packed Python artifact", "ml.value_fit": "packed Python artifact",
               "ml.uplift_fit": "packed Python artifact",
               # what the DuckDB runner records for the next build's refresh (Spark builds in full)
               "staging.input_files": "refresh record", "staging.staging_config": "refresh record"}
RELATIVE_TOLERANCE = 1e-9
# pyspark warns about pandas 3 on import; the test moves no data through pandas
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

# Lines a real export may hold, appended to the generated file: every parsing path of staging.
MESSY_ROWS = [
    # UCI spreadsheet dates (month first, no seconds / with seconds), a day that does not exist
    ["990001", "85123A", "WHITE HANGING HEART", "6", "12/1/2010 8:26", "2.55", "12346", "United Kingdom"],
    ["990002", "71053", "WHITE METAL LANTERN", "6", "12/01/2010 08:26:59", "3.39", "12346", "United Kingdom"],
    ["990003", "84406B", "CREAM CUPID HEARTS", "8", "2/30/2011 10:00", "2.75", "12347", "France"],
    # ISO with T, fractions of a second, a UTC offset (dropped, as DuckDB does), a year only
    ["990004", "22752", "SET 7 BABUSHKA", "2", "2011-03-04T09:15:00", "7.65", "12347", "France"],
    ["990005", "21730", "GLASS STAR LANTERN", "6", "2011-03-05 09:15:00.250", "4.25", "12347.0", "France"],
    ["990006", "22633", "HAND WARMER", "6", "2011-03-06 10:00:00+01", "1.85", "12348", "Germany"],
    ["990007", "22632", "HAND WARMER RED", "6", "2011", "1.85", "12348", "Germany"],
    # numbers: exponent, thousands separator, decimal comma, currency, NaN, inf, fractional quantity
    ["990008", "84879", "ASSORTED BIRD", "1e1", "2011-04-01 10:00:00", "1.69", "12349", "Spain"],
    ["990009", "84879", "ASSORTED BIRD", "1,000", "2011-04-01 10:00:00", "1.69", "12349", "Spain"],
    ["990010", "84879", "ASSORTED BIRD", "3", "2011-04-01 10:00:00", "1,69", "12349", "Spain"],
    ["990011", "84879", "ASSORTED BIRD", "3", "2011-04-01 10:00:00", "$1.69", "12349", "Spain"],
    ["990012", "84879", "ASSORTED BIRD", "NaN", "2011-04-01 10:00:00", "1.69", "12349", "Spain"],
    ["990013", "84879", "ASSORTED BIRD", "3", "2011-04-01 10:00:00", "inf", "12349", "Spain"],
    ["990014", "84879", "ASSORTED BIRD", "2.5", "2011-04-01 10:00:00", "1.69", "12349", "Spain"],
    ["990015", "84879", "ASSORTED BIRD", "3", "2011-04-01 10:00:00", "1e400", "12349", "Spain"],
    # placeholders, blanks, zero date, adjustment, quoted delimiter and quote, exact duplicate
    ["990016", "84879", "ASSORTED BIRD", "3", "2011-04-02 10:00:00", "1.69", "nan", "Spain"],
    ["990017", "", "NO STOCK CODE", "3", "2011-04-02 10:00:00", "1.69", "12349", "Spain"],
    ["", "84879", "NO INVOICE", "3", "2011-04-02 10:00:00", "1.69", "12349", "Spain"],
    ["990018", "84879", "ZERO DATE", "3", "1899-12-30 00:00:00", "1.69", "12349", "Spain"],
    ["A990019", "B", "Adjust bad debt", "1", "2011-04-03 10:00:00", "-11062.06", "12349", "Spain"],
    ["990020", "POST", 'POSTAGE, "EXPRESS"', "1", "2011-04-03 11:00:00", "18.00", " 12350 ", "  "],
    ["990020", "POST", 'POSTAGE, "EXPRESS"', "1", "2011-04-03 11:00:00", "18.00", " 12350 ", "  "],
]


def _spark_missing() -> str | None:
    """Why the Spark build cannot run here, or None."""
    from retention.config import UsageError
    from retention.targets.spark import check_prerequisites

    try:
        check_prerequisites()
    except UsageError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def parity_builds(tmp_path_factory) -> tuple[Path, Path, float]:
    """(DuckDB file, folder of every Spark table and view as Parquet, Spark folder,
    seconds of the Spark build) of one small input."""
    reason = _spark_missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"CI installs the Spark extra and Java (.ci/run), yet: {reason}")
    if reason:
        pytest.skip(reason)
    from retention.demo import generate

    folder = tmp_path_factory.mktemp("spark_parity")
    generated = folder / "generated.csv"
    # 200 customers: enough buyers in each split for the value model (60 gave 23 in its test split)
    generate(str(generated), rows=20000, seed=11, customers=200)
    header, *lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)
    # two files read as one, in order; the second repeats the last 20 lines of the first
    # (an overlapping later export: those rows are duplicates), then the messy lines
    files = [folder / "2010.csv", folder / "2011.csv"]
    middle = len(lines) // 2
    files[0].write_text(header + "".join(lines[:middle]), encoding="utf-8")
    files[1].write_text(header + "".join(lines[middle - 20:]), encoding="utf-8")
    with open(files[1], "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(MESSY_ROWS)
    inputs = [arg for path in files for arg in ("--transactions", str(path))]
    warehouse = folder / "warehouse"
    run_build(files[0], warehouse, "--transactions", str(files[1]))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "retention", "build", "--target", "spark",
                           *inputs, "--warehouse-dir", str(warehouse)],
                          cwd=REPO, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise AssertionError(f"Spark build failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n"
                             f"{proc.stderr[-3000:]}")
    # every table and view as Spark itself reads it, written out as Parquet for DuckDB
    from retention.targets.spark import spark_relations, spark_session

    spark_dir, exported = warehouse / "spark", folder / "spark_relations"
    session = spark_session(spark_dir)
    try:
        for schema, name, _ in spark_relations(session):
            session.table(f"{schema}.{name}").write.parquet(str(exported / f"{schema}.{name}"))
    finally:
        session.stop()
    yield warehouse / "retention.duckdb", exported, spark_dir, seconds
    shutil.rmtree(folder, ignore_errors=True)


def _kind(type_name: str) -> str:
    name = type_name.upper()
    if name.startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL")):
        return "number"
    if name in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                "UBIGINT"):
        return "integer"
    if name.startswith("TIMESTAMP"):
        return "timestamp"
    return {"VARCHAR": "text", "BOOLEAN": "boolean", "DATE": "date"}.get(name, name)


def _read(con, sql: str) -> tuple[list[str], list[str], list[tuple]]:
    described = con.execute(f"describe {sql}").fetchall()
    return [d[0] for d in described], [_kind(d[1]) for d in described], con.execute(sql).fetchall()


def _sort_key(row, kinds):
    """Exact values first, numbers rounded: rows that agree line up on both sides."""
    return tuple((v is None, "" if v is None else (round(float(v), 6) if k == "number" else str(v)))
                 for v, k in zip(row, kinds))


def _same_number(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b))


def compare_table(con, duck_sql: str, spark_sql: str) -> str | None:
    """None when both queries hold the same rows; else what differs (column, row, values)."""
    duck_columns, duck_kinds, duck_rows = _read(con, duck_sql)
    spark_columns, spark_kinds, spark_rows = _read(con, spark_sql)
    if duck_columns != spark_columns:
        return f"columns differ: DuckDB {duck_columns}, Spark {spark_columns}"
    kinds = dict(zip(duck_columns, duck_kinds))
    for column, duck_kind, spark_kind in zip(duck_columns, duck_kinds, spark_kinds):
        if duck_kind != spark_kind:
            return f"column {column}: DuckDB type {duck_kind}, Spark type {spark_kind}"
    if len(duck_rows) != len(spark_rows):
        return f"{len(duck_rows)} rows on DuckDB, {len(spark_rows)} on Spark"
    order = list(kinds.values())
    for duck_row, spark_row in zip(sorted(duck_rows, key=lambda r: _sort_key(r, order)),
                                   sorted(spark_rows, key=lambda r: _sort_key(r, order))):
        for column, a, b in zip(duck_columns, duck_row, spark_row):
            same = _same_number(a, b) if kinds[column] == "number" else a == b
            if not same:
                return (f"column {column}: DuckDB {a!r}, Spark {b!r} in the row "
                        f"{dict(zip(duck_columns, duck_row))}")
    return None


def test_every_table_built_on_both_targets_has_the_same_content(parity_builds):
    duck_db, exported, _, _ = parity_builds
    con = duckdb.connect()
    con.execute(f"attach '{duck_db}' as duck (read_only)")
    duck_tables = [f"{s}.{t}" for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'duck' union all "
        "select schema_name, view_name from duckdb_views() where database_name = 'duck' and not internal "
        "order by 1, 2").fetchall()]
    spark_tables = {d.name: d for d in exported.iterdir()}
    missing = sorted(set(duck_tables) - set(spark_tables) - set(DUCKDB_ONLY))
    assert not missing, f"built on DuckDB but not on Spark: {missing}"
    differences, compared = {}, {}
    for table in duck_tables:
        if table in DUCKDB_ONLY:
            continue
        schema, name = table.split(".")
        spark_sql = f"select * from read_parquet('{spark_tables[table] / '*.parquet'}')"
        problem = compare_table(con, f'select * from duck."{schema}"."{name}"', spark_sql)
        if problem:
            differences[table] = problem
        compared[table] = con.execute(f'select count(*) from duck."{schema}"."{name}"').fetchone()[0]
    print("compared (table: rows):", json.dumps(compared, indent=1))
    assert not differences, "tables differ between DuckDB and Spark:\n" + "\n".join(
        f"  {table}: {problem}" for table, problem in differences.items())
    # the comparison saw real content, messy rows included
    assert compared["staging.base_transactions"] > 20000 and compared["staging.base_transaction_lines"] > 20000
    files = con.execute("select source_file, min(raw_row_id), max(raw_row_id) from duck.staging.base_transactions "
                        "group by 1 order by 2").fetchall()
    assert [f[0] for f in files] == ["2010.csv", "2011.csv"] and files[0][2] + 1 == files[1][1]
    assert compared["marts.customer_decisions"] > 0 and compared["features.training_snapshots"] > 0
    reasons = {r[0] for r in con.execute(
        "select distinct rejection_reason from duck.staging.stg_transactions_rejected").fetchall()}
    assert {"invalid_invoice_date", "implausible_date", "invalid_quantity", "invalid_unit_price",
            "adjustment", "missing_customer", "duplicate", "missing_stock_code",
            "missing_invoice_no"} <= reasons


def test_the_spark_build_ran_the_data_tests_and_unit_tests(parity_builds):
    _, _, spark_dir, seconds = parity_builds
    results = json.loads((spark_dir / "dbt_target" / "run_results.json").read_text())["results"]
    by_kind: dict[str, list[str]] = {}
    for result in results:
        by_kind.setdefault(result["unique_id"].split(".")[0], []).append(result["status"])
    print(f"Spark build: {seconds:.0f}s; nodes by kind: { {k: len(v) for k, v in by_kind.items()} }")
    assert len(by_kind.get("unit_test", [])) >= 6 and set(by_kind["unit_test"]) == {"pass"}
    assert len(by_kind.get("test", [])) > 100 and set(by_kind["test"]) == {"pass"}
    assert set(by_kind["model"]) == {"success"}


def test_the_spark_target_refuses_ml_tables_exported_from_another_input(tmp_path):
    """The marts join the ml tables by customer: scores of another file would be silently wrong."""
    from retention.config import UsageError
    from retention.outputs.exports import build_info
    from retention.targets.spark import check_ml_exports

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("x\n1\n")
    second.write_text("x\n2\n")
    exports = tmp_path / "exports" / "ml"
    with pytest.raises(UsageError, match="does not exist. Fix: run the DuckDB build"):
        check_ml_exports(exports, build_info([first], {}))
    exports.mkdir(parents=True)
    (exports / "build.json").write_text(json.dumps(build_info([first], {"churn_horizon_days": 90})))
    check_ml_exports(exports, build_info([first], {"churn_horizon_days": 90, "csv_delimiter": ";"}))
    with pytest.raises(UsageError, match="other input files"):
        check_ml_exports(exports, build_info([second], {"churn_horizon_days": 90}))
    with pytest.raises(UsageError, match=r"other options \(dbt vars\)"):
        check_ml_exports(exports, build_info([first], {"churn_horizon_days": 60}))


def test_the_spark_target_without_the_extra_says_how_to_install_it(monkeypatch):
    import retention.targets.spark as spark_target
    from retention.config import UsageError

    monkeypatch.setattr(spark_target, "_has_module", lambda name: name == "pyspark")
    with pytest.raises(UsageError, match=r"needs dbt-spark, .*make spark-setup"):
        spark_target.check_prerequisites()
