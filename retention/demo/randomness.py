"""Random-number helpers: seeded generators and counter-based line hashes.

Month-level quantities come from seeded ``numpy.random.Generator`` streams
(their call order is part of the output).  Per-line attributes come from a
splitmix64 hash of (key, stream, line id) instead, so a line's values do not
depend on how the lines are batched and a cancellation can recompute them.
"""
from __future__ import annotations

import numpy as np

# Hash streams (the ``stream`` argument of hash_uniforms).  Never renumber
# them: the data depend on the numbers.
STREAM_PRODUCT = 1  # sales: two Zipf draws (the first also prices special codes)
STREAM_PICK_QTY = 2  # sales: pricier-of-two choice, quantity multiplier
STREAM_CODES = 3  # sales: non-product codes, zero prices
STREAM_SALE_DUP = 4  # sales: duplicated line
STREAM_CANCEL_RANDOM = 5  # cancellations: product/quantity of unmatched lines
STREAM_CANCEL_DUP = 6  # cancellations: duplicated line
STREAM_LOOSE = 7  # sales: loose units instead of packs
STREAM_REPEAT = 10  # sales: 10 + round of the "no product twice" pass

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV32 = 1.0 / 4294967296.0
_LO32 = np.uint64(0xFFFFFFFF)


def hash_uniforms(ids: np.ndarray, key: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
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


def make_rng(seq: np.random.SeedSequence) -> np.random.Generator:
    """A PCG64 generator for ``seq`` (the same sequence gives the same stream)."""
    return np.random.Generator(np.random.PCG64(seq))
