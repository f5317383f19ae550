"""Independent pandas oracle for the retention warehouse.

Every function below restates one definition of the table contract (notes/contract.md) in pandas,
written from the contract text alone, without reading the SQL models, so that tests comparing the
warehouse with these frames catch mistakes in the SQL.

Conventions
-----------
* The raw frame is read with ``read_raw`` (all columns text, an empty field is missing).
* Money is float64 here (the warehouse uses DECIMAL); compare with a tolerance.  Where an exact
  money value decides an ordering (the m_score ntile) it is rounded to 6 decimals first, which is
  exact for sums of quantity x DECIMAL(18,6) prices.
* Dates are ``datetime64`` values at midnight; ``as_of_date`` and cutoffs are ``pd.Timestamp``.
* customer_id is text and every "by customer_id" ordering is lexical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RAW_COLUMNS = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]

#: Online Retail II spellings, recognised automatically (contract, "Input").
RAW_ALIASES = {"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"}

#: Rejection reasons, "first matching wins, in this order".
REJECTION_REASONS = [
    "missing_invoice_no",
    "missing_stock_code",
    "invalid_invoice_date",
    "invalid_quantity",
    "invalid_unit_price",
    "adjustment",
    "missing_customer",
    "duplicate",
]

#: Non-product stock codes as listed in the contract (upper-cased, trimmed), plus the GIFT_0001_ prefix.
NON_PRODUCT_STOCK_CODES = {
    "POST",
    "DOT",
    "M",
    "C2",
    "D",
    "S",
    "B",
    "CRUK",
    "PADS",
    "AMAZONFEE",
    "BANK CHARGES",
}
NON_PRODUCT_PREFIXES = ("GIFT_0001_",)

SEGMENT_GRID = [
    # (segment, R scores, F scores) -- the R x F grid of the contract
    ("Champions", {5}, {4, 5}),
    ("Loyal", {3, 4}, {4, 5}),
    ("Potential Loyalists", {4, 5}, {2, 3}),
    ("New Customers", {5}, {1}),
    ("Promising", {4}, {1}),
    ("Need Attention", {3}, {3}),
    ("About to Sleep", {3}, {1, 2}),
    ("At Risk", {1, 2}, {3, 4}),
    ("Can't Lose", {1, 2}, {5}),
    ("Hibernating", {1, 2}, {1, 2}),
]

FEATURE_COLUMNS = [
    "customer_id",
    "cutoff_date",
    "country",
    "first_order_date",
    "last_order_date",
    "tenure_days",
    "recency_days",
    "frequency",
    "monetary",
    "distinct_order_days",
    "avg_order_value",
    "mean_days_between_orders",
    "orders_30d",
    "orders_90d",
    "orders_180d",
    "revenue_30d",
    "revenue_90d",
    "revenue_180d",
    "orders_trend_90d",
    "revenue_trend_90d",
    "return_rate",
    "distinct_products",
    "q4_order_share",
    "r_score",
    "f_score",
    "m_score",
]


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------
def read_raw(path) -> pd.DataFrame:
    """Read the transactions CSV: all columns as text, an empty field is missing, file order kept."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return raw.rename(columns=RAW_ALIASES)


def _blank(s: pd.Series) -> pd.Series:
    """null or blank (only whitespace)."""
    return s.isna() | (s.str.strip() == "")


def normalise_customer_id(s: pd.Series) -> pd.Series:
    """customer_id is the raw id trimmed; a numeric id written like "17850.0" becomes "17850"."""
    s = s.str.strip()
    return s.str.replace(r"^(\d+)\.0*$", r"\1", regex=True)


def is_product_code(stock_code: pd.Series) -> pd.Series:
    """is_product: stock code, upper-cased and trimmed, not in the non-product seed."""
    up = stock_code.str.strip().str.upper()
    non_product = up.isin(NON_PRODUCT_STOCK_CODES)
    for prefix in NON_PRODUCT_PREFIXES:
        non_product |= up.str.startswith(prefix)
    return ~non_product


