"""``generate``: the whole run -- set-up, calibration, month loop, summary."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .budget import monthly_targets, row_budget
from .campaigns import CampaignSpec, simulate_campaigns, write_assignments
from .cancellations import c_empty, carry_over
from .catalogue import build_catalogue, country_names
from .customers import calibrate, default_customers, draw_customers, iter_purchases
from .dates import SEASON, business_times, period
from .invoices import emit, kinds_before, plan_month
from .params import CUSTOMER_LINES_PER_INVOICE, DAY, SUB_BATCH
from .randomness import make_rng
from .writer import Writer


def _check_arguments(rows, chunk_rows, customers):
    """Validated (rows, chunk_rows, customer count); raises ValueError."""
    rows = int(rows)
    chunk_rows = int(chunk_rows)
    if rows < 1000:
        raise ValueError("rows must be >= 1000")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    n_cust = default_customers(rows) if customers is None else int(customers)
    if n_cust < 1:
        raise ValueError("customers must be >= 1")
    return rows, chunk_rows, n_cust


def _setup(rows, seed, start_date, months, n_cust):
    """Generation context and the purchase process, all random draws up to the month loop.

    Returns (ctx, sim) where ``ctx`` holds what the month plans and lines need
    (catalogue, customers, rng, targets, hash key, period, adjustments, state)
    and ``sim`` the arguments of iter_purchases plus ``n_adjust``.
    """
    root = np.random.SeedSequence(seed)
    s_cat, s_cust, s_sim, s_rest = root.spawn(4)
    start_epoch_day, edge_days, seg_month = period(start_date, months)
    n_days = int(edge_days[-1])
    edges_sec = edge_days.astype(np.float64) * DAY
    season = np.array([SEASON[mo] for mo in seg_month])
    cust = draw_customers(make_rng(s_cust), n_cust, float(edges_sec[-1]))
    rng = make_rng(s_rest)
    budget = row_budget(rows, n_cust)
    n_adjust = budget["n_adjust"]
    scale, counts = calibrate(s_sim, cust, edges_sec, season,
                              max(budget["cust_lines"] / CUSTOMER_LINES_PER_INVOICE, float(n_cust)))
    targets = monthly_targets(rows, budget, counts)
    a_time = np.sort(business_times(rng, rng.random(n_adjust) * edges_sec[-1],
                                    start_epoch_day, 0, n_days - 1))
    ctx = dict(
        cat=build_catalogue(make_rng(s_cat)), cust=cust, rng=rng, targets=targets,
        hash_key=int(root.generate_state(2, np.uint64)[0]),
        start_epoch_day=start_epoch_day, n_days=n_days, edge_days=edge_days,
        a_time=a_time, a_price=np.round(rng.lognormal(8.5, 0.6, n_adjust), 2),
        countries=country_names(),
        state=dict(inv_no=0),
    )
    sim = dict(seq=s_sim, scale=scale, edges_sec=edges_sec, season=season, n_adjust=n_adjust)
    return ctx, sim


class _Progress:
    """Progress lines on stderr, at most every ~2 s and only after a write to the file."""

    def __init__(self, enabled: bool, rows: int, t0: float):
        self.enabled, self.rows, self.t0, self.last = enabled, rows, t0, t0

    def update(self, flushed: bool, done: int):
        now = time.perf_counter()
        if self.enabled and flushed and now - self.last >= 2.0:
            self.last = now
            print(f"generate_transactions: {done:,} rows "
                  f"({100.0 * done / self.rows:.1f}%) {now - self.t0:.1f}s",
                  file=sys.stderr, flush=True)


def _write_month(ctx, mp, writer, totals, progress):
    """Emit the month plan's lines in pieces that fill the writer's row groups.

    Each piece holds at least one whole invoice; ``totals`` is updated.
    """
    n_inv = len(mp["kind"])
    kb = kinds_before(mp["kind"])
    cum = np.concatenate([[0], np.cumsum(mp["lines"])])
    i0 = 0
    while i0 < n_inv:
        i1 = int(np.searchsorted(cum, cum[i0] + min(writer.room(), SUB_BATCH * 4), side="right")) - 1
        i1 = min(max(i1, i0 + 1), n_inv)
        table, cnt = emit(ctx, mp, i0, i1, kb)
        for k, v in cnt.items():
            totals[k] += v
        totals["rows"] += table.num_rows
        flushed = writer.write(table)
        del table
        i0 = i1
        progress.update(flushed, totals["rows"])


def _run_months(ctx, sim, writer, progress, purchases):
    """Plan and write every month of ``purchases`` (month, times, customers); returns (totals,
    customers seen, first and last invoice time)."""
    cust = ctx["cust"]
    st = dict(gid=0, cseq=0, clid=0, pending=c_empty())
    totals = dict(rows=0, cancellation_rows=0, missing_customer_rows=0, duplicate_rows=0)
    seen = np.zeros(len(cust["acq"]), dtype=bool)
    first_t = last_t = None
    for m, t_c, c_c in purchases:
        mp = plan_month(ctx, m, t_c, c_c, st)
        n_inv = len(mp["kind"])
        _write_month(ctx, mp, writer, totals, progress)
        carry_over(mp, st)
        ctx["state"]["inv_no"] += n_inv
        if n_inv:
            first_t = mp["time"][0] if first_t is None else first_t
            last_t = mp["time"][-1]
            seen[mp["cust_idx"][mp["cust_idx"] >= 0]] = True
    return totals, seen, first_t, last_t


def generate(output_path, rows, seed=42, start_date="2009-12-01", months=24,
             chunk_rows=500_000, customers=None, progress=False, campaigns: CampaignSpec | None = None) -> dict:
    """Write ~``rows`` synthetic transactions to ``output_path``; return a summary.

    The file is a pure function of (rows, seed, start_date, months, customers,
    campaigns, file type); ``chunk_rows`` only sets the Parquet row-group size /
    the amount of data held in memory.  ``progress``: report to stderr every ~2 s.
    ``campaigns``: simulate past campaigns (module ``campaigns``): their
    responses go into the transactions and their assignments to
    ``campaigns.output``; None (the default) leaves the file as it always was.
    The summary dict: output, rows, customers, invoices, first/last invoice
    date, cancellation/missing-customer/duplicate rows, adjustment invoices,
    seconds and, with campaigns, ``campaigns`` (one dict each: campaign_id,
    contacted_at, customers, treated, control, responders, true_uplift, ...).
    """
    t0 = time.perf_counter()
    rows, chunk_rows, n_cust = _check_arguments(rows, chunk_rows, customers)
    output_path = os.fspath(output_path)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    ctx, sim = _setup(rows, seed, start_date, months, n_cust)
    purchases = iter_purchases(sim["seq"], ctx["cust"], sim["scale"], sim["edges_sec"], sim["season"])
    campaign_summaries = None
    if campaigns is not None:
        purchases, assignments, campaign_summaries = simulate_campaigns(
            campaigns, list(purchases), ctx["cust"], sim["edges_sec"], ctx["start_epoch_day"], seed)
    writer = Writer(output_path, chunk_rows)
    ok = False
    try:
        totals, seen, first_t, last_t = _run_months(ctx, sim, writer, _Progress(progress, rows, t0), purchases)
        ok = True
    finally:
        writer.close(ok)
    if campaigns is not None:
        write_assignments(campaigns.output, assignments)

    sed = ctx["start_epoch_day"]
    fmt = lambda s: str(np.datetime64(int(s) + sed * DAY, "s")).replace("T", " ")  # noqa: E731
    return {
        "output": output_path,
        "rows": totals["rows"],
        "customers": int(seen.sum()),
        "invoices": int(ctx["state"]["inv_no"]),
        "first_invoice_date": fmt(first_t),
        "last_invoice_date": fmt(last_t),
        "cancellation_rows": totals["cancellation_rows"],
        "missing_customer_rows": totals["missing_customer_rows"],
        "duplicate_rows": totals["duplicate_rows"],
        "adjustment_invoices": sim["n_adjust"],
        "seconds": round(time.perf_counter() - t0, 2),
        **({"campaigns": campaign_summaries} if campaign_summaries is not None else {}),
    }
