"""The customer list: filters checked against the values the served build knows, a whitelisted
sort, bounded pages, and SQL with every value as a parameter (column names come only from the
whitelists below, never from a request)."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Iterator

from retention.outputs.report.formatting import clean

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000
HISTOGRAM_BINS = 10
LIST_COLUMNS = (
    "customer_id", "country", "rfm_segment", "cluster_id", "cluster_name", "risk_band", "decision_quadrant",
    "quadrant_key", "churn_probability", "value_if_retained", "clv", "expected_incremental_profit", "plan_rank",
    "is_targeted", "recency_days", "frequency", "monetary", "last_order_date", "action", "top_drivers",
)
SORTABLE = ("expected_incremental_profit", "churn_probability", "value_if_retained", "clv", "plan_rank",
            "recency_days", "frequency", "monetary", "last_order_date", "customer_id", "country")
DEFAULT_SORT = "-expected_incremental_profit"
_SEARCH = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


class FilterError(ValueError):
    """A filter value the served build does not know, with the field it came from."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass
class Filters:
    quadrant: list[str] = field(default_factory=list)
    segment: list[str] = field(default_factory=list)
    cluster: list[int] = field(default_factory=list)
    risk_band: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    min_probability: float | None = None
    max_probability: float | None = None
    targeted: bool | None = None
    q: str | None = None

    def check(self, known: dict[str, list]) -> "Filters":
        """Raise FilterError for any value the build does not have."""
        for name in ("quadrant", "segment", "cluster", "risk_band", "country"):
            allowed = set(known.get(name) or [])
            for value in getattr(self, name):
                if value not in allowed:
                    shown = ", ".join(str(v) for v in sorted(allowed, key=str)[:12])
                    more = f" (and {len(allowed) - 12} more: GET /api/filters)" if len(allowed) > 12 else ""
                    raise FilterError(name, f"{name} {str(value)[:80]!r} is not one of this warehouse's values: "
                                            f"{shown}{more}")
        for name in ("min_probability", "max_probability"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise FilterError(name, f"{name} must be between 0 and 1, got {value}")
        if (self.min_probability is not None and self.max_probability is not None
                and self.min_probability > self.max_probability):
            raise FilterError("min_probability", "min_probability is larger than max_probability")
        if self.q is not None and not _SEARCH.fullmatch(self.q):
            raise FilterError("q", "q (a customer id or its beginning) must be 1 to 64 printable characters")
        return self

    def key(self) -> tuple:
        """The filters as a hashable value (the cache key of their count)."""
        return (tuple(self.quadrant), tuple(self.segment), tuple(self.cluster), tuple(self.risk_band),
                tuple(self.country), self.min_probability, self.max_probability, self.targeted, self.q)

    def where(self) -> tuple[str, list]:
        clauses, params = [], []
        for column, values in (("quadrant_key", self.quadrant), ("rfm_segment", self.segment),
                               ("cluster_id", self.cluster), ("risk_band", self.risk_band),
                               ("country", self.country)):
            if values:
                clauses.append(f"{column} in ({', '.join('?' for _ in values)})")
                params.extend(values)
        if self.min_probability is not None:
            clauses.append("churn_probability >= ?")
            params.append(self.min_probability)
        if self.max_probability is not None:
            clauses.append("churn_probability <= ?")
            params.append(self.max_probability)
        if self.targeted is not None:
            clauses.append("is_targeted = ?")
            params.append(self.targeted)
        if self.q:
            clauses.append("starts_with(customer_id, ?)")
            params.append(self.q)
        return (" where " + " and ".join(clauses)) if clauses else "", params


def order_by(sort: str) -> str:
    """`name` or `-name` (descending) of SORTABLE -> an ORDER BY clause (ties by customer_id)."""
    descending = sort.startswith("-")
    column = sort[1:] if descending else sort
    if column not in SORTABLE:
        raise FilterError("sort", f"sort {sort[:80]!r} is not one of: {', '.join(SORTABLE)} (prefix - for descending)")
    tail = "" if column == "customer_id" else ", customer_id"
    return f" order by {column} {'desc' if descending else 'asc'} nulls last{tail}"


def customer_csv(cur, filters: Filters, sort: str, limit: int | None, offset: int) -> Iterator[str]:
    """The filtered list as CSV lines (header first), fetched in chunks."""
    where, params = filters.where()
    tail = " limit ? offset ?" if limit is not None else (" offset ?" if offset else "")
    extra = [limit, offset] if limit is not None else ([offset] if offset else [])
    result = cur.execute(f"select {', '.join(LIST_COLUMNS)} from customers{where}{order_by(sort)}{tail}",
                         [*params, *extra])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LIST_COLUMNS)
    while True:
        rows = result.fetchmany(5000)
        if not rows:
            break
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_cell(value):
    """Text that a spreadsheet would run as a formula is prefixed with ' (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def selection_summary(cur, filters: Filters) -> dict:
    """What the dashboard's cards and charts show about the filtered customers."""
    where, params = filters.where()
    row = cur.execute(f"""
        select count(*), avg(churn_probability), sum(churn_probability * revenue_if_retained),
               sum(churn_probability * value_if_retained), sum(value_if_retained),
               count(*) filter (where is_targeted),
               coalesce(sum(expected_incremental_profit) filter (where is_targeted), 0)
        from customers{where}""", params).fetchone()
    keys = ("customers", "avg_churn_probability", "revenue_at_risk", "value_at_risk", "total_value_if_retained",
            "targeted", "targeted_expected_profit")
    summary = {k: clean(v) for k, v in zip(keys, row)}

    def grouped(column: str, label: str) -> list[dict]:
        rows = cur.execute(f"""
            select {column} as key, {label} as label, count(*) as customers,
                   sum(churn_probability * revenue_if_retained) as revenue_at_risk
            from customers{where} group by 1 order by 3 desc, 1""", params).fetchall()
        return [{"key": clean(k), "label": clean(lab), "customers": int(n), "revenue_at_risk": clean(r)}
                for k, lab, n, r in rows]

    summary["by_quadrant"] = grouped("quadrant_key", "any_value(decision_quadrant)")
    summary["by_risk_band"] = grouped("risk_band", "any_value(risk_band)")
    summary["by_segment"] = grouped("rfm_segment", "any_value(rfm_segment)")
    summary["by_cluster"] = grouped("cluster_id", "any_value(cluster_name)")
    bins = cur.execute(f"""
        select least(cast(floor(churn_probability * {HISTOGRAM_BINS}) as integer), {HISTOGRAM_BINS - 1}) as bin,
               count(*)
        from customers{where} group by 1 order by 1""", params).fetchall()
    counts = dict(bins)
    summary["probability_histogram"] = [
        {"from": i / HISTOGRAM_BINS, "to": (i + 1) / HISTOGRAM_BINS, "customers": int(counts.get(i, 0))}
        for i in range(HISTOGRAM_BINS)]
    return summary
