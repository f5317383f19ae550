"""The customer list of one generation without a query per request.

Built once when a generation loads, from its in-memory `customers` table (one row per customer,
in customer_id order): for every sort key of `queries.SORTABLE` and both directions, the row order
that `select ... order by <key> nulls last, customer_id` gives (computed by DuckDB itself with that
very ORDER BY clause, so NULLs, NaN, ties and string order are the SQL's), and the filter columns
as numpy arrays (the categorical ones as codes). A page is then a boolean mask of the filters
(vectorised, with SQL's semantics: NULL never matches, NaN is larger than any number), the first
`offset + limit` matching rows along the sort's row order, and those rows' list columns.

In: the DuckDB cursor of the generation's database and the customers table as Arrow (same row
order as the table's rowid). Out: (matching customers, the page as a list of dicts), the same
rows, values and order as the SQL of `queries.Filters.where()` and `queries.order_by()` over
that table (tests/e2e/test_serve.py compares them).
"""
from __future__ import annotations

import bisect
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retention.outputs.report.formatting import clean
from retention.serve.queries import LIST_COLUMNS, SORTABLE, Filters, order_by

# Filter -> the column it reads (categorical filters; values matched by equality, as SQL `in`).
CATEGORICAL = {"quadrant": "quadrant_key", "segment": "rfm_segment", "cluster": "cluster_id",
               "risk_band": "risk_band", "country": "country"}
# Reading a sort's row order in slices of this many rows until the page is full.
FIRST_SLICE = 4096
# Rough costs (ns) that choose between reading the sort's order until the page is full (per row
# read) and sorting the matching rows by their rank in it (per row masked, per match sorted).
_SCAN_NS, _NONZERO_NS, _SORT_NS = 3.0, 0.5, 60.0


