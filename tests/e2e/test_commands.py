"""The README's commands, run as written (with a temporary warehouse folder)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from helpers import CANONICAL_HEADER, HAND_ROWS, REPO, query, write_csv


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_transactions_env_var_make_run_builds_the_users_file(tmp_path):
    source = write_csv(tmp_path / "mine.csv", CANONICAL_HEADER, HAND_ROWS)
    env = {**os.environ, "TRANSACTIONS": str(source), "WAREHOUSE_DIR": str(tmp_path / "wh")}
    proc = subprocess.run(["make", "run", "ARGS=--no-docs --no-report --skip-ml"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"input: {source} (15 rows" in proc.stdout
    db = tmp_path / "wh" / "retention.duckdb"
    assert f"warehouse: {db}" in proc.stdout
    assert query(db, "select count(*) as n from staging.stg_transactions").n[0] == 7
    assert not (tmp_path / "wh" / "retention.duckdb.building").exists()
