"""Command line of the demo-data generator (``scripts/generate_transactions.py``)."""
from __future__ import annotations

import argparse

from .generator import generate

DESCRIPTION = "Deterministic synthetic retail transactions in the UCI Online Retail schema."


def _parser() -> argparse.ArgumentParser:
    """The argument parser (defaults as in ``generate``)."""
    ap = argparse.ArgumentParser(description=DESCRIPTION)
    ap.add_argument("--rows", type=int, default=300_000, help="target row count (default 300000)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--start-date", default="2009-12-01")
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--customers", type=int, default=None,
                    help="number of customers (default rows/124, as in the UCI data)")
    ap.add_argument("--chunk-rows", type=int, default=500_000)
    ap.add_argument("--output", default="warehouse/demo/transactions.parquet",
                    help=".parquet, .csv or .csv.gz")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def main(argv=None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), generate the file, print a one-line summary; returns 0."""
    a = _parser().parse_args(argv)
    s = generate(a.output, a.rows, seed=a.seed, start_date=a.start_date, months=a.months,
                 chunk_rows=a.chunk_rows, customers=a.customers, progress=not a.quiet)
    rate = s["rows"] / max(s["seconds"], 1e-9)
    print(f"wrote {s['rows']:,} rows, {s['invoices']:,} invoices, {s['customers']:,} customers "
          f"({s['first_invoice_date']} .. {s['last_invoice_date']}) to {s['output']} "
          f"in {s['seconds']:.1f}s ({rate:,.0f} rows/s)")
    return 0
