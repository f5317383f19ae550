"""A month's invoices: the plan (who, when, how many lines) and its lines as Arrow tables."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .budget import allocate
from .cancellations import cancel_line_values, due_cancellations, new_cancellations
from .catalogue import COUNTRIES, SP_ADJUST, UK
from .dates import business_times
from .params import (
    DAY,
    DUPLICATE_PROB,
    FIRST_INVOICE_NO,
    KIND_ADJUST,
    KIND_CANCEL,
    KIND_SALE,
    SCHEMA,
    SUB_BATCH,
)
from .randomness import STREAM_SALE_DUP, hash_uniforms
from .sales import sales_lines

_PREFIXES = np.array(["", "C", "A"])


# --- month plan -------------------------------------------------------------------
def _plan_sales(ctx, m, t_c, c_c, st):
    """Sales invoices of month m: customers' purchases plus guest invoices.

    ``t_c``/``c_c``: the customers' purchase times and indices.  Returns a dict
    of per-invoice arrays in chronological order -- time (business time, rel.
    seconds), cust (-1 for guests), is_guest, lines, country -- and ``off``
    (global id of each invoice's first sales line, plus the end); advances
    ``st["gid"]``.
    """
    rng, cust, tg = ctx["rng"], ctx["cust"], ctx["targets"]
    ms_day, me_day = int(ctx["edge_days"][m]), int(ctx["edge_days"][m + 1])
    ms, me = ms_day * DAY, me_day * DAY
    n_g = int(tg["guest_inv"][m])
    t_g = ms + rng.random(n_g) * (me - ms)
    s_time = business_times(rng, np.concatenate([t_c, t_g]), ctx["start_epoch_day"], ms_day, me_day - 1)
    s_cust = np.concatenate([c_c, np.full(n_g, -1, dtype=np.int64)])
    order = np.lexsort((rng.permutation(len(s_time)), s_time))
    s_time, s_cust = s_time[order], s_cust[order]
    is_guest = s_cust < 0
    ci = s_cust[~is_guest]
    s_lines = np.empty(len(s_time), dtype=np.int64)
    cw = cust["basket"][ci] * rng.gamma(1.3, 1.0 / 1.3, len(ci))
    s_lines[~is_guest] = allocate(rng, cw, int(tg["cust_lines"][m]))
    s_lines[is_guest] = allocate(rng, rng.gamma(0.9, 1.0 / 0.9, n_g), int(tg["guest_lines"][m]))
    s_off = st["gid"] + np.concatenate([[0], np.cumsum(s_lines)])  # global sales line ids
    s_country = np.empty(len(s_time), dtype=np.int16)
    s_country[~is_guest] = cust["country"][ci]
    s_country[is_guest] = np.where(rng.random(n_g) < 0.97, UK,
                                   rng.integers(1, len(COUNTRIES), n_g))
    st["gid"] = int(s_off[-1])
    return dict(time=s_time, cust=s_cust, is_guest=is_guest, lines=s_lines, off=s_off,
                country=s_country)


def _merge_invoices(sales, cancels, a_time, a_price):
    """All of a month's invoices in chronological order (ties: sales, cancellations, adjustments).

    Returns the plan's per-invoice arrays (kind, time, local = index within its
    kind, lines, cust_idx, country) plus the per-kind arrays that the lines
    are generated from.
    """
    s_time, s_cust, s_lines, s_country = sales["time"], sales["cust"], sales["lines"], sales["country"]
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
        s_cust=s_cust, s_country=s_country, s_lines=s_lines, s_off=sales["off"],
        cancels=cancels, c_off=np.concatenate([[0], np.cumsum(cancels["lines"])]),
        a_price=a_price,
    )


def plan_month(ctx, m, t_c, c_c, st):
    """Invoices of month m in chronological order (sales, cancellations, adjustments).

    ``t_c``/``c_c``: customer purchase times/indices of the month; ``st``: state
    carried between months (line ids, pending cancellations).  Returns the
    month plan dict (see _merge_invoices), with ``store`` and ``later_new``
    for the cancelled lines' values.
    """
    ms, me = int(ctx["edge_days"][m]) * DAY, int(ctx["edge_days"][m + 1]) * DAY
    sales = _plan_sales(ctx, m, t_c, c_c, st)
    new, ref_gid = new_cancellations(ctx, st, sales, int(ctx["targets"]["cancel_lines"][m]))
    cancels, store, later_new = due_cancellations(st, new, ref_gid, me)
    # Bad-debt adjustments falling into this month.
    a_sel = (ctx["a_time"] >= ms) & (ctx["a_time"] < me)
    mp = _merge_invoices(sales, cancels, ctx["a_time"][a_sel], ctx["a_price"][a_sel])
    mp.update(store=store, later_new=later_new)
    return mp


def kinds_before(kind):
    """(3, n + 1) array: invoices of each kind before each position of ``kind``."""
    out = np.zeros((3, len(kind) + 1), dtype=np.int64)
    for k in range(3):
        out[k, 1:] = np.cumsum(kind == k)
    return out


# --- lines of a slice of invoices ---------------------------------------------------------
def _sales_line_values(ctx, mp, sa, sb, ns):
    """Values of the ``ns`` lines of sales invoices [sa, sb), in bounded sub-batches.

    Returns (product, quantity, price, duplicate flag) and copies the values
    of cancelled lines into the month's store.
    """
    s_off = mp["s_off"]
    g0 = int(s_off[sa])
    sp = np.empty(ns, dtype=np.int32)
    sq = np.empty(ns, dtype=np.int64)
    spr = np.empty(ns, dtype=np.float64)
    cuts = np.searchsorted(s_off[sa:sb + 1] - g0, np.arange(SUB_BATCH, ns, SUB_BATCH))
    cuts = np.unique(np.concatenate([[0], cuts, [sb - sa]]))
    for a, b in zip(cuts[:-1] + sa, cuts[1:] + sa):
        la, lb = int(s_off[a]) - g0, int(s_off[b]) - g0
        s_inv = np.repeat(np.arange(a, b), mp["s_lines"][a:b])
        sp[la:lb], sq[la:lb], spr[la:lb] = sales_lines(ctx, mp, g0 + la, s_inv)
    dup = hash_uniforms(np.arange(g0, g0 + ns), ctx["hash_key"], STREAM_SALE_DUP)[0] < DUPLICATE_PROB
    store = mp["store"]
    lo, hi = np.searchsorted(store["gid"], [g0, g0 + ns])
    if hi > lo:
        tgt, src = store["order"][lo:hi], store["gid"][lo:hi] - g0
        store["prod"][tgt], store["qty"][tgt], store["price"][tgt] = sp[src], sq[src], spr[src]
    return sp, sq, spr, dup


def _line_values(ctx, mp, i0, i1, kb, k_line, inv_local):
    """Product, quantity, price and duplicate flag of every line of invoices [i0, i1).

    ``kb``: kinds_before of the plan; ``k_line``/``inv_local``: kind and
    slice-local invoice of each line.
    """
    n_lines = len(k_line)
    prod = np.empty(n_lines, dtype=np.int32)
    qty = np.empty(n_lines, dtype=np.int64)
    price = np.empty(n_lines, dtype=np.float64)
    dup = np.zeros(n_lines, dtype=bool)
    sm = k_line == KIND_SALE
    ns = int(sm.sum())
    if ns:
        sa, sb = int(kb[KIND_SALE, i0]), int(kb[KIND_SALE, i1])
        prod[sm], qty[sm], price[sm], dup[sm] = _sales_line_values(ctx, mp, sa, sb, ns)
    cm = k_line == KIND_CANCEL
    nc = int(cm.sum())
    if nc:
        k0 = int(mp["c_off"][kb[KIND_CANCEL, i0]])
        prod[cm], qty[cm], price[cm], dup[cm] = cancel_line_values(ctx, mp, k0, nc)
    am = k_line == KIND_ADJUST  # bad-debt adjustments
    if am.any():
        prod[am] = SP_ADJUST
        qty[am] = 1
        price[am] = mp["a_price"][mp["local"][i0:i1][inv_local[am]]]
    return prod, qty, price, dup


def _to_table(ctx, mp, i0, i1, inv_local, prod, qty, price):
    """Arrow table (SCHEMA) of lines with slice-local invoices ``inv_local``.

    Returns (table, per-line mask of lines without a CustomerID).
    """
    cat = ctx["cat"]
    first_no = FIRST_INVOICE_NO + ctx["state"]["inv_no"] + i0
    numbers = pa.array(np.arange(first_no, first_no + (i1 - i0)))
    inv_no = pc.binary_join_element_wise(
        pa.array(_PREFIXES[mp["kind"][i0:i1]]), pc.cast(numbers, pa.string()), "")
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
    return table, missing


def emit(ctx, mp, i0, i1, kb):
    """Arrow table with the lines of the month's invoices [i0, i1), and its counts.

    ``kb``: kinds_before(mp["kind"]).  Returns (table, dict of
    cancellation_rows, missing_customer_rows, duplicate_rows).
    """
    nl = mp["lines"][i0:i1]
    inv_local = np.repeat(np.arange(i1 - i0, dtype=np.int32), nl)
    k_line = mp["kind"][i0:i1][inv_local]
    prod, qty, price, dup = _line_values(ctx, mp, i0, i1, kb, k_line, inv_local)
    # Exact duplicates: a line repeated right after itself.
    n_dup = int(dup.sum())
    if n_dup:
        rep = 1 + dup.astype(np.int64)
        inv_local, prod, qty, price = (np.repeat(a, rep) for a in (inv_local, prod, qty, price))
    table, missing = _to_table(ctx, mp, i0, i1, inv_local, prod, qty, price)
    inv_kind = mp["kind"][i0:i1]
    counts = dict(cancellation_rows=int((inv_kind[inv_local] == KIND_CANCEL).sum()),
                  missing_customer_rows=int(missing.sum()), duplicate_rows=n_dup)
    return table, counts
