"""The row budget: how many lines go to which kind of invoice, month and invoice."""
from __future__ import annotations

import numpy as np

from .params import (
    ADJUST_ROWS_PER_INVOICE,
    CANCEL_ROW_SHARE,
    DUPLICATE_PROB,
    GUEST_INVOICES_PER_CUSTOMER_INVOICE,
    GUEST_ROW_SHARE,
)


def apportion(total, weights):
    """Split integer ``total`` proportionally to ``weights`` (cumulative rounding)."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    cut = np.round(np.cumsum(w) / w.sum() * total).astype(np.int64)
    cut[-1] = total
    return np.diff(np.concatenate([[0], cut]))


def allocate(rng, weights, total):
    """Integer line counts >= 1 proportional to weights, summing to total exactly."""
    n = len(weights)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if total < n:
        raise ValueError("not enough rows for the planned invoices; use more rows or fewer customers")
    x = weights / weights.sum() * (total - n)
    base = np.floor(x)
    lines = 1 + base.astype(np.int64) + (rng.random(n) < (x - base))
    diff = int(total - lines.sum())
    while diff != 0:
        if diff > 0:
            pick = rng.choice(n, size=min(diff, n), replace=False)
            lines[pick] += 1
        else:
            cand = np.flatnonzero(lines > 1)
            pick = rng.choice(cand, size=min(-diff, len(cand)), replace=False)
            lines[pick] -= 1
        diff = int(total - lines.sum())
    return lines


def row_budget(rows: int, n_cust: int) -> dict:
    """Lines per kind so that (sales + cancellation + adjustment lines) * (1 + dup. prob.) ~= rows.

    Returns a dict with ``n_adjust`` (adjustment invoices = lines),
    ``cancel_lines``, ``guest_lines`` and ``cust_lines`` (sales lines of
    guests / of customers).  Raises ValueError when rows cannot give every
    customer a line.
    """
    n_adjust = int(round(rows / ADJUST_ROWS_PER_INVOICE))
    if rows >= 50_000:
        n_adjust = max(n_adjust, 1)
    base_rows = int(round(rows / (1.0 + DUPLICATE_PROB)))
    cancel_lines = int(round(CANCEL_ROW_SHARE * rows))
    sales_lines = base_rows - cancel_lines - n_adjust
    guest_lines = int(round(GUEST_ROW_SHARE * (sales_lines + cancel_lines)))
    cust_lines = sales_lines - guest_lines
    if cust_lines < n_cust:
        raise ValueError(f"rows={rows} is too small for {n_cust} customers")
    return dict(n_adjust=n_adjust, cancel_lines=cancel_lines, guest_lines=guest_lines,
                cust_lines=cust_lines)


def monthly_targets(rows: int, budget: dict, counts: np.ndarray) -> dict:
    """Per-month line and invoice targets, given the simulated customer invoices per month.

    ``counts``: customer invoices per month (from the calibration).  Returns a
    dict of per-month integer arrays: ``cust_lines``, ``guest_inv``,
    ``guest_lines`` and ``cancel_lines``.  Raises ValueError when there are
    fewer customer lines than customer invoices.
    """
    cust_lines, guest_lines = budget["cust_lines"], budget["guest_lines"]
    n_cinv = int(counts.sum())
    if cust_lines < n_cinv:
        raise ValueError(f"rows={rows} is too small for the simulated {n_cinv} invoices")
    n_guest = max(1, int(round(n_cinv * GUEST_INVOICES_PER_CUSTOMER_INVOICE)))
    month_w = counts + 1e-3 * max(counts.mean(), 1.0)
    guest_inv = apportion(n_guest, month_w)
    return dict(
        cust_lines=counts + apportion(cust_lines - n_cinv, counts),
        guest_inv=guest_inv,
        guest_lines=guest_inv + apportion(guest_lines - n_guest, guest_inv),
        cancel_lines=apportion(budget["cancel_lines"], month_w),
    )
