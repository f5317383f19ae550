#!/usr/bin/env python
"""Deterministic synthetic retail transactions in the UCI Online Retail schema.

Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
CustomerID, Country.

How the data is made
--------------------
* Customers (default rows/124, the UCI ratio, so ~100 identified rows each)
  arrive over the period, more of them early.  Each has a gamma-distributed
  purchase rate, a beta-distributed per-purchase dropout probability (after
  every purchase the customer becomes permanently inactive with that
  probability: a BG/NBD-like process, so churn depends on frequency, recency
  and tenure), one country, a spend level (basket size, quantities) and a
  price preference.
* The period is simulated month by month with per-customer state in numpy
  arrays (seeded ``numpy.random.Generator``); rates carry a Q4 seasonality.
  A counting pass first calibrates the rate scale so that customer invoices
  average ~16 lines.  Each month's invoices -- customers' purchases, guest
  invoices (no CustomerID), cancellations ("C" + number: negative copies of
  lines the customer bought earlier, possibly in an earlier month) and rare
  bad-debt adjustments ("A" + number) -- are sorted chronologically and
  numbered from 536365.  Line counts are allocated so that the total hits
  ``rows``; only the random ~0.5% of duplicated lines makes it differ (by a
  few rows).
* Lines are produced for bounded slices of a month's invoices and streamed to
  Parquet (``ParquetWriter``, row groups of ~chunk_rows) or CSV, so memory
  does not grow with the row count (beyond per-customer state).  Per-line
  attributes (product, quantity, price, duplicate flag, ...) come from a
  counter-based hash of (seed, line number): the data do not depend on
  ``chunk_rows`` and a cancellation can reproduce the line it cancels.

Same arguments -> byte-identical file.

Usage::

    python scripts/generate_transactions.py --rows 300000 --seed 42 \\
        --output warehouse/demo/transactions.parquet
"""
from __future__ import annotations

import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["generate", "SCHEMA", "main"]

SCHEMA = pa.schema(
    [
        ("InvoiceNo", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("s")),
        ("UnitPrice", pa.float64()),
        ("CustomerID", pa.int64()),
        ("Country", pa.string()),
    ]
)

FIRST_INVOICE_NO = 536365
FIRST_CUSTOMER_ID = 12346
ROWS_PER_CUSTOMER = 124  # UCI Online Retail: 541,909 rows / 4,372 customers

# --- shape parameters ------------------------------------------------------
N_PRODUCTS = 3600
ZIPF_S, ZIPF_OFFSET = 1.0, 50.0  # top product ~0.45% of lines, like 85123A
CUSTOMER_LINES_PER_INVOICE = 16.0  # calibration target for customer invoices
GUEST_INVOICES_PER_CUSTOMER_INVOICE = 0.125
GUEST_ROW_SHARE = 0.20
CANCEL_ROW_SHARE = 0.02
CANCEL_EXTRA_LINES_MEAN = 0.8  # lines per cancellation invoice = 1 + Poisson(0.8)
CANCEL_RANDOM_PRODUCT = 0.10  # share of cancellation lines not matching a purchase
DUPLICATE_PROB = 0.005
ADJUST_ROWS_PER_INVOICE = 200_000
ZERO_PRICE_PROB = 0.0005
MANUAL_PROB = 0.0008
BANK_CHARGES_PROB = 0.0001
AMAZONFEE_PROB = 0.0004  # guest invoices only
POST_PROB = 0.6  # first line of a foreign customer's invoice
DOT_PROB = 0.35  # last line of a UK guest invoice
C2_PROB = 0.4  # last line of an EIRE invoice
BULK_QTY, BULK_DISCOUNT = 100, 0.85

PURCHASE_RATE_SHAPE = 1.5  # gamma shape of the per-customer purchase rate
DROPOUT_A, DROPOUT_B = 2.0, 20.0  # beta prior of the per-purchase dropout prob.
ACQ_UNIFORM_SHARE = 0.3  # acquisition time: 30% uniform over the period ...
ACQ_BETA = (0.7, 2.5)  # ... 70% Beta(0.7, 2.5) (front-loaded), fraction of period

SEASON = {1: 0.85, 2: 0.85, 3: 0.95, 4: 0.95, 5: 1.0, 6: 1.0, 7: 1.0, 8: 1.0,
          9: 1.1, 10: 1.45, 11: 1.75, 12: 1.5}
SAT_SHIFTS = np.array([-5, -4, -3, -2, -1, 1])
SAT_SHIFT_P = np.array([1.0, 1.1, 1.1, 1.3, 0.8, 0.3]) / 5.6
HOUR_WEIGHTS = {7: 0.5, 8: 2.5, 9: 6.5, 10: 11.5, 11: 12.0, 12: 15.0, 13: 13.5,
                14: 12.0, 15: 10.5, 16: 7.0, 17: 4.5, 18: 2.0, 19: 1.7, 20: 0.8}
_HOURS = np.array(list(HOUR_WEIGHTS), dtype=np.int64)
_HOUR_P = np.array(list(HOUR_WEIGHTS.values())) / sum(HOUR_WEIGHTS.values())

