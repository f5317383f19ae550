"""Cancellations ("C" invoices): negative copies of lines a customer bought earlier.

A cancellation set is a dict of parallel arrays: per invoice (``C_INV``:
time, seq, cust, country, lines) and per line (``C_LINE``: line id, whether
the line is a random product / a partial cancellation and its fraction, and
where its product, quantity and price come from).  A new cancellation's
values are copied from the cancelled sales line once that line has been
generated (``src_new``/``src_idx`` point into the month's store); one due in
a later month is carried over with the values filled in.
"""
from __future__ import annotations

import numpy as np

from .catalogue import zipf_products
from .dates import business_times
from .params import CANCEL_EXTRA_LINES_MEAN, CANCEL_RANDOM_PRODUCT, DAY, DUPLICATE_PROB
from .randomness import STREAM_CANCEL_DUP, STREAM_CANCEL_RANDOM, hash_uniforms

C_INV = ("time", "seq", "cust", "country", "lines")
C_LINE = ("lid", "rnd", "part", "frac", "src_new", "src_idx", "prod", "qty", "price")


# --- cancellation sets ------------------------------------------------------------
def c_take(c, inv_mask):
    """Subset of a cancellation set by an invoice mask (line arrays follow)."""
    line_mask = np.repeat(inv_mask, c["lines"])
    out = {k: c[k][inv_mask] for k in C_INV}
    out.update({k: c[k][line_mask] for k in C_LINE})
    return out


def c_concat(a, b):
    """Cancellation set ``a`` followed by ``b``."""
    return {k: np.concatenate([a[k], b[k]]) for k in C_INV + C_LINE}


def c_sort(c):
    """Cancellation set sorted by (time, seq), line arrays following their invoices."""
    o = np.lexsort((c["seq"], c["time"]))
    off = np.concatenate([[0], np.cumsum(c["lines"])])
    ln = c["lines"][o]
    line_o = np.repeat(off[o] - (np.cumsum(ln) - ln), ln) + np.arange(int(ln.sum()))
    out = {k: c[k][o] for k in C_INV}
    out.update({k: c[k][line_o] for k in C_LINE})
    return out


def c_empty():
    """An empty cancellation set with the right dtypes."""
    d = {k: np.zeros(0, np.int64) for k in ("time", "seq", "cust", "lines", "lid", "src_idx", "qty")}
    d.update(country=np.zeros(0, np.int16), rnd=np.zeros(0, bool), part=np.zeros(0, bool),
             frac=np.zeros(0), src_new=np.zeros(0, bool), prod=np.zeros(0, np.int32),
             price=np.zeros(0))
    return d


# --- new cancellations of a month -------------------------------------------------------
def _cancelled_invoices(rng, sales, want):
    """Which of the month's customer invoices are cancelled, and how many lines each.

    ``sales``: the month's sales invoices (see invoices.plan_month); ``want``:
    target cancellation lines.  Returns (sorted sales invoice indices, lines
    per cancellation, at most the cancelled invoice's lines).
    """
    s_lines = sales["lines"]
    cust_inv = np.flatnonzero(~sales["is_guest"])
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
    return ref, c_lines


