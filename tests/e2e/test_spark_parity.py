"""The same job, DuckDB or Spark: the same tables, Python steps included.

One small generated shop (20,000 rows of 200 customers in two overlapping CSV files, plus
hand-written messy lines: spreadsheet dates, bad numbers, placeholders, quoted delimiters,
duplicates; and two past campaigns with a holdout, so the churn scores and values at contact
and the uplift model are compared too) is built twice, into two empty warehouse folders: on DuckDB (the whole job in one
file) and on the `spark` target (local pyspark: dbt builds staging -> features, the Python steps
fit on the driver and score on the executors, dbt builds the ml tables and marts; no DuckDB
file, no export). Every table and view both build, every ml table and mart included, must hold
the same rows: strings, integers, booleans and dates exactly, floating-point numbers to a
relative 1e-9 (RELATIVE_TOLERANCE; the README says why any difference remains). Skipped, with the
reason, where pyspark/dbt-spark or Java 17 is missing (`make spark-setup` installs the extra);
with CI=true a missing prerequisite fails the test, since .ci/run installs both.
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
import pandas as pd
import pytest

from helpers import REPO, run_build

# Built only on DuckDB: the Python steps' packed fits (the ml tables unpacked from them are
# compared like every other table), and what the DuckDB runner records for the next build's
# refresh (Spark builds in full).
DUCKDB_ONLY = {"ml.churn_fit": "packed Python artifact", "ml.segment_fit": "packed Python artifact",
               "ml.clv_fit": "packed Python artifact", "ml.value_fit": "packed Python artifact",
               "ml.uplift_fit": "packed Python artifact",
               "staging.input_files": "refresh record", "staging.staging_config": "refresh record"}
# Compared on some columns only: each build saves its models under its own build id, and the
# pickled files differ in their bytes where a fitted float differs in the last place (the
# model's metrics are compared to the tolerance by test_both_builds_saved_the_same_models).
STABLE_COLUMNS = {"ml.model_artifacts": ("model_kind", "model_name", "file_name", "features", "library_versions")}
# Floats may differ where an engine adds numbers in another order (an average over customers,
# a running sum): a few units in the last place, far below this.
RELATIVE_TOLERANCE = 1e-9
# pyspark warns about pandas 3 on import
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


def _parity_input(folder: Path) -> tuple[list[Path], Path]:
    """The demo generator's shop as two overlapping CSV exports, the messy lines in the second,
    and its past campaigns' assignments."""
    from retention.demo import generate
    from retention.demo.campaigns import CampaignSpec

    generated, campaigns = folder / "generated.csv", folder / "campaigns.csv"
    # 200 customers: enough buyers in each split for the value model (60 gave 23 in its test split)
    generate(str(generated), rows=20_000, seed=11, customers=200, campaigns=CampaignSpec(output=str(campaigns)))
    header, *lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)
    # read as one, in order; the second repeats the last 20 lines of the first (an overlapping
    # later export: those rows are duplicates), then the messy lines
    files = [folder / "2010.csv", folder / "2011.csv"]
    middle = len(lines) // 2
    files[0].write_text(header + "".join(lines[:middle]), encoding="utf-8")
    files[1].write_text(header + "".join(lines[middle - 20:]), encoding="utf-8")
    with open(files[1], "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(MESSY_ROWS)
    generated.unlink()
    return files, campaigns


@pytest.fixture(scope="module")
def parity_builds(tmp_path_factory):
    """(DuckDB file, folder of every Spark table and view as Parquet, Spark folder, seconds of
    the Spark build, its output) of one input built into two empty folders."""
    reason = _spark_missing()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"CI installs the Spark extra and Java (.ci/run), yet: {reason}")
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("spark_parity")
    files, campaigns = _parity_input(folder)
    duck_warehouse, spark_warehouse = folder / "duckdb_warehouse", folder / "spark_warehouse"
    # the uplift model fitted on a small shop (at its lowest minimum), so its tables have rows
    inputs = [arg for path in files for arg in ("--transactions", str(path))]
    inputs += ["--campaigns", str(campaigns), "--vars", "{uplift_min_customers: 20}"]
    # the two builds at once (the Spark build waits on its many small jobs more than it computes)
    started = time.monotonic()
    spark_build = subprocess.Popen([sys.executable, "-m", "retention", "build", "--target", "spark", *inputs,
                                    "--warehouse-dir", str(spark_warehouse)],
                                   cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_build(files[0], duck_warehouse, *inputs[2:])
    except BaseException:
        spark_build.kill()
        spark_build.wait()
        raise
    stdout, stderr = spark_build.communicate()
    seconds = time.monotonic() - started
    proc = subprocess.CompletedProcess(spark_build.args, spark_build.returncode, stdout, stderr)
    if proc.returncode != 0:
        raise AssertionError(f"Spark build failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n"
                             f"{proc.stderr[-3000:]}")
    # every table and view as Spark itself reads it, written out as Parquet for DuckDB
    from retention.targets.spark import spark_relations, spark_session

    spark_dir, exported = spark_warehouse / "spark", folder / "spark_relations"
    session = spark_session(spark_dir)
    try:
        for schema, name, _ in spark_relations(session):
            session.table(f"{schema}.{name}").write.parquet(str(exported / f"{schema}.{name}"))
        sampled = _sampled_on_spark(session)
        comments = {row.col_name: row.comment
                    for row in session.sql("describe table staging.stg_transactions_rejected").collect()}
    finally:
        session.stop()
    yield {"duckdb": duck_warehouse / "retention.duckdb", "exported": exported, "spark_dir": spark_dir,
           "seconds": seconds, "output": proc.stdout, "sampled": sampled, "comments": comments,
           "log": (spark_warehouse / "logs" / "build-spark.log").read_text(encoding="utf-8", errors="replace")}
    shutil.rmtree(folder, ignore_errors=True)


def _sampled_on_spark(session) -> tuple[list[str], list[str]]:
    """(customer_ids that Spark takes at the positions of a fixed-seed sample of 100 customers,
    those that pandas' sample of the same customers ordered by customer_id takes): the value
    model's BG/NBD candidate is fitted on such a sample past 50,000 customers."""
    from models_py.snapshots import sample, sample_positions
    from retention.targets.spark_ml import rows_at_positions

    customers = session.table("features.customer_features").select("customer_id", "monetary")
    everyone = customers.toPandas().sort_values("customer_id", kind="mergesort").reset_index(drop=True)
    taken = rows_at_positions(session, customers, sample_positions(len(everyone), 100, 42)).toPandas()
    return list(taken["customer_id"]), list(sample(everyone, 100, 42)["customer_id"])


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


def compare_table(con, duck_sql: str, spark_sql: str, largest: dict | None = None) -> str | None:
    """None when both queries hold the same rows; else what differs (column, row, values).
    ``largest`` gets the largest relative difference of each float column that differs at all."""
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
            if same and kinds[column] == "number" and largest is not None and a is not None and a != b:
                a, b = float(a), float(b)
                if not (math.isnan(a) and math.isnan(b)):
                    largest[column] = max(largest.get(column, 0.0), abs(a - b) / max(abs(a), abs(b)))
            if not same:
                return (f"column {column}: DuckDB {a!r}, Spark {b!r} in the row "
                        f"{dict(zip(duck_columns, duck_row))}")
    return None


def _duckdb_tables(con) -> list[str]:
    return [f"{s}.{t}" for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'duck' union all "
        "select schema_name, view_name from duckdb_views() where database_name = 'duck' and not internal "
        "order by 1, 2").fetchall()]


