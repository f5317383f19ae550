"""Safe rebuilds: a BI tool may hold the warehouse open while it is rebuilt.

- a build replaces the warehouse in one atomic rename, only after every model and test passed;
- a killed build leaves the previous warehouse untouched and does not break the next build;
- a read-only reader is never blocked by a rebuild and never sees half a build;
- the file is readable by DuckDB 1.x;
- two builds of the same input are identical, table by table;
- several overlapping input files give the same facts as one combined file;
- nothing is fetched from the network at build time.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from helpers import CANONICAL_HEADER, HAND_ROWS, REPO, build_warehouse, query, run_build, write_csv

RUNNER = REPO / "scripts" / "run_warehouse.py"
# More of the same shop: a later order of customer 300, so a rebuild is visibly different.
MORE_ROWS = HAND_ROWS + [["1012", "A1", "MUG", "3", "2024-03-07 08:00:00", "3.50", "300", "Spain"]]
NETWORK_GUARD = textwrap.dedent("""
    # Loaded by every Python process of the build (PYTHONPATH): records and refuses any
    # attempt to open a network connection.
    import os, socket
    _log = os.environ["NETWORK_GUARD_LOG"]
    _connect = socket.socket.connect
    def _guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            with open(_log, "a") as handle:
                handle.write(f"{os.getpid()} connect {address}\\n")
            raise OSError("network access is disabled in this test")
        return _connect(self, address)
    socket.socket.connect = _guarded
    socket.socket.connect_ex = lambda self, address: _guarded(self, address)
