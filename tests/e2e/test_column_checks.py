"""The column rules (not null, bounds, accepted values, row conditions) are checked by one column_checks test per
model. Broken on purpose in a copy of a built warehouse, each rule must be counted exactly as
pandas counts it, the refresh's `where` must keep the reused rows out, and the build's failure
message must name the column, the rule and the number of rows."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import REPO, query
from retention.dbt_runner import failure_messages
from retention.targets.duckdb import _failing_rows

TESTS = ["column_checks_customer_features_", "column_checks_churn_scores_", "column_checks_base_transaction_lines_"]


def _break(db: Path) -> None:
    con = duckdb.connect(str(db))
    try:
        first = "(select customer_id from features.customer_features order by customer_id limit {n} offset {skip})"
        con.execute(f"update features.customer_features set tenure_days = 0 where customer_id in {first.format(n=3, skip=0)}")
        con.execute(f"update features.customer_features set q4_order_share = 1.5 where customer_id in {first.format(n=2, skip=10)}")
        con.execute(f"update features.customer_features set monetary = null where customer_id in {first.format(n=1, skip=20)}")
        con.execute("update features.customer_features set orders_30d = orders_90d + 1 "
                    f"where customer_id in {first.format(n=2, skip=30)}")  # breaks orders_90d >= orders_30d
        scores = "(select customer_id from ml.churn_scores order by customer_id limit {n} offset {skip})"
        # the probability is strictly inside (0, 1): exactly 1.0 breaks it, 0.5 does not
        con.execute(f"update ml.churn_scores set churn_probability = 1.0 where customer_id in {scores.format(n=2, skip=0)}")
        con.execute(f"update ml.churn_scores set risk_band = 'extreme' where customer_id in {scores.format(n=4, skip=5)}")
        # rows 1-2 stand for a refresh's reused rows (reused_rows = 2 below): only row 3 is checked
        con.execute("update staging.base_transaction_lines set invalid_reason = 'bogus' where raw_row_id in (1, 2, 3)")
    finally:
        con.close()


def _expected(db: Path) -> dict[tuple[str, str, str], int]:
    """The broken rules, counted by pandas on the broken tables."""
    features = query(db, "select * from features.customer_features")
    scores = query(db, "select * from ml.churn_scores")
    lines = query(db, "select raw_row_id, invalid_reason from staging.base_transaction_lines where raw_row_id > 2")
    allowed = {"missing_invoice_no", "missing_stock_code", "invalid_invoice_date", "implausible_date",
               "invalid_quantity", "invalid_unit_price", "adjustment", "missing_customer"}
    p = scores.churn_probability
    counts = {
        ("customer_features", "tenure_days", ">= 1"): int((features.tenure_days < 1).sum()),
        ("customer_features", "q4_order_share", "<= 1"): int((features.q4_order_share > 1).sum()),
        ("customer_features", "monetary", "not null"): int(features.monetary.isna().sum()),
        ("customer_features", "orders_90d", "orders_90d >= orders_30d"): int(
            (~(features.orders_90d >= features.orders_30d)).sum()),
        ("churn_scores", "churn_probability", "< 1"): int((p.notna() & (p >= 1)).sum()),
        ("churn_scores", "risk_band", "one of low, medium, high"): int(
            (scores.risk_band.notna() & ~scores.risk_band.isin(["low", "medium", "high"])).sum()),
        ("base_transaction_lines", "invalid_reason", None): int(
            (lines.invalid_reason.notna() & ~lines.invalid_reason.isin(allowed)).sum()),
    }
    assert list(counts.values()) == [3, 2, 1, 2, 2, 4, 1]  # the breakage took hold as meant
    return counts


def _dbt_test(db: Path, target: Path) -> subprocess.CompletedProcess:
    build_args = json.loads((db.parent / "dbt_target" / "run_results.json").read_text())["args"]
    dbt_vars = {**build_args["vars"], "staging_refresh": {"reused_rows": 2}}
    env = {**os.environ, "RETENTION_DUCKDB_PATH": str(db), "RETENTION_REPO_DIR": str(REPO),
           "DBT_PROFILES_DIR": str(REPO), "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs"),
           "RETENTION_TEMP_DIR": str(target / "tmp"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run([str(dbt), "test", "--project-dir", str(REPO / "dbt_project"), "--vars",
                           json.dumps(dbt_vars), "--select", *TESTS], cwd=REPO, env=env, capture_output=True,
                          text=True)


def test_every_broken_column_rule_is_counted_named_and_reported(demo_db, tmp_path):
    folder = tmp_path / "wh"
    (folder / "dbt_target").mkdir(parents=True)
    db = folder / "retention.duckdb"
    shutil.copy(demo_db, db)
    shutil.copy(demo_db.parent / "dbt_target" / "run_results.json", folder / "dbt_target" / "run_results.json")
    _break(db)
    expected = _expected(db)

    proc = _dbt_test(db, tmp_path / "target")
    assert proc.returncode != 0, proc.stdout[-3000:]
    results = {r["unique_id"].split(".")[2]: r
               for r in json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
               if r["unique_id"].startswith("test.")}
    assert sorted(results) == sorted(TESTS)
    assert all(r["status"] == "fail" for r in results.values()), {k: r["status"] for k, r in results.items()}

    rows_of = _failing_rows(db)
    found = {}
    for name, result in results.items():
        model = name.removeprefix("column_checks_").rstrip("_")
        rows = rows_of(result["compiled_code"])
        assert result["failures"] == sum(r["failing_rows"] for r in rows)  # what dbt reports: rows broken
        for row in rows:
            found[(model, row["column_name"], row["rule"])] = row["failing_rows"]
    lines_rule = next(k for k in found if k[0] == "base_transaction_lines")
    assert lines_rule[1] == "invalid_reason" and lines_rule[2].startswith("one of missing_invoice_no")
    expected[lines_rule] = expected.pop(("base_transaction_lines", "invalid_reason", None))
    assert found == expected  # every broken rule, with pandas' count, and nothing else

    message = failure_messages(tmp_path / "target" / "run_results.json", failing_rows=rows_of)
    assert "column_name = 'tenure_days', rule = '>= 1', failing_rows = 3" in message
    assert "column_name = 'risk_band', rule = 'one of low, medium, high', failing_rows = 4" in message


def test_a_model_with_the_test_but_no_rules_is_a_compile_error(tmp_path):
    """column_checks on a model none of whose columns states a rule names the model and the file."""
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    yml = project / "models" / "marts" / "_marts.yml"
    text = yml.read_text()
    model = "  - name: campaign_sensitivity\n"
    block = text.split(model)[1].split("\n  - name:")[0]
    assert "checks" not in block and "    data_tests:\n" in block  # none of its columns states a rule
    yml.write_text(text.replace(model + block, model + block.replace(
        "    data_tests:\n", "    data_tests:\n      - column_checks\n", 1), 1))
    env = {**os.environ, "RETENTION_DUCKDB_PATH": str(tmp_path / "x.duckdb"), "RETENTION_REPO_DIR": str(REPO),
           "DBT_PROFILES_DIR": str(REPO), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run([str(dbt), "compile", "--project-dir", str(project), "--vars",
                           json.dumps({"transactions_path": "x.parquet"}), "--select",
                           "column_checks_campaign_sensitivity_"], cwd=REPO, env=env, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert ("column_checks on campaign_sensitivity: no column of it has meta.checks" in proc.stdout
            and "models/marts/_marts.yml" in proc.stdout), proc.stdout[-2000:]
