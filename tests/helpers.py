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


# --- campaign experiments: independent computations to check the warehouse against -----------------

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of successes / n, as the two roots in p of
    (successes / n - p)^2 = z^2 p (1 - p) / n (solved as a quadratic, not by the closed form)."""
    import numpy as np

    phat = successes / n
    # (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0
    a, b, c = 1 + Z95 ** 2 / n, -(2 * phat + Z95 ** 2 / n), phat ** 2
    low, high = sorted(np.roots([a, b, c]).real)
    return max(0.0, float(low)), min(1.0, float(high))


def newcombe_interval(x_t: int, n_t: int, x_c: int, n_c: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) of x_t / n_t - x_c / n_c."""
    p_t, p_c = x_t / n_t, x_c / n_c
    (l_t, u_t), (l_c, u_c) = wilson_interval(x_t, n_t), wilson_interval(x_c, n_c)
    d = p_t - p_c
    return d - ((p_t - l_t) ** 2 + (u_c - p_c) ** 2) ** 0.5, d + ((u_t - p_t) ** 2 + (p_c - l_c) ** 2) ** 0.5


def qini_coefficient_by_loop(rows: list[tuple[float, str, int, int]]) -> float:
    """Qini coefficient of (score, tie key, is_treated, is_retained) rows, written as a plain loop:
    best score first (ties by key); at depth k, R_T - R_C x N_T / N_C (0 without control yet), as a
    share of all treated; area by trapezoids over k / n, minus the random line's."""
    ordered = sorted(rows, key=lambda r: (-r[0], r[1]))
    n, treated_total = len(ordered), sum(r[2] for r in ordered)
    n_t = n_c = r_t = r_c = 0
    previous, area = 0.0, 0.0
    for t, y in ((r[2], r[3]) for r in ordered):
        n_t, n_c = n_t + t, n_c + (1 - t)
        r_t, r_c = r_t + t * y, r_c + (1 - t) * y
        q = (r_t - r_c * n_t / n_c) / treated_total if n_c else 0.0
        area += (previous + q) / 2 / n
        previous = q
    return area - previous / 2