# --------------------------------------------------------------------------------------------
# Staging
# --------------------------------------------------------------------------------------------
def stage(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """staging.stg_transactions and staging.stg_transactions_rejected.

    raw_row_id = 1-based position in the file.  Reasons, first matching wins, in this order:
    1 missing_invoice_no (null/blank InvoiceNo); 2 missing_stock_code (null/blank StockCode);
    3 invalid_invoice_date (null or not parseable as timestamp); 4 invalid_quantity (null, not a
    number, or not a whole number); 5 invalid_unit_price (null or not a number); 6 adjustment
    (InvoiceNo starts with 'A', case-insensitive); 7 missing_customer (null/blank CustomerID);
    8 duplicate (all eight raw columns equal to an earlier raw row; the first is kept; NULLs
    compare equal).

    Returns (clean, rejected).  clean has raw_row_id, invoice_no, stock_code, description,
    country (trimmed), customer_id (normalised text), quantity (int64), unit_price, line_amount =
    quantity * unit_price, invoice_at, invoice_date, is_cancellation (invoice_no starts with 'C',
    case-insensitive), is_product.  rejected has the raw text columns plus rejection_reason.
    """
    raw = raw[RAW_COLUMNS].reset_index(drop=True)
    raw_row_id = pd.Series(np.arange(1, len(raw) + 1, dtype="int64"), index=raw.index)

    invoice_no = raw["InvoiceNo"].str.strip()
    invoice_at = pd.to_datetime(raw["InvoiceDate"].str.strip(), errors="coerce", format="ISO8601")
    quantity_num = pd.to_numeric(raw["Quantity"].str.strip(), errors="coerce").astype("float64")
    price_num = pd.to_numeric(raw["UnitPrice"].str.strip(), errors="coerce").astype("float64")

    checks = [
        ("missing_invoice_no", _blank(raw["InvoiceNo"])),
        ("missing_stock_code", _blank(raw["StockCode"])),
        ("invalid_invoice_date", invoice_at.isna()),
        (
            "invalid_quantity",
            ~np.isfinite(quantity_num) | (quantity_num != np.floor(quantity_num)),
        ),
        ("invalid_unit_price", ~np.isfinite(price_num)),
        ("adjustment", invoice_no.str.upper().str.startswith("A").fillna(False)),
        ("missing_customer", _blank(raw["CustomerID"])),
        # pandas' duplicated() treats NaN as equal to NaN, like the contract's "NULLs compare equal".
        ("duplicate", raw.duplicated(subset=RAW_COLUMNS, keep="first")),
    ]
    reason = pd.Series(pd.NA, index=raw.index, dtype="object")
    for name, mask in checks:
        mask = pd.Series(np.asarray(mask, dtype=bool), index=raw.index)
        reason = reason.mask(reason.isna() & mask, name)

    bad = reason.notna()
    rejected = pd.DataFrame(
        {
            "raw_row_id": raw_row_id[bad],
            "invoice_no": raw.loc[bad, "InvoiceNo"],
            "stock_code": raw.loc[bad, "StockCode"],
            "description": raw.loc[bad, "Description"],
            "quantity": raw.loc[bad, "Quantity"],
            "invoice_date": raw.loc[bad, "InvoiceDate"],
            "unit_price": raw.loc[bad, "UnitPrice"],
            "customer_id": raw.loc[bad, "CustomerID"],
            "country": raw.loc[bad, "Country"],
            "rejection_reason": reason[bad].astype(str),
        }
    ).reset_index(drop=True)

    ok = ~bad
    quantity = quantity_num[ok].astype("int64")
    unit_price = price_num[ok]
    stock_code = raw.loc[ok, "StockCode"].str.strip()
    clean = pd.DataFrame(
        {
            "raw_row_id": raw_row_id[ok],
            "invoice_no": invoice_no[ok],
            "stock_code": stock_code,
            "description": raw.loc[ok, "Description"].str.strip(),
            "country": raw.loc[ok, "Country"].str.strip(),
            "customer_id": normalise_customer_id(raw.loc[ok, "CustomerID"]),
            "quantity": quantity,
            "unit_price": unit_price,
            "line_amount": quantity * unit_price,
            "invoice_at": invoice_at[ok],
            "invoice_date": invoice_at[ok].dt.normalize(),
            "is_cancellation": invoice_no[ok].str.upper().str.startswith("C"),
            "is_product": is_product_code(stock_code),
        }
    ).reset_index(drop=True)
    return clean, rejected


def default_as_of_date(clean: pd.DataFrame) -> pd.Timestamp:
    """as_of_date default = max(invoice_date) over stg_transactions + 1 day."""
    return clean["invoice_date"].max() + pd.Timedelta(days=1)


def _before(clean: pd.DataFrame, cutoff) -> pd.DataFrame:
    """Only clean rows with invoice_at < cutoff."""
    return clean[clean["invoice_at"] < pd.Timestamp(cutoff)]


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------
def orders(clean: pd.DataFrame, as_of_date) -> pd.DataFrame:
    """intermediate.int_orders.

    An order is a distinct invoice_no not starting with 'C' among clean rows with quantity > 0
    and unit_price > 0 (and invoice_at < as_of_date).  Columns: invoice_no (key), customer_id,
    country, order_at (min invoice_at), order_date (date of order_at), order_value (sum
    quantity*unit_price of those lines), line_count, item_quantity.
    """
    lines = _order_lines(clean, as_of_date)
    out = (
        lines.groupby("invoice_no", sort=True)
        .agg(
            customer_id=("customer_id", "first"),
            country=("country", "first"),
            order_at=("invoice_at", "min"),
            order_value=("line_amount", "sum"),
            line_count=("raw_row_id", "size"),
            item_quantity=("quantity", "sum"),
        )
        .reset_index()
    )
    out["order_date"] = out["order_at"].dt.normalize()
    return out[
        [
            "invoice_no",
            "customer_id",
            "country",
            "order_at",
            "order_date",
            "order_value",
            "line_count",
            "item_quantity",
        ]
    ]


def _order_lines(clean: pd.DataFrame, as_of_date) -> pd.DataFrame:
    """The clean lines that make up orders: not a cancellation, quantity > 0, unit_price > 0."""
    c = _before(clean, as_of_date)
    return c[~c["is_cancellation"] & (c["quantity"] > 0) & (c["unit_price"] > 0)]


# --------------------------------------------------------------------------------------------
# Scores and segments
# --------------------------------------------------------------------------------------------
def ntile(n: int, buckets: int = 5) -> np.ndarray:
    """SQL ntile(buckets) for rows already in window order: with n rows, the first n % buckets
    buckets get one row more than the others."""
    q, r = divmod(n, buckets)
    sizes = [q + 1] * r + [q] * (buckets - r)
    return np.repeat(np.arange(1, buckets + 1), sizes)[:n].astype("int64")


def _score(df: pd.DataFrame, metric: str, ascending: bool) -> pd.Series:
    """ntile(5) over (order by metric [asc|desc], customer_id asc)."""
    ordered = df.sort_values([metric, "customer_id"], ascending=[ascending, True], kind="mergesort")
    return pd.Series(ntile(len(ordered)), index=ordered.index).reindex(df.index)


def add_scores(df: pd.DataFrame) -> pd.DataFrame:
    """r_score, f_score, m_score (ntile(5)): f and m ordered ascending by the metric then
    customer_id; r ordered by recency_days DESCENDING then customer_id ascending (most recent = 5)."""
    df = df.copy()
    key = df.assign(_money=df["monetary"].round(6))
    df["r_score"] = _score(key, "recency_days", ascending=False)
    df["f_score"] = _score(key, "frequency", ascending=True)
    df["m_score"] = _score(key, "_money", ascending=True)
    return df


def segment(r_score: int, f_score: int) -> str:
    """rfm_segment from the R x F grid of the contract."""
    for name, rs, fs in SEGMENT_GRID:
        if r_score in rs and f_score in fs:
            return name
    raise ValueError(f"no segment for R{r_score} F{f_score}")


# --------------------------------------------------------------------------------------------
# Per-customer base (shared by RFM and features)
# --------------------------------------------------------------------------------------------
def _customer_base(clean: pd.DataFrame, cutoff) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per customer with >= 1 order before cutoff: country (of the latest order: latest order_at,
    tie -> greatest invoice_no), first/last order date, frequency (number of orders), monetary
    (sum line_amount over ALL the customer's clean rows before cutoff).

    Returns (base, orders before cutoff, clean rows before cutoff)."""
    cutoff = pd.Timestamp(cutoff)
    o = orders(clean, cutoff)
    rows = _before(clean, cutoff)
    latest = o.sort_values(["customer_id", "order_at", "invoice_no"], kind="mergesort").groupby(
        "customer_id"
    ).tail(1)
    base = o.groupby("customer_id").agg(
        first_order_date=("order_date", "min"),
        last_order_date=("order_date", "max"),
        frequency=("invoice_no", "size"),
    )
    base["country"] = latest.set_index("customer_id")["country"]
    base["monetary"] = rows.groupby("customer_id")["line_amount"].sum().reindex(base.index)
    base = base.reset_index()
    return base, o, rows


def rfm(clean: pd.DataFrame, as_of_date) -> pd.DataFrame:
    """features.customer_rfm: one row per customer with >= 1 order before as_of_date.

    customer_id, country, first_order_date, last_order_date, recency_days = as_of_date -
    last_order_date (days), frequency = number of orders, monetary = sum(line_amount) over ALL
    the customer's clean rows before as_of_date, r/f/m scores, rfm_score (text like '545'),
    rfm_segment from the R x F grid.
    """
    as_of_date = pd.Timestamp(as_of_date)
    base, _, _ = _customer_base(clean, as_of_date)
    base["recency_days"] = (as_of_date - base["last_order_date"]).dt.days.astype("int64")
    base = add_scores(base)
    base["rfm_score"] = (
        base["r_score"].astype(str) + base["f_score"].astype(str) + base["m_score"].astype(str)
    )
    base["rfm_segment"] = [segment(r, f) for r, f in zip(base["r_score"], base["f_score"])]
    cols = [
        "customer_id",
        "country",
        "first_order_date",
        "last_order_date",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "rfm_segment",
    ]
    return base[cols].sort_values("customer_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Cohorts
# --------------------------------------------------------------------------------------------
def _month_index(d) -> pd.Series | int:
    """Months since year 0, so that a difference of two is a month offset."""
    return d.dt.year * 12 + d.dt.month - 1 if isinstance(d, pd.Series) else d.year * 12 + d.month - 1


def cohort_retention(clean: pd.DataFrame, as_of_date) -> pd.DataFrame:
    """features.cohort_retention (key cohort_month, month_offset).

    cohort_month = first day of the month of the customer's first order; activity_month =
    cohort_month + month_offset months; cohort_size; active_customers = customers of the cohort
    with >= 1 order in that calendar month; retention_rate = active/size (month 0 exactly 1.0);
    net_revenue = sum line_amount of all clean rows of the cohort's customers in that month.
    One row for every cohort and every offset k >= 0 up to the month containing as_of_date - 1 day
    (rows with 0 active customers are present; their net_revenue is the sum over their clean rows,
    0 when there are none).
    """
    as_of_date = pd.Timestamp(as_of_date)
    o = orders(clean, as_of_date)
    rows = _before(clean, as_of_date)
    last_month = _month_index(as_of_date - pd.Timedelta(days=1))

    first = o.groupby("customer_id")["order_date"].min()
    cohort = _month_index(first).rename("cohort_idx")
    sizes = cohort.value_counts().rename("cohort_size")

    grid = [(c, k) for c in sorted(sizes.index) for k in range(0, last_month - c + 1)]
    out = pd.DataFrame(grid, columns=["cohort_idx", "month_offset"])
    out["cohort_size"] = out["cohort_idx"].map(sizes).astype("int64")

    active = (
        o.assign(cohort_idx=o["customer_id"].map(cohort), act=_month_index(o["order_date"]))
        .drop_duplicates(["customer_id", "act"])
        .assign(month_offset=lambda d: d["act"] - d["cohort_idx"])
        .groupby(["cohort_idx", "month_offset"])
        .size()
        .rename("active_customers")
    )
    revenue = (
        rows[rows["customer_id"].isin(cohort.index)]
        .assign(
            cohort_idx=lambda d: d["customer_id"].map(cohort),
            act=lambda d: _month_index(d["invoice_date"]),
        )
        .assign(month_offset=lambda d: d["act"] - d["cohort_idx"])
        .groupby(["cohort_idx", "month_offset"])["line_amount"]
        .sum()
        .rename("net_revenue")
    )
    out = out.join(active, on=["cohort_idx", "month_offset"]).join(
        revenue, on=["cohort_idx", "month_offset"]
    )
    out["active_customers"] = out["active_customers"].fillna(0).astype("int64")
    out["net_revenue"] = out["net_revenue"].fillna(0.0)
    out["retention_rate"] = out["active_customers"] / out["cohort_size"]

    def idx_to_date(i: pd.Series) -> pd.Series:
        return pd.to_datetime({"year": i // 12, "month": i % 12 + 1, "day": 1})

    out["cohort_month"] = idx_to_date(out["cohort_idx"])
    out["activity_month"] = idx_to_date(out["cohort_idx"] + out["month_offset"])
    cols = [
        "cohort_month",
        "month_offset",
        "activity_month",
        "cohort_size",
        "active_customers",
        "retention_rate",
        "net_revenue",
    ]
    return out[cols].sort_values(["cohort_month", "month_offset"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# BTYD summary
# --------------------------------------------------------------------------------------------
def btyd_summary(clean: pd.DataFrame, as_of_date) -> pd.DataFrame:
    """features.customer_btyd_summary, as lifetimes.summary_data_from_transaction_data(freq='D',
    observation_period_end = as_of_date - 1 day, monetary_value_col = order_value) on int_orders.

    frequency = distinct order days - 1; recency = last - first order day (days); T =
    (as_of_date - 1 day) - first order day (days); monetary_value = mean of per-day summed order
    value over repeat days only (all days but the first; 0 when frequency = 0); first_order_date,
    last_order_date.
    """
    as_of_date = pd.Timestamp(as_of_date)
    period_end = as_of_date - pd.Timedelta(days=1)
    o = orders(clean, as_of_date)
    days = o.groupby(["customer_id", "order_date"], as_index=False)["order_value"].sum()
    days = days.sort_values(["customer_id", "order_date"])
    days["is_first"] = ~days.duplicated("customer_id", keep="first")

    g = days.groupby("customer_id")
    out = g.agg(
        first_order_date=("order_date", "min"),
        last_order_date=("order_date", "max"),
        n_days=("order_date", "size"),
    )
    out["frequency"] = out["n_days"] - 1
    out["recency"] = (out["last_order_date"] - out["first_order_date"]).dt.days
    out["T"] = (period_end - out["first_order_date"]).dt.days
    repeat = days[~days["is_first"]].groupby("customer_id")["order_value"].mean()
    out["monetary_value"] = repeat.reindex(out.index).fillna(0.0)
    out = out.reset_index()
    cols = [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "first_order_date",
        "last_order_date",
    ]
    return out[cols].sort_values("customer_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Features per cutoff
# --------------------------------------------------------------------------------------------
def cutoffs(clean: pd.DataFrame, as_of_date, cadence: int = 30, snapshot_count: int = 12) -> pd.DataFrame:
    """Cutoffs as_of_date - k*cadence for k = 0..snapshot_count (k=0 is as_of_date), kept only if
    some order exists before it."""
    as_of_date = pd.Timestamp(as_of_date)
    first_order_at = orders(clean, as_of_date)["order_at"].min()
    rows = []
    for k in range(snapshot_count + 1):
        cutoff = as_of_date - pd.Timedelta(days=k * cadence)
        if pd.notna(first_order_at) and first_order_at < cutoff:
            rows.append((k, cutoff))
    return pd.DataFrame(rows, columns=["snapshot_index", "cutoff_date"])


def features_at(clean: pd.DataFrame, cutoff, as_of_date) -> pd.DataFrame:
    """intermediate.int_customer_features_by_cutoff for one cutoff (only rows before the cutoff,
    which is <= as_of_date; only customers with >= 1 order before the cutoff).

    tenure_days = cutoff - first order date; recency_days = cutoff - last order date; frequency,
    monetary (as RFM); distinct_order_days; avg_order_value = sum order_value / frequency;
    mean_days_between_orders = (last - first order date)/(distinct_order_days - 1), NULL when
    distinct_order_days < 2; orders_Nd = orders with order_date in [cutoff - N days, cutoff);
    revenue_Nd = sum line_amount of clean rows with invoice_date in [cutoff - N, cutoff);
    orders_trend_90d = orders_90d - orders in [cutoff-180, cutoff-90), revenue_trend_90d likewise;
    return_rate = (- sum line_amount of clean rows with quantity < 0) / (sum order_value);
    distinct_products = distinct stock_code among product lines of the customer's orders;
    q4_order_share = share of orders with order month in Oct-Dec; r/f/m scores within the cutoff.
    """
    cutoff = pd.Timestamp(cutoff)
    as_of_date = pd.Timestamp(as_of_date)
    bound = min(cutoff, as_of_date)
    base, o, rows = _customer_base(clean, bound)
    base = base.set_index("customer_id")
    ids = base.index

    def per_customer(series: pd.Series, fill=0) -> pd.Series:
        return series.reindex(ids).fillna(fill)

    base["cutoff_date"] = cutoff
    base["tenure_days"] = (cutoff - base["first_order_date"]).dt.days
    base["recency_days"] = (cutoff - base["last_order_date"]).dt.days
    base["distinct_order_days"] = o.groupby("customer_id")["order_date"].nunique()
    value = o.groupby("customer_id")["order_value"].sum()
    base["avg_order_value"] = value / base["frequency"]
    span = (base["last_order_date"] - base["first_order_date"]).dt.days
    gaps = base["distinct_order_days"] - 1
    base["mean_days_between_orders"] = (span / gaps).where(gaps >= 1)

    def order_count(lo_days: int, hi_days: int = 0) -> pd.Series:
        lo = cutoff - pd.Timedelta(days=lo_days)
        hi = cutoff - pd.Timedelta(days=hi_days)
        sel = o[(o["order_date"] >= lo) & (o["order_date"] < hi)]
        return per_customer(sel.groupby("customer_id").size()).astype("int64")

    def revenue(lo_days: int, hi_days: int = 0) -> pd.Series:
        lo = cutoff - pd.Timedelta(days=lo_days)
        hi = cutoff - pd.Timedelta(days=hi_days)
        sel = rows[(rows["invoice_date"] >= lo) & (rows["invoice_date"] < hi)]
        return per_customer(sel.groupby("customer_id")["line_amount"].sum(), 0.0)

    for n in (30, 90, 180):
        base[f"orders_{n}d"] = order_count(n)
        base[f"revenue_{n}d"] = revenue(n)
    base["orders_trend_90d"] = base["orders_90d"] - order_count(180, 90)
    base["revenue_trend_90d"] = base["revenue_90d"] - revenue(180, 90)

    returns = rows[rows["quantity"] < 0].groupby("customer_id")["line_amount"].sum()
    base["return_rate"] = per_customer(-returns, 0.0) / value

    product_lines = _order_lines(clean, bound)
    product_lines = product_lines[product_lines["is_product"]]
    base["distinct_products"] = per_customer(
        product_lines.groupby("customer_id")["stock_code"].nunique()
    ).astype("int64")

    q4 = o[o["order_date"].dt.month.isin([10, 11, 12])].groupby("customer_id").size()
    base["q4_order_share"] = per_customer(q4) / base["frequency"]

    base = add_scores(base.reset_index())
    return base[FEATURE_COLUMNS].sort_values("customer_id").reset_index(drop=True)


def training_labels(
    clean: pd.DataFrame,
    as_of_date,
    horizon: int = 90,
    cadence: int = 30,
    snapshot_count: int = 12,
) -> pd.DataFrame:
    """features.training_snapshots (key customer_id, cutoff_date; snapshot_index >= 1).

    Every feature column, plus label_window_end_date = cutoff + horizon, is_label_window_complete
    (label_window_end_date <= as_of_date), orders_in_label_window (orders with order_date in
    [cutoff, cutoff+horizon) and < as_of_date), churned = 1 if orders_in_label_window = 0 else 0.
    """
    as_of_date = pd.Timestamp(as_of_date)
    all_orders = orders(clean, as_of_date)
    frames = []
    for k, cutoff in cutoffs(clean, as_of_date, cadence, snapshot_count).itertuples(index=False):
        if k < 1:
            continue
        f = features_at(clean, cutoff, as_of_date)
        f.insert(2, "snapshot_index", k)
        end = cutoff + pd.Timedelta(days=horizon)
        f["label_window_end_date"] = end
        f["is_label_window_complete"] = bool(end <= as_of_date)
        window = all_orders[(all_orders["order_date"] >= cutoff) & (all_orders["order_date"] < end)]
        f["orders_in_label_window"] = (
            f["customer_id"].map(window.groupby("customer_id").size()).fillna(0).astype("int64")
        )
        f["churned"] = (f["orders_in_label_window"] == 0).astype("int64")
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