def _cancel_times(rng, ctx, r_time):
    """Times of cancellations of invoices at ``r_time`` (rel. seconds).

    Half follow within minutes, the others some business days later; always
    after the cancelled invoice and inside the period.
    """
    k, sed, n_days = len(r_time), ctx["start_epoch_day"], ctx["n_days"]
    delay = np.where(rng.random(k) < 0.5, 0, 1 + rng.geometric(0.15, k))
    later = business_times(rng, ((r_time // DAY + delay) * DAY).astype(np.float64), sed, 0, n_days - 1)
    soon = r_time + 60 * rng.integers(1, 180, k)
    soon = np.where(soon % DAY > 20 * 3600 + 59 * 60, r_time + 60, soon)
    c_time = np.where(delay == 0, soon, later)
    return np.where((c_time <= r_time) | (c_time >= n_days * DAY), r_time + 60, c_time)


def _cancelled_line_ids(sales, ref, c_lines, c_start):
    """Global sales line ids cancelled: consecutive lines (cyclic) from ``c_start``."""
    s_lines, s_off = sales["lines"], sales["off"]
    n_cl = int(c_lines.sum())
    cl_inv = np.repeat(np.arange(len(ref)), c_lines)
    cl_pos = np.arange(n_cl) - np.repeat(np.cumsum(c_lines) - c_lines, c_lines)
    return s_off[ref[cl_inv]] + (c_start[cl_inv] + cl_pos) % s_lines[ref[cl_inv]]


def new_cancellations(ctx, st, sales, want):
    """Cancellations of the month's customer invoices (drawn from ``ctx["rng"]``).

    ``st``: running state (``cseq``/``clid`` are advanced); ``sales``: the
    month's sales invoices; ``want``: target lines.  Returns (cancellation set
    with values still to be filled, global sales line id cancelled by each line).
    """
    rng = ctx["rng"]
    ref, c_lines = _cancelled_invoices(rng, sales, want)
    k = len(ref)
    c_start = (rng.random(k) * sales["lines"][ref]).astype(np.int64)
    c_time = _cancel_times(rng, ctx, sales["time"][ref])
    n_cl = int(c_lines.sum())
    ref_gid = _cancelled_line_ids(sales, ref, c_lines, c_start)
    new = dict(
        time=c_time, seq=st["cseq"] + np.arange(k), cust=sales["cust"][ref],
        country=sales["country"][ref], lines=c_lines, lid=st["clid"] + np.arange(n_cl),
        rnd=rng.random(n_cl) < CANCEL_RANDOM_PRODUCT, part=rng.random(n_cl) < 0.25,
        frac=rng.random(n_cl), src_new=np.ones(n_cl, bool), src_idx=np.arange(n_cl),
        prod=np.zeros(n_cl, np.int32), qty=np.zeros(n_cl, np.int64), price=np.zeros(n_cl),
    )
    st["cseq"] += k
    st["clid"] += n_cl
    return new, ref_gid


def due_cancellations(st, new, ref_gid, me):
    """Split pending and new cancellations into this month's and later ones.

    ``me``: month end (rel. seconds).  Returns (this month's cancellations,
    sorted; the store for the cancelled lines' values, filled while the
    month's sales lines are generated -- a cancellation always follows the
    line it cancels; new cancellations due later, values filled after the
    month).  ``st["pending"]`` keeps the old ones not yet due.
    """
    ref_order = np.argsort(ref_gid, kind="stable")
    store = dict(order=ref_order, gid=ref_gid[ref_order], prod=new["prod"], qty=new["qty"],
                 price=new["price"])
    due_new = new["time"] < me
    pend = st["pending"]
    due_old = pend["time"] < me
    cancels = c_sort(c_concat(c_take(pend, due_old), c_take(new, due_new)))
    st["pending"] = c_take(pend, ~due_old)
    later_new = c_take(new, ~due_new)
    return cancels, store, later_new


def carry_over(mp, st):
    """After a month: its cancellations due later take their (now known) values into ``st``."""
    ln = mp["later_new"]
    nw = ln["src_idx"]
    for k in ("prod", "qty", "price"):
        ln[k] = mp["store"][k][nw]
    ln["src_new"] = np.zeros(len(nw), bool)
    st["pending"] = c_concat(st["pending"], ln)


# --- cancellation lines ---------------------------------------------------------------------
def cancel_line_values(ctx, mp, k0, nc):
    """Product, (negative) quantity, price and duplicate flag of cancellation lines k0..k0+nc-1.

    Lines are negative copies of the cancelled lines; a random share gets a
    random product instead, and some cancel only part of the quantity.
    """
    cat, key = ctx["cat"], ctx["hash_key"]
    c, store = mp["cancels"], mp["store"]
    sl = slice(k0, k0 + nc)
    cp, cq, cpr = c["prod"][sl].copy(), c["qty"][sl].copy(), c["price"][sl].copy()
    nw = c["src_new"][sl]
    si = c["src_idx"][sl][nw]
    cp[nw], cq[nw], cpr[nw] = store["prod"][si], store["qty"][si], store["price"][si]
    lid = c["lid"][sl]
    rnd = c["rnd"][sl]
    if rnd.any():
        ua, ub = hash_uniforms(lid[rnd], key, STREAM_CANCEL_RANDOM)
        cp[rnd] = zipf_products(cat, ua)
        cq[rnd] = 1 + (ub * 6).astype(np.int64)
        cpr[rnd] = cat["price"][cp[rnd]]
    part = c["part"][sl] & (cq > 1)
    cq[part] = np.maximum(1, np.floor(cq[part] * c["frac"][sl][part])).astype(np.int64)
    dup = hash_uniforms(lid, key, STREAM_CANCEL_DUP)[0] < DUPLICATE_PROB
    return cp, -cq, cpr, dup