def test_every_table_built_on_both_targets_has_the_same_content(parity_builds):
    duck_db, exported = parity_builds["duckdb"], parity_builds["exported"]
    con = duckdb.connect()
    con.execute(f"attach '{duck_db}' as duck (read_only)")
    duck_tables = _duckdb_tables(con)
    spark_tables = {d.name: d for d in exported.iterdir()}
    missing = sorted(set(duck_tables) - set(spark_tables) - set(DUCKDB_ONLY))
    assert not missing, f"built on DuckDB but not on Spark: {missing}"
    differences, compared, largest = {}, {}, {}
    for table in duck_tables:
        if table in DUCKDB_ONLY:
            continue
        schema, name = table.split(".")
        columns = ", ".join(STABLE_COLUMNS.get(table, ("*",)))
        spark_sql = f"select {columns} from read_parquet('{spark_tables[table] / '*.parquet'}')"
        largest[table] = {}
        problem = compare_table(con, f'select {columns} from duck."{schema}"."{name}"', spark_sql, largest[table])
        if problem:
            differences[table] = problem
        compared[table] = con.execute(f'select count(*) from duck."{schema}"."{name}"').fetchone()[0]
    print("compared (table: rows):", json.dumps(compared, indent=1))
    print("floats that differ at all (table: column: largest relative difference):",
          json.dumps({t: c for t, c in largest.items() if c}, indent=1))
    assert not differences, "tables differ between DuckDB and Spark:\n" + "\n".join(
        f"  {table}: {problem}" for table, problem in differences.items())
    # the comparison saw real content: messy rows, every ml table, every mart
    assert compared["staging.base_transactions"] > 20_000 and compared["staging.base_transaction_lines"] > 20_000
    files = con.execute("select source_file, min(raw_row_id), max(raw_row_id) from duck.staging.base_transactions "
                        "group by 1 order by 2").fetchall()
    assert [f[0] for f in files] == ["2010.csv", "2011.csv"] and files[0][2] + 1 == files[1][1]
    reasons = {r[0] for r in con.execute(
        "select distinct rejection_reason from duck.staging.stg_transactions_rejected").fetchall()}
    assert {"invalid_invoice_date", "implausible_date", "invalid_quantity", "invalid_unit_price",
            "adjustment", "missing_customer", "duplicate", "missing_stock_code",
            "missing_invoice_no"} <= reasons
    ml_tables = {t for t in duck_tables if t.startswith("ml.") and t not in DUCKDB_ONLY}
    assert len(ml_tables) >= 21 and all(compared[t] > 0 for t in ml_tables), {t: compared[t] for t in ml_tables}
    assert len([t for t in duck_tables if t.startswith("marts.")]) >= 12
    assert compared["marts.campaign_results"] > 0 and compared["ml.churn_scores_at_contact"] > 0
    customers = compared["features.customer_features"]
    assert customers >= 150
    for table in ("ml.churn_scores", "ml.customer_value", "ml.customer_clv", "ml.customer_segments",
                  "marts.customer_decisions", "marts.retention_plan"):
        assert compared[table] == customers, table