COUNTRIES = [
    ("United Kingdom", 0.875), ("Germany", 0.024), ("France", 0.022),
    ("EIRE", 0.010), ("Spain", 0.008), ("Netherlands", 0.006),
    ("Belgium", 0.006), ("Switzerland", 0.005), ("Portugal", 0.005),
    ("Australia", 0.003), ("Norway", 0.003), ("Italy", 0.003),
    ("Channel Islands", 0.002), ("Finland", 0.002), ("Cyprus", 0.002),
    ("Sweden", 0.002), ("Austria", 0.002), ("Denmark", 0.002),
    ("Japan", 0.002), ("Poland", 0.0015), ("USA", 0.001), ("Israel", 0.001),
    ("Unspecified", 0.001), ("Canada", 0.0008), ("Greece", 0.0008),
    ("Singapore", 0.0005), ("Iceland", 0.0005), ("Malta", 0.0005),
    ("United Arab Emirates", 0.0005), ("European Community", 0.0003),
    ("RSA", 0.0003), ("Lebanon", 0.0003), ("Lithuania", 0.0003),
    ("Brazil", 0.0003), ("Czech Republic", 0.0003), ("Bahrain", 0.0003),
    ("Saudi Arabia", 0.0003),
]
UK, EIRE = 0, 3

ADJECTIVES = [
    ("WHITE", 1.0), ("RED", 1.0), ("PINK", 1.0), ("BLUE", 1.0), ("GREEN", 1.0),
    ("IVORY", 1.0), ("BLACK", 1.0), ("SILVER", 1.15), ("GOLD", 1.2),
    ("PASTEL", 1.0), ("VINTAGE", 1.1), ("HANGING", 1.0), ("JUMBO", 1.35),
    ("SMALL", 0.7), ("LARGE", 1.3), ("ANTIQUE", 1.25), ("ENAMEL", 1.1),
    ("WOODEN", 1.05), ("GLASS", 1.1), ("PAPER", 0.6),
]
MOTIFS = [
    "HEART", "RETROSPOT", "POLKADOT", "SPACEBOY", "DOLLY GIRL", "WOODLAND",
    "PAISLEY", "REGENCY", "ROSE", "BIRD", "STAR", "SKULL", "VINTAGE LEAF",
    "APPLES", "FLORAL", "GINGHAM", "LOVEBIRD", "OWL", "CHERRY", "DAISY",
    "PARISIENNE", "BAROQUE", "SWALLOWS", "ALPHABET", "CIRCUS PARADE", "JUNGLE",
    "CHRISTMAS TREE", "SNOWFLAKE", "TEA TIME", "KITCHEN",
]
ITEMS = [  # (name, base unit price, pack size)
    ("T-LIGHT HOLDER", 2.55, 6), ("LUNCH BAG", 1.65, 10), ("JUMBO BAG", 1.95, 10),
    ("CAKE CASES", 0.55, 24), ("PAPER NAPKINS", 0.85, 12), ("MUG", 1.25, 6),
    ("TEACUP AND SAUCER", 2.95, 2), ("CAKESTAND 3 TIER", 12.75, 1),
    ("DOORMAT", 7.95, 2), ("ALARM CLOCK", 3.75, 4), ("HOT WATER BOTTLE", 4.25, 4),
    ("CHILDRENS APRON", 1.95, 8), ("NOTEBOOK", 0.85, 12), ("PENCILS", 0.21, 48),
    ("BUNTING", 2.95, 6), ("GIFT WRAP", 0.42, 25), ("SHOPPING BAG", 1.25, 10),
    ("WATER BOTTLE", 2.10, 6), ("PHOTO FRAME", 2.55, 12), ("CUSHION COVER", 3.75, 4),
    ("STORAGE TIN", 4.95, 3), ("LANTERN", 5.95, 2), ("CANDLE", 1.25, 12),
    ("GREETING CARD", 0.42, 12), ("WALL CLOCK", 8.50, 2), ("CHALKBOARD", 4.95, 4),
    ("PURSE", 1.65, 12), ("HAND WARMER", 2.10, 12), ("PLAYING CARDS", 1.25, 12),
    ("DOOR STOP", 4.25, 4), ("JAM JAR", 0.85, 12), ("BOWL", 1.25, 8),
    ("PLATE", 1.65, 12), ("CHOPPING BOARD", 3.95, 4), ("TRINKET BOX", 1.25, 12),
    ("KEY RING", 0.65, 24), ("HAIR CLIPS", 0.85, 12), ("RECIPE BOX", 2.95, 6),
    ("GARDEN SIGN", 3.75, 6), ("WREATH", 5.95, 2), ("BAUBLE", 0.85, 24),
    ("STICKER SHEET", 0.85, 12), ("PICNIC BASKET", 9.95, 2), ("TISSUES", 0.39, 36),
]
# Non-product codes, appended to the catalogue (index N_PRODUCTS + i).
SPECIALS = [
    ("POST", "POSTAGE"), ("DOT", "DOTCOM POSTAGE"), ("M", "Manual"),
    ("C2", "CARRIAGE"), ("BANK CHARGES", "Bank Charges"),
    ("AMAZONFEE", "AMAZON FEE"), ("B", "Adjust bad debt"),
]
SP_POST, SP_DOT, SP_M, SP_C2, SP_BANK, SP_AMAZON, SP_ADJUST = range(
    N_PRODUCTS, N_PRODUCTS + len(SPECIALS))

KIND_SALE, KIND_CANCEL, KIND_ADJUST = 0, 1, 2
_MAX_SCALE = 50.0  # purchase-rate scale cap (per day; 0.02 ~ UCI-like defaults)
_SUB_BATCH = 131_072  # sales lines computed at once (bounds temporary memory)
_PREFIXES = np.array(["", "C", "A"])
DAY = 86_400

# --- counter-based hashing for per-line randomness ---------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV32 = 1.0 / 4294967296.0
_LO32 = np.uint64(0xFFFFFFFF)


