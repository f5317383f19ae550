"""Customers and their BG/NBD-like purchase process, and its calibration."""
from __future__ import annotations

import math

import numpy as np

from .catalogue import COUNTRIES, UK
from .params import (
    ACQ_BETA,
    ACQ_UNIFORM_SHARE,
    DAY,
    DROPOUT_A,
    DROPOUT_B,
    FIRST_CUSTOMER_ID,
    MAX_SCALE,
    PURCHASE_RATE_SHAPE,
    ROWS_PER_CUSTOMER,
)
from .randomness import make_rng


def default_customers(rows: int) -> int:
    """Customers so that each averages ~124 rows (~100 identified rows), like UCI."""
    return max(1, int(round(rows / ROWS_PER_CUSTOMER)))


def draw_customers(rng, n_cust, period_sec):
    """Per-customer arrays, drawn from ``rng``.

    Returns a dict: ``acq`` (acquisition time, rel. seconds), ``rate``
    (purchase rate, mean 1), ``budget`` (purchases until dropout), ``country``
    (code), ``basket`` (relative invoice size), ``qty_mean``, ``price_pref``
    and ``ids`` (CustomerID).
    """
    acq = np.where(
        rng.random(n_cust) < ACQ_UNIFORM_SHARE,
        rng.random(n_cust),
        rng.beta(*ACQ_BETA, size=n_cust),
    ) * period_sec
    rate = rng.gamma(PURCHASE_RATE_SHAPE, 1.0 / PURCHASE_RATE_SHAPE, n_cust)  # mean 1
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, n_cust)
    budget = rng.geometric(dropout)  # purchases until (and including) the last one
    cw = np.array([w for _, w in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n_cust, p=cw / cw.sum()).astype(np.int16)
    spend = rng.lognormal(0.0, 0.6, n_cust)
    basket = spend ** 0.7 * np.where(country == UK, 1.0, 1.25)
    qty_mean = 1.2 * spend ** 0.8  # mean of the pack multiplier - 1
    price_pref = rng.beta(2.0, 5.0, n_cust)  # P(pick the pricier of two draws)
    ids = FIRST_CUSTOMER_ID + rng.permutation(n_cust).astype(np.int64)
    return dict(acq=acq, rate=rate, budget=budget, country=country,
                basket=basket, qty_mean=qty_mean, price_pref=price_pref, ids=ids)


def _repeat_purchase_times(rng, n, k, ws, me):
    """Times of the first ``k`` of ``n`` uniform purchase opportunities in [ws, me).

    ``n``, ``k`` and ``ws`` are per-customer arrays (k <= n, sum(k) > 0).  The k
    smallest of n uniforms are drawn directly as normalised exponential
    spacings: U_(j) = S_j / S_(n+1), S_(n+1) = S_k + Gamma(n + 1 - k).
    Returns (positions of the customers with k > 0, their times, sorted
    within each customer and concatenated in customer order).
    """
    tot = int(k.sum())
    sel = np.flatnonzero(k)
    kk = k[sel]
    tail = rng.gamma(n[sel] - kk + 1.0)
    cs = np.cumsum(rng.standard_exponential(tot))
    ends = np.cumsum(kk)
    before = np.concatenate([[0.0], cs[ends[:-1] - 1]])
    s_j = cs - np.repeat(before, kk)
    total = s_j[ends - 1] + tail
    w0, w1 = ws[sel], me - ws[sel]
    return sel, np.repeat(w0, kk) + s_j / np.repeat(total, kk) * np.repeat(w1, kk)


def iter_purchases(seq, cust, scale, edges_sec, season):
    """BG/NBD-like process, one calendar month at a time.

    Per-customer state: acquisition time, purchase rate and the remaining
    purchase budget (geometric in the dropout probability: after each
    purchase the customer drops out for good with that probability).
    ``seq`` seeds the process (the same ``seq`` replays it), ``scale``
    multiplies the rates (per day), ``edges_sec`` are the month edges and
    ``season`` the monthly rate factors.
    Yields (month, purchase times [float rel. seconds], customer indices).
    """
    rng = make_rng(seq)
    acq, rate = cust["acq"], cust["rate"]
    remaining = cust["budget"].copy()
    for m in range(len(edges_sec) - 1):
        ms, me = float(edges_sec[m]), float(edges_sec[m + 1])
        new = np.flatnonzero((acq >= ms) & (acq < me))
        remaining[new] -= 1  # the first purchase happens at acquisition
        t_out, c_out = [acq[new]], [new]
        idx = np.flatnonzero((acq < me) & (remaining > 0))
        if len(idx):
            ws = np.maximum(acq[idx], ms)
            n = rng.poisson(rate[idx] * (scale * season[m] / DAY) * (me - ws))
            # A customer with n purchase opportunities but only r purchases left
            # makes the first k = min(n, r) of them and then drops out.
            k = np.minimum(n, remaining[idx])
            if int(k.sum()):
                sel, times = _repeat_purchase_times(rng, n, k, ws, me)
                t_out.append(times)
                c_out.append(np.repeat(idx[sel], k[sel]))
                remaining[idx] -= k  # customers reaching 0 have dropped out for good
        yield m, np.concatenate(t_out), np.concatenate(c_out).astype(np.int64)


def _monthly_counts(seq, cust, scale, edges_sec, season):
    """Customer invoices per month of the purchase process at rate ``scale``."""
    return np.array([len(t) for _, t, _ in iter_purchases(seq, cust, scale, edges_sec, season)])


def calibrate(seq, cust, edges_sec, season, target):
    """Purchase-rate scale giving ~target customer invoices; returns (scale, counts/month)."""
    n_cust = len(cust["acq"])
    if target <= n_cust:  # one purchase each (at acquisition) is all we can afford
        scale = 0.0
        return scale, _monthly_counts(seq, cust, scale, edges_sec, season)
    scale, prev = 0.02, None
    for it in range(10):
        counts = _monthly_counts(seq, cust, scale, edges_sec, season)
        total = int(counts.sum())
        repeats, want = total - n_cust, target - n_cust
        if repeats <= 0 or abs(total / target - 1.0) < 0.01 or it == 9:
            break
        # Repeats grow sub-linearly in the scale and saturate at the customers'
        # purchase budgets (few customers, many rows): secant in logs, capped.
        el = 0.8
        if prev is not None and prev[1] > 0 and repeats != prev[1] and scale != prev[0]:
            el = math.log(repeats / prev[1]) / math.log(scale / prev[0])
            if el < 0.05 and repeats < want:
                break  # saturated: invoices will simply have more lines
            el = min(max(el, 0.2), 1.0)
        prev = (scale, repeats)
        scale = min(scale * min(max((want / repeats) ** (1.0 / el), 0.05), 20.0), MAX_SCALE)
    return scale, counts