def test_the_same_models_are_chosen_with_the_same_parameters(parity_builds):
    """Spelled out, the decisions the comparison above covers: each engine's own record of the
    chosen churn model, calibration, threshold, value method, segment count and BG/NBD fit."""
    duck_db, exported = parity_builds["duckdb"], parity_builds["exported"]
    con = duckdb.connect()
    con.execute(f"attach '{duck_db}' as duck (read_only)")

    def on_both(sql: str) -> tuple[list, list]:
        spark = sql
        for table in ("churn_model_metrics", "value_model_metrics", "segment_k_selection", "clv_parameters"):
            spark = spark.replace(f"ml.{table}", f"read_parquet('{exported / ('ml.' + table) / '*.parquet'}')")
        return con.execute(sql.replace("ml.", "duck.ml.")).fetchall(), con.execute(spark).fetchall()

    # one chosen candidate model, and one chosen calibration option (model 'calibration:<option>')
    for sql in ("select model from ml.churn_model_metrics where metric = 'is_chosen' and value = 1 "
                "and model not like 'calibration:%'",
                "select model from ml.churn_model_metrics where metric = 'is_chosen' and value = 1 "
                "and model like 'calibration:%'",
                "select detail from ml.churn_model_metrics where metric = 'calibration_method'",
                "select model from ml.value_model_metrics where metric = 'is_chosen' and value = 1",
                "select k from ml.segment_k_selection where is_chosen"):
        duck, spark = on_both(sql)
        assert duck == spark and len(duck) == 1, (sql, duck, spark)
    for sql in ("select value from ml.churn_model_metrics where metric = 'threshold'",
                "select value from ml.clv_parameters where model = 'bgnbd' and name in ('r', 'alpha', 'a', 'b') "
                "order by name"):
        duck, spark = on_both(sql)
        assert len(duck) == len(spark) > 0
        assert all(math.isclose(a[0], b[0], rel_tol=RELATIVE_TOLERANCE) for a, b in zip(duck, spark)), (duck, spark)


