"""Command line of the demo-data generator (``scripts/generate_transactions.py``)."""
from __future__ import annotations

import argparse
import os

from .campaigns import CampaignSpec, default_contact_days
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
    ap.add_argument("--campaigns", type=int, default=0, metavar="N",
                    help="also simulate N past campaigns with a random holdout and a known effect (default 0: none)")
    ap.add_argument("--campaigns-output", default=None, metavar="PATH",
                    help="where the campaigns' assignments go (default: campaigns.csv beside --output)")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def campaign_spec(count: int, output: str, campaigns_output: str | None) -> CampaignSpec | None:
    """The campaigns to simulate (None for 0), their assignments written beside the data by default."""
    if not count:
        return None
    path = campaigns_output or os.path.join(os.path.dirname(os.path.abspath(output)), "campaigns.csv")
    return CampaignSpec(output=path, contact_days_before_end=default_contact_days(count))


def main(argv=None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), generate the file, print a one-line summary; returns 0."""
    a = _parser().parse_args(argv)
    spec = campaign_spec(a.campaigns, a.output, a.campaigns_output)
    s = generate(a.output, a.rows, seed=a.seed, start_date=a.start_date, months=a.months,
                 chunk_rows=a.chunk_rows, customers=a.customers, progress=not a.quiet, campaigns=spec)
    rate = s["rows"] / max(s["seconds"], 1e-9)
    print(f"wrote {s['rows']:,} rows, {s['invoices']:,} invoices, {s['customers']:,} customers "
          f"({s['first_invoice_date']} .. {s['last_invoice_date']}) to {s['output']} "
          f"in {s['seconds']:.1f}s ({rate:,.0f} rows/s)")
    for c in s.get("campaigns", []):
        print(f"campaign {c['campaign_id']}: {c['customers']:,} customers ({c['treated']:,} treated, "
              f"{c['control']:,} control), true uplift {c['true_uplift']:.3f} -> {spec.output}")
    return 0