class CustomerIndex:
    def __init__(self, cur, customers: pa.Table):
        self.n = customers.num_rows
        self.ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=str)  # sorted: binary search
        self.row_orders = {sort: _row_order(cur, sort) for column in SORTABLE for sort in (column, "-" + column)}
        self.ranks = {sort: _ranks(order) for sort, order in self.row_orders.items()}
        if not np.array_equal(self.row_orders["customer_id"], np.arange(self.n)):
            raise ValueError("the customers table is not in customer_id order")  # lookups search it by id
        self.codes, self.code_of = {}, {}
        for name, column in CATEGORICAL.items():
            encoded = pc.dictionary_encode(customers.column(column).combine_chunks())
            codes = pc.fill_null(encoded.indices, -1).to_numpy()
            self.codes[name] = codes.astype(np.int8 if len(encoded.dictionary) < 127 else np.int32)
            self.code_of[name] = {v: k for k, v in enumerate(encoded.dictionary.to_pylist())}
        # churn_probability for `>= x` and for `<= x` with SQL's answers: NULL never matches (NaN
        # here), NaN is larger than any number (+inf for >=, NaN for <=)
        probability = customers.column("churn_probability").to_numpy(zero_copy_only=False).astype(np.float64)
        known = pc.is_valid(customers.column("churn_probability")).to_numpy(zero_copy_only=False)
        self.probability_at_least = np.where(known & np.isnan(probability), np.inf, probability)
        self.probability_at_least[~known] = np.nan
        self.probability_at_most = np.where(known, probability, np.nan)
        targeted = customers.column("is_targeted")
        self.targeted = pc.fill_null(targeted, False).to_numpy(zero_copy_only=False)
        self.targeted_known = pc.is_valid(targeted).to_numpy(zero_copy_only=False)
        self.list_columns = []
        for name in LIST_COLUMNS:
            values, kind = customers.column(name).combine_chunks(), column_kind(customers.column(name).type)
            if pa.types.is_date32(values.type):  # ISO text, as the JSON has it (Arrow's cast is date.isoformat)
                values, kind = values.cast(pa.string()), "plain"
            self.list_columns.append((name, values, kind))

    # ------------------------------------------------------------------ filters
    def mask(self, filters: Filters) -> np.ndarray | None:
        """The rows the filters select, or None when they select every row."""
        mask = None

        def narrow(selected: np.ndarray) -> None:
            nonlocal mask
            mask = selected if mask is None else (mask & selected)

        for name in CATEGORICAL:
            values = getattr(filters, name)
            if values:
                codes = [self.code_of[name][v] for v in values if v in self.code_of[name]]
                narrow(np.isin(self.codes[name], codes) if len(codes) != 1 else self.codes[name] == codes[0])
        if filters.min_probability is not None:
            narrow(self.probability_at_least >= filters.min_probability)
        if filters.max_probability is not None:
            narrow(self.probability_at_most <= filters.max_probability)
        if filters.targeted is not None:
            narrow(self.targeted_known & (self.targeted == filters.targeted))
        if filters.q:
            lo, hi = self._prefix_range(filters.q)
            selected = np.zeros(self.n, dtype=bool)
            selected[lo:hi] = True
            narrow(selected)
        return mask

    def _prefix_range(self, prefix: str) -> tuple[int, int]:
        """Rows whose customer_id starts with prefix: one run of the id-ordered rows."""
        lo = int(np.searchsorted(self.ids, prefix))
        hi = bisect.bisect_left(self.ids, True, lo=lo, key=lambda i: not i.startswith(prefix))
        return lo, hi

    # ------------------------------------------------------------------ pages
    def page(self, filters: Filters, sort: str, limit: int, offset: int,
             totals: dict | None = None) -> tuple[int, list[dict]]:
        """(customers matching the filters, the page's rows as dicts of LIST_COLUMNS). `totals`
        caches the counts of one generation by filters."""
        order_by(sort)  # FilterError for a sort that is not whitelisted
        order = self.row_orders[sort]
        mask = self.mask(filters)
        if mask is None:
            return self.n, self.rows(order[offset:offset + limit])
        key = filters.key()
        total = totals.get(key) if totals is not None else None
        if total is None:
            total = int(np.count_nonzero(mask))
            if totals is not None:
                if len(totals) > 10_000:
                    totals.clear()
                totals[key] = total
        need = offset + limit
        if _SCAN_NS * need * self.n / max(total, 1) > _NONZERO_NS * self.n + _SORT_NS * total:
            # few matches: reading the order until the page is full would read most of it
            matches = np.flatnonzero(mask)
            ranks = self.ranks[sort][matches]
            if need < len(matches):
                chosen = np.argpartition(ranks, need - 1)[:need]
                matches, ranks = matches[chosen], ranks[chosen]
            return total, self.rows(matches[np.argsort(ranks)][offset:])
        return total, self.rows(_first_matches(order, mask, need, total)[offset:])

    def rows(self, positions: np.ndarray) -> list[dict]:
        """The list columns of these rows, as the SQL path's `clean`ed values (NaN -> None)."""
        taken = pa.array(positions, type=pa.int64())
        columns = []
        for name, values, kind in self.list_columns:
            column = values.take(taken).to_pylist()
            if kind == "float":  # NaN and infinities are NULLs in the JSON, as `clean` makes them
                column = [None if v is not None and not math.isfinite(v) else v for v in column]
            elif kind == "other":
                column = [clean(v) for v in column]
            columns.append(column)
        names = [name for name, _, _ in self.list_columns]
        return [dict(zip(names, row)) for row in zip(*columns)]


def column_kind(arrow_type) -> str:
    """How a column's Arrow values become the JSON's: "plain" (strings, integers, booleans and
    dates are already what `clean` returns), "float" (NaN -> None) or "other" (through `clean`)."""
    if pa.types.is_floating(arrow_type):
        return "float"
    plain = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_boolean,
             pa.types.is_date)
    return "plain" if any(test(arrow_type) for test in plain) else "other"


def _row_order(cur, sort: str) -> np.ndarray:
    """The table's row numbers in the order of the SQL sort (the same ORDER BY clause)."""
    rows = cur.execute(f"select rowid from customers{order_by(sort)}").fetchnumpy()["rowid"]
    return np.asarray(rows, dtype=np.int32)


def _ranks(order: np.ndarray) -> np.ndarray:
    """Each row's place in the order (the inverse permutation)."""
    ranks = np.empty_like(order)
    ranks[order] = np.arange(len(order), dtype=order.dtype)
    return ranks


def _first_matches(order: np.ndarray, mask: np.ndarray, count: int, total: int) -> np.ndarray:
    """The first `count` rows of `order` where mask is true, reading `order` in slices: the first
    one as long as the matches' share says it takes (a quarter more), then doubling."""
    if total == 0:
        return order[:0]
    found, start, missing = [], 0, count
    size = max(FIRST_SLICE, int(1.25 * count * len(order) / max(total, 1)))
    while missing > 0 and start < len(order):
        part = order[start:start + size]
        found.append(part[mask[part]])
        missing -= len(found[-1])
        start += size
        size *= 2
    return np.concatenate(found)[:count] if found else order[:0]