def test_the_spark_build_needs_no_duckdb_and_ran_the_python_steps_on_spark(parity_builds):
    exported, spark_dir = parity_builds["exported"], parity_builds["spark_dir"]
    seconds, output = parity_builds["seconds"], parity_builds["output"]
    warehouse = spark_dir.parent
    assert not list(warehouse.rglob("*.duckdb*")) and not (warehouse / "exports").exists()
    steps = json.loads((spark_dir / "python_steps.json").read_text())
    print(f"Spark build {seconds:.0f}s, Python steps {steps['seconds']:.0f}s:", json.dumps(steps["steps"], indent=1))
    by_name = {step["name"]: step for step in steps["steps"]}
    assert list(by_name) == ["churn", "clv", "value", "segments", "uplift", "artifacts"]
    customers = len(pd.read_parquet(exported / "features.customer_features"))
    assert by_name["churn"]["rows"]["churn_scores"] == by_name["value"]["rows"]["customer_value"] == customers
    assert by_name["clv"]["rows"]["customer_clv"] == by_name["segments"]["rows"]["customer_segments"] == customers
    # the ml tables are dbt models over what the steps wrote (schema ml_steps), with their tests
    assert (exported / "ml_steps.churn_scores").exists() and (exported / "ml.churn_scores").exists()
    assert "Python steps: fit on the driver, score on the Spark executors" in output