def _hash_uniforms(ids: np.ndarray, key: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent U[0,1) arrays from a splitmix64 hash of (key, stream, id)."""
    salt = np.uint64((key + stream * 0xD1B54A32D192ED03) & 0xFFFFFFFFFFFFFFFF)
    x = ids.astype(np.uint64) * _GOLDEN
    x += salt
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    lo = (x & _LO32).astype(np.float64) * _INV32
    hi = (x >> np.uint64(32)).astype(np.float64) * _INV32
    return lo, hi


# --- small helpers ------------------------------------------------------------
def _rng(seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seq))


def _period(start_date: str, months: int):
    """Day-resolution period [start, end) and its calendar-month segments."""
    if months < 1:
        raise ValueError("months must be >= 1")
    start = np.datetime64(start_date, "D")
    sm = start.astype("datetime64[M]")
    dom = int((start - sm.astype("datetime64[D]")).astype(np.int64))
    em = sm + months
    em_len = int(((em + 1).astype("datetime64[D]") - em.astype("datetime64[D]")).astype(np.int64))
    end = em.astype("datetime64[D]") + min(dom, em_len - 1)
    edges = [start]
    for k in range(1, months + 1):
        d = (sm + k).astype("datetime64[D]")
        if start < d < end:
            edges.append(d)
    edges.append(end)
    rel_days = np.array([(e - start).astype(np.int64) for e in edges], dtype=np.int64)
    seg_month = np.array([int(str(e.astype("datetime64[M]"))[5:7]) for e in edges[:-1]])
    start_epoch_day = int(start.astype(np.int64))
    return start_epoch_day, rel_days, seg_month


def _round_price(p: np.ndarray) -> np.ndarray:
    """Retail-looking prices: 2 decimals below 1, multiples of 0.05 above."""
    return np.where(p < 1.0, np.round(p, 2), np.round(p * 20.0) / 20.0)


def _catalogue(rng: np.random.Generator):
    combos = len(ADJECTIVES) * len(MOTIFS) * len(ITEMS)
    pick = rng.choice(combos, size=N_PRODUCTS, replace=False)
    a, rest = np.divmod(pick, len(MOTIFS) * len(ITEMS))
    m, it = np.divmod(rest, len(ITEMS))
    desc = [f"{ADJECTIVES[i][0]} {MOTIFS[j]} {ITEMS[k][0]}" for i, j, k in zip(a, m, it)]
    base = np.array([x[1] for x in ITEMS])[it] * np.array([x[1] for x in ADJECTIVES])[a]
    price = np.maximum(_round_price(base * rng.lognormal(0.0, 0.25, N_PRODUCTS)), 0.1)
    pack = np.array([x[2] for x in ITEMS], dtype=np.int64)[it]
    numbers = rng.choice(np.arange(10002, 90999), size=N_PRODUCTS, replace=False)
    suffix = rng.choice(["", "A", "B", "C", "D", "E", "F", "L"], size=N_PRODUCTS,
                        p=[0.85, 0.04, 0.04, 0.02, 0.015, 0.015, 0.01, 0.01])
    codes = [f"{n}{s}" for n, s in zip(numbers, suffix)]
    # Popularity: Zipf-like over a random ordering of the catalogue.
    ranks = np.arange(1, N_PRODUCTS + 1, dtype=np.float64)
    w = 1.0 / (ranks + ZIPF_OFFSET) ** ZIPF_S
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    by_rank = rng.permutation(N_PRODUCTS).astype(np.int32)
    codes += [c for c, _ in SPECIALS]
    desc += [d for _, d in SPECIALS]
    return {
        "codes": pa.array(codes, pa.string()),
        "desc": pa.array(desc, pa.string()),
        "price": np.concatenate([price, np.zeros(len(SPECIALS))]),
        "pack": pack,
        "cdf": cdf,
        "by_rank": by_rank,
    }


def _business_times(rng, t_sec, start_epoch_day, lo_day, hi_day):
    """Move float rel-second times to a business day/hour (minute resolution).

    Days stay within [lo_day, hi_day].  No Saturdays (as in the UCI data): a
    Saturday moves to another day of its week.
    """
    n = len(t_sec)
    day = np.clip(np.floor(t_sec / DAY).astype(np.int64), lo_day, hi_day)
    sat = (start_epoch_day + day + 3) % 7 == 5
    if sat.any():
        moved = day + rng.choice(SAT_SHIFTS, size=n, p=SAT_SHIFT_P)  # Mon..Fri, Sun
        alt = np.clip(np.where(day + 1 <= hi_day, day + 1, day - 1), lo_day, hi_day)
        moved = np.where((moved < lo_day) | (moved > hi_day), alt, moved)
        day = np.where(sat, moved, day)
    hour = rng.choice(_HOURS, size=n, p=_HOUR_P)
    minute = rng.integers(0, 60, size=n)
    return day * DAY + hour * 3600 + minute * 60


def _apportion(total, weights):
    """Split integer ``total`` proportionally to ``weights`` (cumulative rounding)."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    cut = np.round(np.cumsum(w) / w.sum() * total).astype(np.int64)
    cut[-1] = total
    return np.diff(np.concatenate([[0], cut]))


def _allocate(rng, weights, total):
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


# --- customers and the month-by-month purchase process ---------------------------
def _customers(rng, n_cust, period_sec):
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


def _iter_purchases(seq, cust, scale, edges_sec, season):
    """BG/NBD-like process, one calendar month at a time.

    Per-customer state: acquisition time, purchase rate and the remaining
    purchase budget (geometric in the dropout probability: after each
    purchase the customer drops out for good with that probability).
    Yields (month, purchase times [float rel. seconds], customer indices).
    """
    rng = _rng(seq)
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
            # makes the first k = min(n, r) of them and then drops out.  The k
            # smallest of n uniforms are drawn directly as normalised exponential
            # spacings: U_(j) = S_j / S_(n+1), S_(n+1) = S_k + Gamma(n + 1 - k).
            k = np.minimum(n, remaining[idx])
            tot = int(k.sum())
            if tot:
                sel = np.flatnonzero(k)
                kk = k[sel]
                tail = rng.gamma(n[sel] - kk + 1.0)
                cs = np.cumsum(rng.standard_exponential(tot))
                ends = np.cumsum(kk)
                before = np.concatenate([[0.0], cs[ends[:-1] - 1]])
                s_j = cs - np.repeat(before, kk)
                total = s_j[ends - 1] + tail
                w0, w1 = ws[sel], me - ws[sel]
                t_out.append(np.repeat(w0, kk) + s_j / np.repeat(total, kk) * np.repeat(w1, kk))
                c_out.append(np.repeat(idx[sel], kk))
                remaining[idx] -= k  # customers reaching 0 have dropped out for good
        yield m, np.concatenate(t_out), np.concatenate(c_out).astype(np.int64)


def _calibrate(seq, cust, edges_sec, season, target):
    """Purchase-rate scale giving ~target customer invoices; returns (scale, counts/month)."""
    n_cust = len(cust["acq"])
    if target <= n_cust:  # one purchase each (at acquisition) is all we can afford
        scale = 0.0
        return scale, np.array([len(t) for _, t, _ in _iter_purchases(seq, cust, scale, edges_sec, season)])
    scale, prev = 0.02, None
    for it in range(10):
        counts = np.array([len(t) for _, t, _ in _iter_purchases(seq, cust, scale, edges_sec, season)])
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
        scale = min(scale * min(max((want / repeats) ** (1.0 / el), 0.05), 20.0), _MAX_SCALE)
    return scale, counts


# --- line generation ----------------------------------------------------------
def _zipf_products(cat, u):
    return cat["by_rank"][np.minimum(np.searchsorted(cat["cdf"], u, side="right"), N_PRODUCTS - 1)]


def _sales_lines(ctx, mp, gid0, s_inv):
    """Product, quantity and unit price of the sales lines gid0, gid0+1, ...

    ``s_inv`` holds the month-local sales invoice of each line (whole invoices).
    """
    cat, cust, key = ctx["cat"], ctx["cust"], ctx["hash_key"]
    n = len(s_inv)
    gid = np.arange(gid0, gid0 + n, dtype=np.int64)
    pos = gid - mp["s_off"][s_inv]
    nl = mp["s_lines"][s_inv]
    c = mp["s_cust"][s_inv]
    guest = c < 0
    ci = np.where(guest, 0, c)
    country = mp["s_country"][s_inv]
    pref = np.where(guest, 0.2, cust["price_pref"][ci])
    qmean = np.where(guest, 0.5, cust["qty_mean"][ci])

    u1, u2 = _hash_uniforms(gid, key, 1)
    u3, u4 = _hash_uniforms(gid, key, 2)
    u5, u6 = _hash_uniforms(gid, key, 3)
    u7, u8 = _hash_uniforms(gid, key, 7)

    # Product: Zipf draw; with prob. price_pref take the pricier of two draws.
    p1, p2 = _zipf_products(cat, u1), _zipf_products(cat, u2)
    price_tab = cat["price"]
    prod = np.where((u3 < pref) & (price_tab[p2] > price_tab[p1]), p2, p1).astype(np.int64)
    del p1, p2, u2, u3

    # No product twice in one invoice: move repeats to another product.
    for rnd in range(4):
        keyv = (s_inv - s_inv[0]) * (N_PRODUCTS + 64) + prod
        o = np.argsort(keyv, kind="stable")
        ks = keyv[o]
        dup = np.zeros(n, dtype=bool)
        dup[o[1:][ks[1:] == ks[:-1]]] = True
        del keyv, o, ks
        if not dup.any():
            break
        ua, _ = _hash_uniforms(gid[dup], key, 10 + rnd)
        prod[dup] = (prod[dup] + 1 + (ua * 997).astype(np.int64)) % N_PRODUCTS

    # Quantity: pack size x (1 + geometric-ish multiplier scaled by spend),
    # or a few loose units.
    pack = cat["pack"][prod]
    qty = pack * (1 + np.floor(-np.log1p(-u4) * qmean).astype(np.int64))
    loose = u7 < np.where(guest, 0.7, 0.3)
    qty = np.where(loose, 1 + (u8 * np.minimum(pack, 6)).astype(np.int64), qty)
    del pack, loose, u7, u8
    price = price_tab[prod]
    price = np.where(qty >= BULK_QTY, np.round(price * BULK_DISCOUNT, 2), price)
    price = np.where(u6 < ZERO_PRICE_PROB, 0.0, price)

    # Non-product codes.
    foreign = (country != UK) & ~guest
    post = foreign & (pos == 0) & (nl > 1) & (u5 < POST_PROB)
    last = pos == nl - 1
    dot = guest & (country == UK) & last & (nl > 1) & (u5 < DOT_PROB)
    c2 = (country == EIRE) & last & (nl > 1) & (u5 < C2_PROB) & ~post
    plain = ~(post | dot | c2)
    manual = plain & (u6 >= 0.99) & (u6 < 0.99 + MANUAL_PROB)
    bank = plain & (u6 >= 0.98) & (u6 < 0.98 + BANK_CHARGES_PROB)
    amazon = plain & guest & (u6 >= 0.97) & (u6 < 0.97 + AMAZONFEE_PROB)
    prod[post] = SP_POST
    qty[post] = 1 + (u4[post] * 3).astype(np.int64)
    price[post] = np.where(u1[post] < 0.8, 18.0, np.where(u1[post] < 0.9, 15.0, 40.0))
    prod[dot] = SP_DOT
    qty[dot] = 1
    price[dot] = np.round(20.0 + 180.0 * -np.log1p(-u1[dot]), 2)
    prod[c2] = SP_C2
    qty[c2] = 1
    price[c2] = 50.0
    prod[manual] = SP_M
    qty[manual] = 1 + (u4[manual] < 0.1) * (u4[manual] * 100).astype(np.int64)
    price[manual] = np.round(np.exp(0.5 + 2.0 * u1[manual]) - 1.0, 2)
    prod[bank] = SP_BANK
    qty[bank] = 1
    price[bank] = 15.0
    prod[amazon] = SP_AMAZON
    qty[amazon] = 1
    price[amazon] = np.round(np.exp(5.0 + 4.0 * u1[amazon]), 2)
    return prod.astype(np.int32), qty, price


# --- cancellations --------------------------------------------------------------
_C_INV = ("time", "seq", "cust", "country", "lines")
_C_LINE = ("lid", "rnd", "part", "frac", "src_new", "src_idx", "prod", "qty", "price")


def _c_take(c, inv_mask):
    """Subset of a cancellation set by an invoice mask (line arrays follow)."""
    line_mask = np.repeat(inv_mask, c["lines"])
    out = {k: c[k][inv_mask] for k in _C_INV}
    out.update({k: c[k][line_mask] for k in _C_LINE})
    return out


def _c_concat(a, b):
    return {k: np.concatenate([a[k], b[k]]) for k in _C_INV + _C_LINE}


def _c_sort(c):
    o = np.lexsort((c["seq"], c["time"]))
    off = np.concatenate([[0], np.cumsum(c["lines"])])
    ln = c["lines"][o]
    line_o = np.repeat(off[o] - (np.cumsum(ln) - ln), ln) + np.arange(int(ln.sum()))
    out = {k: c[k][o] for k in _C_INV}
    out.update({k: c[k][line_o] for k in _C_LINE})
    return out


def _c_empty():
    d = {k: np.zeros(0, np.int64) for k in ("time", "seq", "cust", "lines", "lid", "src_idx", "qty")}
    d.update(country=np.zeros(0, np.int16), rnd=np.zeros(0, bool), part=np.zeros(0, bool),
             frac=np.zeros(0), src_new=np.zeros(0, bool), prod=np.zeros(0, np.int32),
             price=np.zeros(0))
    return d


# --- month plan -------------------------------------------------------------------
def _plan_month(ctx, m, t_c, c_c, st):
    """Invoices of month m in chronological order (sales, cancellations, adjustments)."""
    rng, cust, tg = ctx["rng"], ctx["cust"], ctx["targets"]
    ms_day, me_day = int(ctx["edge_days"][m]), int(ctx["edge_days"][m + 1])
    ms, me = ms_day * DAY, me_day * DAY
    sed, n_days = ctx["start_epoch_day"], ctx["n_days"]

    # Sales invoices: customers' purchases plus guest invoices.
    n_g = int(tg["guest_inv"][m])
    t_g = ms + rng.random(n_g) * (me - ms)
    s_time = _business_times(rng, np.concatenate([t_c, t_g]), sed, ms_day, me_day - 1)
    s_cust = np.concatenate([c_c, np.full(n_g, -1, dtype=np.int64)])
    order = np.lexsort((rng.permutation(len(s_time)), s_time))
    s_time, s_cust = s_time[order], s_cust[order]
    is_guest = s_cust < 0
    ci = s_cust[~is_guest]
    s_lines = np.empty(len(s_time), dtype=np.int64)
    cw = cust["basket"][ci] * rng.gamma(1.3, 1.0 / 1.3, len(ci))
    s_lines[~is_guest] = _allocate(rng, cw, int(tg["cust_lines"][m]))
    s_lines[is_guest] = _allocate(rng, rng.gamma(0.9, 1.0 / 0.9, n_g), int(tg["guest_lines"][m]))
    s_off = st["gid"] + np.concatenate([[0], np.cumsum(s_lines)])  # global sales line ids
    s_country = np.empty(len(s_time), dtype=np.int16)
    s_country[~is_guest] = cust["country"][ci]
    s_country[is_guest] = np.where(rng.random(n_g) < 0.97, UK,
                                   rng.integers(1, len(COUNTRIES), n_g))
    st["gid"] = int(s_off[-1])

    # New cancellations: lines of one of this month's customer invoices.
    want = int(tg["cancel_lines"][m])
    cust_inv = np.flatnonzero(~is_guest)
    k = int(round(want / (1.0 + CANCEL_EXTRA_LINES_MEAN))) if len(cust_inv) and want else 0
    k = max(k, 1) if want and len(cust_inv) else 0
    ref = np.sort(rng.choice(cust_inv, size=k)) if k else np.zeros(0, np.int64)
    room = s_lines[ref]
    c_lines = np.minimum(1 + rng.poisson(CANCEL_EXTRA_LINES_MEAN, k), room)
    diff = want - int(c_lines.sum())
    while diff != 0 and k:
        cand = np.flatnonzero(c_lines < room) if diff > 0 else np.flatnonzero(c_lines > 1)
        if len(cand) == 0:
            break
        pick = rng.choice(cand, size=min(abs(diff), len(cand)), replace=False)
        c_lines[pick] += 1 if diff > 0 else -1
        diff = want - int(c_lines.sum())
    c_start = (rng.random(k) * room).astype(np.int64)
    delay = np.where(rng.random(k) < 0.5, 0, 1 + rng.geometric(0.15, k))
    r_time = s_time[ref]
    later = _business_times(rng, ((r_time // DAY + delay) * DAY).astype(np.float64), sed, 0, n_days - 1)
    soon = r_time + 60 * rng.integers(1, 180, k)
    soon = np.where(soon % DAY > 20 * 3600 + 59 * 60, r_time + 60, soon)
    c_time = np.where(delay == 0, soon, later)
    c_time = np.where((c_time <= r_time) | (c_time >= n_days * DAY), r_time + 60, c_time)
    n_cl = int(c_lines.sum())
    cl_inv = np.repeat(np.arange(k), c_lines)
    cl_pos = np.arange(n_cl) - np.repeat(np.cumsum(c_lines) - c_lines, c_lines)
    ref_gid = s_off[ref[cl_inv]] + (c_start[cl_inv] + cl_pos) % s_lines[ref[cl_inv]]
    new = dict(
        time=c_time, seq=st["cseq"] + np.arange(k), cust=s_cust[ref], country=s_country[ref],
        lines=c_lines, lid=st["clid"] + np.arange(n_cl),
        rnd=rng.random(n_cl) < CANCEL_RANDOM_PRODUCT, part=rng.random(n_cl) < 0.25,
        frac=rng.random(n_cl), src_new=np.ones(n_cl, bool), src_idx=np.arange(n_cl),
        prod=np.zeros(n_cl, np.int32), qty=np.zeros(n_cl, np.int64), price=np.zeros(n_cl),
    )
    st["cseq"] += k
    st["clid"] += n_cl
    # Store for the cancelled lines' attributes, filled while this month's sales
    # lines are generated (a cancellation always follows the line it cancels).
    ref_order = np.argsort(ref_gid, kind="stable")
    store = dict(order=ref_order, gid=ref_gid[ref_order], prod=new["prod"], qty=new["qty"],
                 price=new["price"])
    due_new = c_time < me
    pend = st["pending"]
    due_old = pend["time"] < me
    cancels = _c_sort(_c_concat(_c_take(pend, due_old), _c_take(new, due_new)))
    st["pending"] = _c_take(pend, ~due_old)
    later_new = _c_take(new, ~due_new)  # values are filled in after the month

    # Bad-debt adjustments falling into this month.
    a_sel = (ctx["a_time"] >= ms) & (ctx["a_time"] < me)
    a_time, a_price = ctx["a_time"][a_sel], ctx["a_price"][a_sel]

    n_s, n_c, n_a = len(s_time), len(cancels["time"]), len(a_time)
    kind = np.concatenate([np.full(n_s, KIND_SALE, np.int8), np.full(n_c, KIND_CANCEL, np.int8),
                           np.full(n_a, KIND_ADJUST, np.int8)])
    time_ = np.concatenate([s_time, cancels["time"], a_time])
    o = np.lexsort((kind, time_))  # stable: keeps each kind's own order
    cidx = np.concatenate([s_cust, cancels["cust"], np.full(n_a, -1, np.int64)])[o]
    return dict(
        kind=kind[o], time=time_[o],
        local=np.concatenate([np.arange(n_s), np.arange(n_c), np.arange(n_a)])[o],
        lines=np.concatenate([s_lines, cancels["lines"], np.ones(n_a, np.int64)])[o],
        cust_idx=cidx,
        country=np.concatenate([s_country, cancels["country"], np.full(n_a, UK, np.int16)])[o],
        s_cust=s_cust, s_country=s_country, s_lines=s_lines, s_off=s_off,
        cancels=cancels, c_off=np.concatenate([[0], np.cumsum(cancels["lines"])]),
        store=store, later_new=later_new, a_price=a_price,
    )


def _emit(ctx, mp, i0, i1, kinds_before):
    """Arrow table with the lines of the month's invoices [i0, i1)."""
    cat, key = ctx["cat"], ctx["hash_key"]
    kind, lines = mp["kind"], mp["lines"]
    nl = lines[i0:i1]
    n_lines = int(nl.sum())
    inv_local = np.repeat(np.arange(i1 - i0, dtype=np.int32), nl)
    k_line = kind[i0:i1][inv_local]
    prod = np.empty(n_lines, dtype=np.int32)
    qty = np.empty(n_lines, dtype=np.int64)
    price = np.empty(n_lines, dtype=np.float64)
    dup = np.zeros(n_lines, dtype=bool)

    # Sales lines (contiguous global sales line ids), in bounded sub-batches.
    sm = k_line == KIND_SALE
    ns = int(sm.sum())
    if ns:
        sa, sb = int(kinds_before[KIND_SALE, i0]), int(kinds_before[KIND_SALE, i1])
        s_off = mp["s_off"]
        g0 = int(s_off[sa])
        sp = np.empty(ns, dtype=np.int32)
        sq = np.empty(ns, dtype=np.int64)
        spr = np.empty(ns, dtype=np.float64)
        cuts = np.searchsorted(s_off[sa:sb + 1] - g0, np.arange(_SUB_BATCH, ns, _SUB_BATCH))
        cuts = np.unique(np.concatenate([[0], cuts, [sb - sa]]))
        for a, b in zip(cuts[:-1] + sa, cuts[1:] + sa):
            la, lb = int(s_off[a]) - g0, int(s_off[b]) - g0
            s_inv = np.repeat(np.arange(a, b), mp["s_lines"][a:b])
            sp[la:lb], sq[la:lb], spr[la:lb] = _sales_lines(ctx, mp, g0 + la, s_inv)
        prod[sm], qty[sm], price[sm] = sp, sq, spr
        dup[sm] = _hash_uniforms(np.arange(g0, g0 + ns), key, 4)[0] < DUPLICATE_PROB
        store = mp["store"]
        lo, hi = np.searchsorted(store["gid"], [g0, g0 + ns])
        if hi > lo:
            tgt, src = store["order"][lo:hi], store["gid"][lo:hi] - g0
            store["prod"][tgt], store["qty"][tgt], store["price"][tgt] = sp[src], sq[src], spr[src]
        del sp, sq, spr

    # Cancellation lines: negative copies of the cancelled lines.
    cm = k_line == KIND_CANCEL
    nc = int(cm.sum())
    if nc:
        c, store = mp["cancels"], mp["store"]
        k0 = int(mp["c_off"][kinds_before[KIND_CANCEL, i0]])
        sl = slice(k0, k0 + nc)
        cp, cq, cpr = c["prod"][sl].copy(), c["qty"][sl].copy(), c["price"][sl].copy()
        nw = c["src_new"][sl]
        si = c["src_idx"][sl][nw]
        cp[nw], cq[nw], cpr[nw] = store["prod"][si], store["qty"][si], store["price"][si]
        lid = c["lid"][sl]
        rnd = c["rnd"][sl]
        if rnd.any():
            ua, ub = _hash_uniforms(lid[rnd], key, 5)
            cp[rnd] = _zipf_products(cat, ua)
            cq[rnd] = 1 + (ub * 6).astype(np.int64)
            cpr[rnd] = cat["price"][cp[rnd]]
        part = c["part"][sl] & (cq > 1)
        cq[part] = np.maximum(1, np.floor(cq[part] * c["frac"][sl][part])).astype(np.int64)
        prod[cm], qty[cm], price[cm] = cp, -cq, cpr
        dup[cm] = _hash_uniforms(lid, key, 6)[0] < DUPLICATE_PROB

    # Bad-debt adjustments.
    am = k_line == KIND_ADJUST
    if am.any():
        prod[am] = SP_ADJUST
        qty[am] = 1
        price[am] = mp["a_price"][mp["local"][i0:i1][inv_local[am]]]

    # Exact duplicates: a line repeated right after itself.
    n_dup = int(dup.sum())
    if n_dup:
        rep = 1 + dup.astype(np.int64)
        inv_local, prod, qty, price = (np.repeat(a, rep) for a in (inv_local, prod, qty, price))

    inv_kind = kind[i0:i1]
    first_no = FIRST_INVOICE_NO + ctx["state"]["inv_no"] + i0
    numbers = pa.array(np.arange(first_no, first_no + (i1 - i0)))
    inv_no = pc.binary_join_element_wise(
        pa.array(_PREFIXES[inv_kind]), pc.cast(numbers, pa.string()), "")
    ci = mp["cust_idx"][i0:i1]
    inv_cid = np.where(ci >= 0, ctx["cust"]["ids"][np.maximum(ci, 0)], 0)
    missing = ci[inv_local] < 0
    idx = pa.array(inv_local)
    prod_a = pa.array(prod)
    table = pa.Table.from_arrays(
        [
            pc.take(inv_no, idx),
            pc.take(cat["codes"], prod_a),
            pc.take(cat["desc"], prod_a),
            pa.array(qty, pa.int64()),
            pa.array((mp["time"][i0:i1] + ctx["start_epoch_day"] * DAY)[inv_local], pa.timestamp("s")),
            pa.array(price, pa.float64()),
            pa.array(inv_cid[inv_local], pa.int64(), mask=missing),
            pc.take(ctx["countries"], pa.array(mp["country"][i0:i1][inv_local].astype(np.int32))),
        ],
        schema=SCHEMA,
    )
    counts = dict(cancellation_rows=int((inv_kind[inv_local] == KIND_CANCEL).sum()),
                  missing_customer_rows=int(missing.sum()), duplicate_rows=n_dup)
    return table, counts


class _Writer:
    """Deterministic streaming writer for .parquet, .csv and .csv.gz.

    Parquet: tables are buffered into row groups of ~chunk_rows rows.
    """

    def __init__(self, path: str, chunk_rows: int):
        self.path = path
        self.tmp = path + ".tmp"
        self.chunk_rows = chunk_rows
        self._buf, self._buffered = [], 0
        lower = path.lower()
        self._gz = self._raw = None
        if lower.endswith(".parquet"):
            self.kind = "parquet"
            self._w = pq.ParquetWriter(self.tmp, SCHEMA, compression="zstd")
        elif lower.endswith(".csv") or lower.endswith(".csv.gz"):
            self.kind = "csv"
            opts = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            sink = self.tmp
            if lower.endswith(".gz"):
                self._raw = open(self.tmp, "wb")
                sink = self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                                compresslevel=6, mtime=0)
            self._w = pacsv.CSVWriter(sink, SCHEMA, write_options=opts)
        else:
            raise ValueError("output must end in .parquet, .csv or .csv.gz")

    def room(self) -> int:
        return max(self.chunk_rows - self._buffered, 1)

    def write(self, table: pa.Table) -> bool:
        """Write (or buffer) a table; True when data went to the file."""
        if self.kind == "csv":
            self._w.write_table(table)
            return True
        self._buf.append(table)
        self._buffered += table.num_rows
        if self._buffered >= self.chunk_rows:
            self.flush()
            return True
        return False

    def flush(self):
        if self._buf:
            t = pa.concat_tables(self._buf)
            self._w.write_table(t, row_group_size=max(t.num_rows, 1))
            self._buf, self._buffered = [], 0

    def close(self, ok: bool = True):
        try:
            if ok:
                self.flush()
        finally:
            self._w.close()
            if self._gz is not None:
                self._gz.close()
                self._raw.close()
        if ok:
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)


def default_customers(rows: int) -> int:
    """Customers so that each averages ~124 rows (~100 identified rows), like UCI."""
    return max(1, int(round(rows / ROWS_PER_CUSTOMER)))


def generate(output_path, rows, seed=42, start_date="2009-12-01", months=24,
             chunk_rows=500_000, customers=None, progress=False) -> dict:
    """Write ~``rows`` synthetic transactions to ``output_path``; return a summary.

    The file is a pure function of (rows, seed, start_date, months, customers,
    file type); ``chunk_rows`` only sets the Parquet row-group size / the
    amount of data held in memory.  ``progress``: report to stderr every ~2 s.
    """
    t0 = time.perf_counter()
    rows = int(rows)
    chunk_rows = int(chunk_rows)
    if rows < 1000:
        raise ValueError("rows must be >= 1000")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    n_cust = default_customers(rows) if customers is None else int(customers)
    if n_cust < 1:
        raise ValueError("customers must be >= 1")
    output_path = os.fspath(output_path)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)

    root = np.random.SeedSequence(seed)
    s_cat, s_cust, s_sim, s_rest = root.spawn(4)
    start_epoch_day, edge_days, seg_month = _period(start_date, months)
    n_days = int(edge_days[-1])
    edges_sec = edge_days.astype(np.float64) * DAY
    season = np.array([SEASON[mo] for mo in seg_month])
    cust = _customers(_rng(s_cust), n_cust, float(edges_sec[-1]))
    rng = _rng(s_rest)

    # Row budget: rows ~= (sales + cancellation + adjustment lines) * (1 + dup. prob.)
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

    scale, counts = _calibrate(s_sim, cust, edges_sec, season,
                               max(cust_lines / CUSTOMER_LINES_PER_INVOICE, float(n_cust)))
    n_cinv = int(counts.sum())
    if cust_lines < n_cinv:
        raise ValueError(f"rows={rows} is too small for the simulated {n_cinv} invoices")
    n_guest = max(1, int(round(n_cinv * GUEST_INVOICES_PER_CUSTOMER_INVOICE)))
    month_w = counts + 1e-3 * max(counts.mean(), 1.0)
    guest_inv = _apportion(n_guest, month_w)
    targets = dict(
        cust_lines=counts + _apportion(cust_lines - n_cinv, counts),
        guest_inv=guest_inv,
        guest_lines=guest_inv + _apportion(guest_lines - n_guest, guest_inv),
        cancel_lines=_apportion(cancel_lines, month_w),
    )
    a_time = np.sort(_business_times(rng, rng.random(n_adjust) * edges_sec[-1],
                                     start_epoch_day, 0, n_days - 1))
    ctx = dict(
        cat=_catalogue(_rng(s_cat)), cust=cust, rng=rng, targets=targets,
        hash_key=int(root.generate_state(2, np.uint64)[0]),
        start_epoch_day=start_epoch_day, n_days=n_days, edge_days=edge_days,
        a_time=a_time, a_price=np.round(rng.lognormal(8.5, 0.6, n_adjust), 2),
        countries=pa.array([c for c, _ in COUNTRIES], pa.string()),
        state=dict(inv_no=0),
    )
    st = dict(gid=0, cseq=0, clid=0, pending=_c_empty())
    totals = dict(rows=0, cancellation_rows=0, missing_customer_rows=0, duplicate_rows=0)
    seen = np.zeros(n_cust, dtype=bool)
    first_t = last_t = None
    last_report = t0
    writer = _Writer(output_path, chunk_rows)
    ok = False
    try:
        for m, t_c, c_c in _iter_purchases(s_sim, cust, scale, edges_sec, season):
            mp = _plan_month(ctx, m, t_c, c_c, st)
            n_inv = len(mp["kind"])
            kinds_before = np.zeros((3, n_inv + 1), dtype=np.int64)
            for k in range(3):
                kinds_before[k, 1:] = np.cumsum(mp["kind"] == k)
            cum = np.concatenate([[0], np.cumsum(mp["lines"])])
            i0 = 0
            while i0 < n_inv:
                # Fill the current row group; at least one whole invoice per piece.
                i1 = int(np.searchsorted(cum, cum[i0] + min(writer.room(), _SUB_BATCH * 4), side="right")) - 1
                i1 = min(max(i1, i0 + 1), n_inv)
                table, cnt = _emit(ctx, mp, i0, i1, kinds_before)
                for k, v in cnt.items():
                    totals[k] += v
                totals["rows"] += table.num_rows
                flushed = writer.write(table)
                del table
                i0 = i1
                now = time.perf_counter()
                if progress and flushed and now - last_report >= 2.0:
                    last_report = now
                    print(f"generate_transactions: {totals['rows']:,} rows "
                          f"({100.0 * totals['rows'] / rows:.1f}%) {now - t0:.1f}s",
                          file=sys.stderr, flush=True)
            # Cancellations due in a later month keep their (now known) line values.
            ln = mp["later_new"]
            nw = ln["src_idx"]
            for k in ("prod", "qty", "price"):
                ln[k] = mp["store"][k][nw]
            ln["src_new"] = np.zeros(len(nw), bool)
            st["pending"] = _c_concat(st["pending"], ln)
            ctx["state"]["inv_no"] += n_inv
            if n_inv:
                first_t = mp["time"][0] if first_t is None else first_t
                last_t = mp["time"][-1]
                seen[mp["cust_idx"][mp["cust_idx"] >= 0]] = True
        ok = True
    finally:
        writer.close(ok)

    fmt = lambda s: str(np.datetime64(int(s) + start_epoch_day * DAY, "s")).replace("T", " ")  # noqa: E731
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
        "adjustment_invoices": n_adjust,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    a = ap.parse_args(argv)
    s = generate(a.output, a.rows, seed=a.seed, start_date=a.start_date, months=a.months,
                 chunk_rows=a.chunk_rows, customers=a.customers, progress=not a.quiet)
    rate = s["rows"] / max(s["seconds"], 1e-9)
    print(f"wrote {s['rows']:,} rows, {s['invoices']:,} invoices, {s['customers']:,} customers "
          f"({s['first_invoice_date']} .. {s['last_invoice_date']}) to {s['output']} "
          f"in {s['seconds']:.1f}s ({rate:,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
