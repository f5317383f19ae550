"""Sales lines: product, quantity and unit price of each line, from line hashes."""
from __future__ import annotations

import numpy as np

from .catalogue import (
    EIRE,
    N_PRODUCTS,
    SP_AMAZON,
    SP_BANK,
    SP_C2,
    SP_DOT,
    SP_M,
    SP_POST,
    UK,
    zipf_products,
)
from .params import (
    AMAZONFEE_PROB,
    BANK_CHARGES_PROB,
    BULK_DISCOUNT,
    BULK_QTY,
    C2_PROB,
    DOT_PROB,
    MANUAL_PROB,
    POST_PROB,
    ZERO_PRICE_PROB,
)
from .randomness import (
    STREAM_CODES,
    STREAM_LOOSE,
    STREAM_PICK_QTY,
    STREAM_PRODUCT,
    STREAM_REPEAT,
    hash_uniforms,
)


def _line_buyers(ctx, mp, s_inv):
    """Per-line invoice attributes of sales lines of month-local invoices ``s_inv``.

    Returns (is guest, country code, price preference, quantity mean); guests
    have a fixed price preference (0.2) and quantity mean (0.5).
    """
    cust = ctx["cust"]
    c = mp["s_cust"][s_inv]
    guest = c < 0
    ci = np.where(guest, 0, c)
    country = mp["s_country"][s_inv]
    pref = np.where(guest, 0.2, cust["price_pref"][ci])
    qmean = np.where(guest, 0.5, cust["qty_mean"][ci])
    return guest, country, pref, qmean


def _no_repeats(prod, s_inv, gid, key):
    """Move a product's repeats within an invoice to other products (in place, <= 4 rounds)."""
    n = len(s_inv)
    for rnd in range(4):
        keyv = (s_inv - s_inv[0]) * (N_PRODUCTS + 64) + prod
        o = np.argsort(keyv, kind="stable")
        ks = keyv[o]
        dup = np.zeros(n, dtype=bool)
        dup[o[1:][ks[1:] == ks[:-1]]] = True
        del keyv, o, ks
        if not dup.any():
            break
        ua, _ = hash_uniforms(gid[dup], key, STREAM_REPEAT + rnd)
        prod[dup] = (prod[dup] + 1 + (ua * 997).astype(np.int64)) % N_PRODUCTS


def _quantities_and_prices(cat, prod, guest, qmean, u4, u6, u7, u8):
    """Quantity and unit price of product lines ``prod``.

    Quantity: pack size x (1 + geometric-ish multiplier scaled by spend), or a
    few loose units.  Price: list price, bulk discount from BULK_QTY, rarely 0.
    """
    pack = cat["pack"][prod]
    qty = pack * (1 + np.floor(-np.log1p(-u4) * qmean).astype(np.int64))
    loose = u7 < np.where(guest, 0.7, 0.3)
    qty = np.where(loose, 1 + (u8 * np.minimum(pack, 6)).astype(np.int64), qty)
    del pack, loose
    price = cat["price"][prod]
    price = np.where(qty >= BULK_QTY, np.round(price * BULK_DISCOUNT, 2), price)
    price = np.where(u6 < ZERO_PRICE_PROB, 0.0, price)
    return qty, price


def _special_codes(guest, country, pos, nl, u5, u6):
    """Masks of the lines that become non-product codes.

    ``pos`` / ``nl``: line position in its invoice / invoice line count.
    Returns a dict of boolean masks: post, dot, c2, manual, bank, amazon.
    """
    foreign = (country != UK) & ~guest
    post = foreign & (pos == 0) & (nl > 1) & (u5 < POST_PROB)
    last = pos == nl - 1
    dot = guest & (country == UK) & last & (nl > 1) & (u5 < DOT_PROB)
    c2 = (country == EIRE) & last & (nl > 1) & (u5 < C2_PROB) & ~post
    plain = ~(post | dot | c2)
    manual = plain & (u6 >= 0.99) & (u6 < 0.99 + MANUAL_PROB)
    bank = plain & (u6 >= 0.98) & (u6 < 0.98 + BANK_CHARGES_PROB)
    amazon = plain & guest & (u6 >= 0.97) & (u6 < 0.97 + AMAZONFEE_PROB)
    return dict(post=post, dot=dot, c2=c2, manual=manual, bank=bank, amazon=amazon)


def _apply_special_codes(prod, qty, price, sp, u1, u4):
    """Overwrite (in place) the lines of the masks ``sp`` with their code, quantity, price."""
    post, dot, c2 = sp["post"], sp["dot"], sp["c2"]
    manual, bank, amazon = sp["manual"], sp["bank"], sp["amazon"]
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


def sales_lines(ctx, mp, gid0, s_inv):
    """Product, quantity and unit price of the sales lines gid0, gid0+1, ...

    ``ctx``: generation context (catalogue, customers, hash key); ``mp``: the
    month plan; ``s_inv`` holds the month-local sales invoice of each line
    (whole invoices).  Returns (product index int32, quantity int64, price).
    """
    cat, key = ctx["cat"], ctx["hash_key"]
    n = len(s_inv)
    gid = np.arange(gid0, gid0 + n, dtype=np.int64)
    pos = gid - mp["s_off"][s_inv]
    nl = mp["s_lines"][s_inv]
    guest, country, pref, qmean = _line_buyers(ctx, mp, s_inv)

    u1, u2 = hash_uniforms(gid, key, STREAM_PRODUCT)
    u3, u4 = hash_uniforms(gid, key, STREAM_PICK_QTY)
    u5, u6 = hash_uniforms(gid, key, STREAM_CODES)
    u7, u8 = hash_uniforms(gid, key, STREAM_LOOSE)

    # Product: Zipf draw; with prob. price_pref take the pricier of two draws.
    p1, p2 = zipf_products(cat, u1), zipf_products(cat, u2)
    price_tab = cat["price"]
    prod = np.where((u3 < pref) & (price_tab[p2] > price_tab[p1]), p2, p1).astype(np.int64)
    del p1, p2, u2, u3

    _no_repeats(prod, s_inv, gid, key)  # no product twice in one invoice
    qty, price = _quantities_and_prices(cat, prod, guest, qmean, u4, u6, u7, u8)
    del u7, u8
    _apply_special_codes(prod, qty, price, _special_codes(guest, country, pos, nl, u5, u6), u1, u4)
    return prod.astype(np.int32), qty, price