def test_both_builds_saved_the_same_models(parity_builds):
    """Each build saved its churn, value and segment models with their metrics (ml.model_artifacts),
    and the Spark build's saved churn scorer gives a customer the probability Spark stored for them,
    exactly: a Spark build is scored later as a DuckDB build is (retention serve)."""
    from models_py.persistence import load_model
    from models_py.snapshots import prepare_features

    duck_db, exported, spark_dir = parity_builds["duckdb"], parity_builds["exported"], parity_builds["spark_dir"]
    con = duckdb.connect()
    con.execute(f"attach '{duck_db}' as duck (read_only)")
    duck = con.execute("select * from duck.ml.model_artifacts order by model_kind").df()
    spark = con.execute(f"select * from read_parquet('{exported / 'ml.model_artifacts' / '*.parquet'}') "
                        "order by model_kind").df()
    assert list(spark["model_kind"]) == ["churn", "segments", "value"] == list(duck["model_kind"])
    assert spark["build_id"].nunique() == 1 and spark["build_id"].iloc[0] != duck["build_id"].iloc[0]
    for (_, a), (_, b) in zip(duck.iterrows(), spark.iterrows()):
        ours, theirs = json.loads(a["metrics"]), json.loads(b["metrics"])
        assert ours.keys() == theirs.keys(), a["model_kind"]
        for key, value in ours.items():
            same = (math.isclose(value, theirs[key], rel_tol=RELATIVE_TOLERANCE)
                    if isinstance(value, float) else value == theirs[key])
            assert same, (a["model_kind"], key, value, theirs[key])
    folder = spark_dir / "models" / spark["build_id"].iloc[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{kind}.{ext}" for kind in ("churn", "value", "segments") for ext in ("joblib", "json"))
    scorer = load_model(folder, spark.set_index("model_kind").loc["churn"].to_dict())
    features = pd.read_parquet(exported / "features.customer_features").sort_values("customer_id").head(5)
    stored = pd.read_parquet(exported / "ml.churn_scores").set_index("customer_id")["churn_probability"]
    scored = scorer.score(prepare_features(features, "customer_features"))
    assert list(scored["churn_probability"]) == list(stored.loc[list(scored["customer_id"])])


def test_the_spark_build_ran_the_data_tests_and_unit_tests(parity_builds):
    spark_dir = parity_builds["spark_dir"]
    results = []
    for name in ("run_results.sql_layers.json", "run_results.json"):  # staging -> features, then ml -> marts
        results += json.loads((spark_dir / "dbt_target" / name).read_text())["results"]
    by_kind: dict[str, list[str]] = {}
    for result in results:
        by_kind.setdefault(result["unique_id"].split(".")[0], []).append(result["status"])
    print(f"nodes by kind: { {k: len(v) for k, v in by_kind.items()} }")
    assert len(by_kind.get("unit_test", [])) >= 6 and set(by_kind["unit_test"]) == {"pass"}
    assert set(by_kind["test"]) == {"pass"}
    # every data test of the project on this target ran: the column rules too (one column_checks per model)
    manifest = json.loads((spark_dir / "dbt_target" / "manifest.json").read_text())
    built = {r["unique_id"] for r in results if r["unique_id"].startswith(("model.", "seed."))}
    tests = {key for key, node in manifest["nodes"].items() if node["resource_type"] == "test"
             and node["config"]["enabled"]}  # not: on a model disabled on this target (the ml/*_fit.py)
    assert all({d for d in manifest["nodes"][t]["depends_on"]["nodes"] if not d.startswith("source.")} <= built
               for t in tests)
    assert {r["unique_id"] for r in results if r["unique_id"].startswith("test.")} == tests
    assert len(tests) > 150 and sum(".column_checks_" in key for key in tests) > 50
    assert set(by_kind["model"]) == {"success"}
    models = {r["unique_id"] for r in results if r["unique_id"].startswith("model.")}
    assert {"model.retention.churn_scores", "model.retention.customer_clv", "model.retention.retention_plan",
            "model.retention.stg_transactions"} <= models


def test_spark_takes_the_sample_pandas_takes_by_position(parity_builds):
    on_spark, in_pandas = parity_builds["sampled"]
    assert on_spark == in_pandas and len(on_spark) == 100 and on_spark == sorted(on_spark)


def test_a_python_step_that_fails_on_spark_is_named_with_the_fix(tmp_path):
    from retention.config import UsageError
    from retention.targets.spark import _explain_failure

    (tmp_path / "python_steps.json").write_text(json.dumps(
        {"error": "ValueError: too few buyers in the test split of the value model (23; need 50): provide more "
                  "history or customers"}))
    message = str(_explain_failure(UsageError("dbt build failed (exit 1)"), tmp_path))
    assert "A Python step failed on Spark: ValueError: too few buyers" in message and "--skip-ml" in message


def test_the_spark_target_without_the_extra_says_how_to_install_it(monkeypatch):
    import retention.targets.spark as spark_target
    from retention.config import UsageError

    monkeypatch.setattr(spark_target, "_has_module", lambda name: name == "pyspark")
    with pytest.raises(UsageError, match=r"needs dbt-spark, .*make spark-setup"):
        spark_target.check_prerequisites()


def test_long_column_descriptions_reach_the_metastore_cut_to_its_limit_without_retries(parity_builds):
    """Derby's COLUMNS_V2.COMMENT holds 256 characters: a view whose column description is longer
    failed there and the Hive client retried it 10 times, 2 s apart. The metastore gets the
    description cut (the docs site keeps it whole) and no retry is logged."""
    manifest = json.loads((parity_builds["spark_dir"] / "dbt_target" / "manifest.json").read_text())
    description = manifest["nodes"]["model.retention.stg_transactions_rejected"]["columns"]["rejection_reason"][
        "description"].strip()
    comment = parity_builds["comments"]["rejection_reason"]
    assert len(description) > 256
    assert len(comment) == 256 and comment == description[:255] + "…"
    assert "Retrying HMSHandler" not in parity_builds["log"] and "COLUMNS_V2" not in parity_builds["log"]
