"""Shared fixtures: real warehouses built by the real command into temporary folders."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail.csv.gz"
ONLINE_RETAIL_II = SHARED_DATA / "online_retail_ii.csv.gz"

sys.path.insert(0, str(REPO))


def run_build(transactions: Path | str, warehouse_dir: Path, *args: str,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run scripts/run_warehouse.py as a user would; returns the finished process."""
    command = [sys.executable, str(REPO / "scripts" / "run_warehouse.py"),
               "--transactions", str(transactions), "--warehouse-dir", str(warehouse_dir),
               "--no-docs", "--no-report", *args]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"build failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def build_warehouse(transactions: Path | str, warehouse_dir: Path, *args: str) -> Path:
    run_build(transactions, warehouse_dir, *args)
    return warehouse_dir / "retention.duckdb"


def query(db: Path, sql: str):
    """Run one query on a read-only connection and return a DataFrame."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_transactions(tmp_path_factory) -> Path:
    """A generated transactions file (Parquet), small enough for a fast suite."""
    from retention.demo import generate

    path = tmp_path_factory.mktemp("demo_data") / "transactions.parquet"
    generate(str(path), rows=60_000, seed=7)
    return path


@pytest.fixture(scope="session")
def demo_db(demo_transactions, tmp_path_factory) -> Path:
    return build_warehouse(demo_transactions, tmp_path_factory.mktemp("demo_wh"))


@pytest.fixture(scope="session")
def online_retail_db(tmp_path_factory) -> Path:
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"{ONLINE_RETAIL} is absent (it ships in ../shared/data beside the repo, not in the repo)")
    return build_warehouse(ONLINE_RETAIL, tmp_path_factory.mktemp("online_retail_wh"))