""")


def runner_command(transactions, warehouse_dir, *args):
    return [sys.executable, str(RUNNER), "--transactions", str(transactions),
            "--warehouse-dir", str(warehouse_dir), "--no-docs", "--no-report", "--skip-ml", *args]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clean_rows(db: Path) -> int:
    return int(query(db, "select count(*) as n from staging.stg_transactions").n[0])


@pytest.fixture(scope="module")
def first_build(tmp_path_factory):
    """A small warehouse, built with every Python-level network connection refused."""
    folder = tmp_path_factory.mktemp("safe")
    guard = folder / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    log = folder / "network.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")])),
           "NETWORK_GUARD_LOG": str(log)}
    source = write_csv(folder / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    proc = subprocess.run(runner_command(source, folder / "wh"), cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"db": folder / "wh" / "retention.duckdb", "log": log, "folder": folder}


def copy_of_first_build(first_build, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(first_build["db"], folder / "retention.duckdb")
    return folder / "retention.duckdb"


def test_a_build_fetches_nothing_from_the_network(first_build):
    assert not first_build["log"].exists(), first_build["log"].read_text()
    profile = yaml.safe_load((REPO / "profiles.yml").read_text())["retention"]["outputs"]["dev"]
    assert profile["config_options"]["autoinstall_known_extensions"] is False  # DuckDB downloads nothing
    assert clean_rows(first_build["db"]) == 7


def _storage_version(db: Path) -> str:
    return query(db, "select tags from duckdb_databases() where database_name = 'retention'").tags[0]["storage_version"]


def test_the_warehouse_is_written_for_duckdb_1_4_readers_or_older_on_request(first_build, tmp_path):
    assert _storage_version(first_build["db"]) == "v1.4.0+"
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    old = build_warehouse(source, tmp_path / "old", "--skip-ml", "--storage-version", "v1.0.0")
    assert _storage_version(old) == "v1.0.0+"
    assert clean_rows(old) == clean_rows(first_build["db"])


def duckdb1_python() -> str | None:
    candidate = os.environ.get("RETENTION_DUCKDB1_PYTHON") or str(REPO / ".venv-duckdb1" / "bin" / "python")
    return candidate if Path(candidate).exists() else None


@pytest.mark.skipif(duckdb1_python() is None,
                    reason="no DuckDB 1.x interpreter: create it with `python3 -m venv .venv-duckdb1 && "
                           ".venv-duckdb1/bin/pip install duckdb==1.4.2` (or set RETENTION_DUCKDB1_PYTHON)")
def test_a_duckdb_1x_reader_opens_every_table(demo_db):
    """Every table of a full build (staging to marts, the Python steps' tables included)."""
    script = textwrap.dedent("""
        import sys, duckdb
        assert duckdb.__version__.startswith("1."), duckdb.__version__
        con = duckdb.connect(sys.argv[1], read_only=True)
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, table in tables:
            con.execute(f'select * from "{schema}"."{table}"').fetchall()
        print(duckdb.__version__, len(tables), con.execute("select count(*) from staging.stg_transactions").fetchone()[0])
    """)
    proc = subprocess.run([duckdb1_python(), "-c", script, str(demo_db)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    version, tables, clean = proc.stdout.split()
    assert int(tables) > 30 and int(clean) == clean_rows(demo_db)


def test_a_reader_holding_the_warehouse_open_never_blocks_a_rebuild(first_build, tmp_path):
    db = copy_of_first_build(first_build, tmp_path / "wh")
    source = write_csv(tmp_path / "more.csv", CANONICAL_HEADER, MORE_ROWS)
    reader = duckdb.connect(str(db), read_only=True)          # a BI tool, connected throughout
    try:
        assert reader.execute("select count(*) from staging.stg_transactions").fetchone()[0] == 7
        with open(tmp_path / "build.out", "w") as sink:
            build = subprocess.Popen(runner_command(source, tmp_path / "wh"), cwd=REPO,
                                     stdout=sink, stderr=subprocess.STDOUT)
            seen = set()
            while build.poll() is None:                      # the reader keeps working meanwhile
                seen.add(reader.execute("select count(*) from staging.stg_transactions").fetchone()[0])
                time.sleep(0.2)
        assert build.returncode == 0, (tmp_path / "build.out").read_text()[-3000:]
        assert seen == {7}                                    # never half a build
        # the old connection still answers, from the build it opened
        assert reader.execute("select count(*) from staging.stg_transactions").fetchone()[0] == 7
    finally:
        reader.close()
    # a new connection (here a new process, as a BI tool's reconnect) sees the new build
    fresh = subprocess.run([sys.executable, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], "
                            "read_only=True).execute('select count(*) from staging.stg_transactions').fetchone()[0])",
                            str(db)], capture_output=True, text=True)
    assert fresh.stdout.strip() == "8", fresh.stderr
    assert not Path(f"{db}.building").exists()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc to find the dbt process")
def test_a_killed_build_leaves_the_previous_warehouse_and_the_next_build_works(first_build, tmp_path):
    folder = tmp_path / "wh"
    db = copy_of_first_build(first_build, folder)
    before = digest(db)
    source = write_csv(tmp_path / "more.csv", CANONICAL_HEADER, MORE_ROWS)
    build = subprocess.Popen(runner_command(source, folder), cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    building = folder / "retention.duckdb.building"
    deadline = time.monotonic() + 120
    while not (building.exists() and building.stat().st_size > 0) and time.monotonic() < deadline:
        assert build.poll() is None, "the build ended before it could be killed"
        time.sleep(0.1)
    time.sleep(1.0)                                         # dbt is writing models now
    dbt = children_of(build.pid)
    assert dbt, "no dbt process under the runner"
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    deadline = time.monotonic() + 30                        # the dbt child dies with its parent
    while any(alive(p) for p in dbt) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in dbt)

    assert digest(db) == before                             # untouched, and queryable
    assert clean_rows(db) == 7
    # the leftover half-built file does not break the next build
    db = build_warehouse(source, folder, "--skip-ml")
    assert clean_rows(db) == 8
    assert not building.exists()


def test_a_second_build_into_the_same_folder_is_refused_while_one_runs(tmp_path):
    folder = tmp_path / "wh"
    folder.mkdir()
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    with open(folder / ".build.lock", "a+") as lock:       # as a running build holds it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run_build(source, folder, "--skip-ml", check=False)
    assert proc.returncode == 2
    assert "another build" in proc.stderr and str(folder) in proc.stderr and "Fix:" in proc.stderr


# A build's identity differs from build to build by design: its id (ml.model_artifacts.build_id, also
# carried in the packed "artifact" row of each *_fit table). Everything else must be identical.
BUILD_IDENTITY = {"ml.model_artifacts": "select * exclude (build_id) from ml.model_artifacts"}


def _rows_of(schema: str, table: str) -> str:
    name = f"{schema}.{table}"
    if name in BUILD_IDENTITY:
        return BUILD_IDENTITY[name]
    if schema == "ml" and table.endswith("_fit"):
        return f"select * from ml.\"{table}\" where output_name <> 'artifact'"
    return f'select * from "{schema}"."{table}"'


def table_hashes(db: Path) -> dict[str, tuple[int, str]]:
    """{schema.table: (rows, hash of the rows in a canonical order)} for every table (the build's
    identity left out, see BUILD_IDENTITY)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_type = 'BASE TABLE' order by 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(
                    f'select count(*), md5(coalesce(string_agg(h, \',\' order by h), \'\')) '
                    f'from (select md5(cast(t as varchar)) as h from ({_rows_of(s, t)}) as t)').fetchone()
                for s, t in tables}
    finally:
        con.close()


def test_two_builds_of_the_same_input_are_identical(demo_transactions, demo_db, tmp_path):
    again = build_warehouse(demo_transactions, tmp_path / "wh")
    first, second = table_hashes(demo_db), table_hashes(again)
    assert set(first) == set(second)
    assert any(name.startswith("ml.") for name in first)
    different = sorted(name for name in first if first[name] != second[name])
    assert not different, f"tables that differ between two builds of the same input: {different}"
    # the identity that differs: each build has its own id and its own model folder
    ids = [query(db, "select distinct build_id from ml.model_artifacts").build_id.tolist() for db in (demo_db, again)]
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]
    for db, (build_id,) in zip((demo_db, again), ids):
        assert sorted(p.name for p in (db.parent / "models" / build_id).iterdir()) == [
            "churn.joblib", "churn.json", "segments.joblib", "segments.json", "value.joblib", "value.json"]


def test_overlapping_files_give_the_same_facts_as_one_combined_file(demo_transactions, demo_db, tmp_path):
    frame = pd.read_parquet(demo_transactions)
    cut = len(frame) // 2
    earlier, later = frame.iloc[: cut + 2_000], frame.iloc[cut:]        # 2,000 rows in both
    earlier.to_parquet(tmp_path / "part_1.parquet", index=False)
    # many row groups: DuckDB reads them in parallel, and raw_row_id must still follow the file
    later.to_parquet(tmp_path / "part_2.parquet", index=False, row_group_size=997)
    proc = run_build(str(tmp_path / "part_*.parquet"), tmp_path / "wh", "--skip-ml")   # a glob
    db = tmp_path / "wh" / "retention.duckdb"
    assert "overlap: " in proc.stdout and "rows of part_2.parquet repeat rows of part_1.parquet" in proc.stdout
    raw = query(db, "select count(*) as n from staging.base_transactions").n[0]
    assert raw == len(frame) + 2_000
    files = query(db, "select source_file, min(raw_row_id) as first, max(raw_row_id) as last "
                      "from staging.base_transactions group by 1 order by 2")
    assert files.values.tolist() == [["part_1.parquet", 1, cut + 2_000], ["part_2.parquet", cut + 2_001, raw]]
    # row by row: raw_row_id n is the n-th row of the files read one after the other
    lines = query(db, "select source_file, invoice_no_raw, stock_code_raw, description_raw "
                      "from staging.base_transaction_lines order by raw_row_id")
    expected = pd.concat([earlier.assign(file="part_1.parquet"), later.assign(file="part_2.parquet")])
    assert lines.source_file.tolist() == expected.file.tolist()
    for column, raw in (("InvoiceNo", "invoice_no_raw"), ("StockCode", "stock_code_raw"),
                        ("Description", "description_raw")):
        assert lines[raw].fillna("<null>").tolist() == expected[column].astype(object).where(
            expected[column].notna(), "<null>").astype(str).tolist(), raw
    stg = "select * exclude (raw_row_id, source_file) from staging.stg_transactions order by all"
    pd.testing.assert_frame_equal(query(demo_db, stg), query(db, stg))
    for table in ("features.customer_rfm", "features.training_snapshots", "features.cohort_retention",
                  "features.customer_btyd_summary"):
        pd.testing.assert_frame_equal(query(demo_db, f"select * from {table} order by all"),
                                      query(db, f"select * from {table} order by all"))
