"""What several test files need: the paths, a build run as a user runs it, read-only queries, and a
small shop's transactions worked by hand. Tests import this module; no test imports another."""
from __future__ import annotations

import csv
import gzip
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail.csv.gz"
ONLINE_RETAIL_II = SHARED_DATA / "online_retail_ii.csv.gz"

CANONICAL_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                    "UnitPrice", "CustomerID", "Country"]
# A small shop worked by hand. Customer 100 orders three times, returns once;
# customer 200 orders once; the rest is mess that staging must reject with a reason.
HAND_ROWS = [
    ["1001", "A1", "MUG", "2", "2024-01-05 10:00:00", "3.50", "100", "France"],
    ["1001", "B2", "PLATE", "1", "2024-01-05 10:00:00", "10.00", "100", "France"],
    ["1002", "A1", "MUG", "4", "2024-02-10 11:00:00", "3.50", "100.0", "France"],
    ["C1003", "A1", "MUG", "-1", "2024-02-12 09:00:00", "3.50", "100", "France"],
    ["1004", "POST", "POSTAGE", "1", "2024-03-01 12:00:00", "5.00", "100", "France"],
    ["1004", "B2", "PLATE", "2", "2024-03-01 12:00:00", "10.00", "100", "France"],
    ["1005", "A1", "MUG", "1", "2024-03-03 08:00:00", "3.50", "200", "Spain"],
    ["1005", "A1", "MUG", "1", "2024-03-03 08:00:00", "3.50", "200", "Spain"],    # duplicate
    ["1006", "A1", "MUG", "1", "2024-03-04 08:00:00", "3.50", "", "Spain"],       # no customer
    ["A1007", "B", "Adjust bad debt", "1", "2024-03-05 08:00:00", "-50", "", ""],  # adjustment
    ["1008", "A1", "MUG", "two", "2024-03-05 08:00:00", "3.50", "300", "Spain"],  # bad quantity
    ["1009", "A1", "MUG", "1", "yesterday", "3.50", "300", "Spain"],              # bad date
    ["1010", "A1", "MUG", "1", "2024-03-06 08:00:00", "£3", "300", "Spain"],      # bad price
    ["1011", "A1", "MUG", "1.5", "2024-03-06 08:00:00", "3.50", "300", "Spain"],  # fractional qty
    ["", "A1", "MUG", "1", "2024-03-06 08:00:00", "3.50", "300", "Spain"],        # no invoice
]
HAND_REASONS = {8: "duplicate", 9: "missing_customer", 10: "adjustment", 11: "invalid_quantity",
                12: "invalid_invoice_date", 13: "invalid_unit_price", 14: "invalid_quantity",
                15: "missing_invoice_no"}


def write_csv(path, header, rows, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_build(transactions: Path | str, warehouse_dir: Path, *args: str,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run `retention build` as a user would (no docs, no report unless asked); the finished process."""
    command = [sys.executable, "-m", "retention", "build", "--transactions", str(transactions),
               "--warehouse-dir", str(warehouse_dir), "--no-docs", "--no-report", *args]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"build failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def build_warehouse(transactions: Path | str, warehouse_dir: Path, *args: str) -> Path:
    run_build(transactions, warehouse_dir, *args)
    return warehouse_dir / "retention.duckdb"


def query(db: Path, sql: str, params: list | None = None):
    """Run one query on a read-only connection and return a DataFrame."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def copy_warehouse(db: Path, folder: Path) -> Path:
    """A copy of a built warehouse folder that a server can serve: the file and its build's models."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, folder / "retention.duckdb")
    build_id = query(db, "select any_value(build_id) as b from ml.model_artifacts").b[0]
    shutil.copytree(db.parent / "models" / build_id, folder / "models" / build_id)
    return folder / "retention.duckdb"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, *args: str, timeout: float = 90.0):
    """`retention serve` on a free port of 127.0.0.1, as a user starts it; (process, base URL) once
    /health answers."""
    import time
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "retention", "serve", "--warehouse-dir", str(folder),
                             "--port", str(port), "--poll-seconds", "0.2", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"retention serve exited {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"retention serve did not answer within {timeout}s:\n{proc.stdout.read()[-3000:]}")
