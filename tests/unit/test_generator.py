"""Specification tests for retention.demo (synthetic UCI-style data; CLI: scripts/generate_transactions.py)."""
from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from helpers import REPO
from retention.demo import SCHEMA, generate

ROWS = 120_000
SEED = 42
NON_PRODUCT_CODES = {"POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "B"}
# Parquet has no seconds unit: second-precision values are stored as timestamp[ms]
# (CSV holds "YYYY-MM-DD HH:MM:SS").
EXPECTED_SCHEMA = pa.schema(
    [
        ("InvoiceNo", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("ms")),
        ("UnitPrice", pa.float64()),
        ("CustomerID", pa.int64()),
        ("Country", pa.string()),
    ]
)


# --- fixtures: each data set is generated once per module -------------------------
@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("gen")


@pytest.fixture(scope="module")
def run(outdir):
    path = outdir / "a.parquet"
    summary = generate(path, ROWS, seed=SEED)
    return path, summary


@pytest.fixture(scope="module")
def table(run):
    return pq.read_table(run[0])


@pytest.fixture(scope="module")
def df(table):
    d = table.to_pandas()
    d["kind"] = d["InvoiceNo"].str[0].where(d["InvoiceNo"].str[0].isin(["C", "A"]), "S")
    return d


@pytest.fixture(scope="module", params=[42, 7])
def shares_df(request, df, outdir):
    """The main data set plus a smaller one with another seed (shares must hold for both)."""
    if request.param == SEED:
        return df
    path = outdir / f"shares_{request.param}.parquet"
    generate(path, 60_000, seed=request.param)
    d = pd.read_parquet(path)
    d["kind"] = d["InvoiceNo"].str[0].where(d["InvoiceNo"].str[0].isin(["C", "A"]), "S")
    return d


def _invoice_number(inv: pd.Series) -> pd.Series:
    return inv.str.lstrip("CA").astype(np.int64)


# --- determinism ------------------------------------------------------------------
def test_same_arguments_give_byte_identical_parquet(run, outdir):
    path, _ = run
    again = outdir / "a_again.parquet"
    generate(again, ROWS, seed=SEED)
    assert path.read_bytes() == again.read_bytes()


def test_same_arguments_give_byte_identical_csv_gz(outdir):
    a, b = outdir / "d1.csv.gz", outdir / "d2.csv.gz"
    generate(a, 20_000, seed=3)
    generate(b, 20_000, seed=3)
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()).startswith(b'"InvoiceNo","StockCode"')


def test_different_seed_gives_different_data(table, outdir):
    other = outdir / "seed43.parquet"
    generate(other, ROWS, seed=SEED + 1)
    t2 = pq.read_table(other)
    assert not t2.equals(table)
    # Not just a reshuffle: customers' purchase histories differ.
    a = table.column("CustomerID").to_numpy(zero_copy_only=False)[:5000]
    b = t2.column("CustomerID").to_numpy(zero_copy_only=False)[:5000]
    assert not np.array_equal(a, b, equal_nan=True)


def test_data_do_not_depend_on_chunk_rows(table, outdir):
    path = outdir / "small_chunks.parquet"
    generate(path, ROWS, seed=SEED, chunk_rows=9_000)
    assert pq.ParquetFile(path).metadata.num_row_groups >= 10
    assert pq.read_table(path).equals(table)


# --- size and schema -------------------------------------------------------------
@pytest.mark.parametrize("rows,customers", [(20_000, None), (ROWS, None), (75_000, 300)])
def test_row_count_within_one_percent(outdir, rows, customers, run):
    if rows == ROWS and customers is None:
        path, summary = run
    else:
        path = outdir / f"rows_{rows}_{customers}.parquet"
        summary = generate(path, rows, seed=5, customers=customers)
    n = pq.ParquetFile(path).metadata.num_rows
    assert summary["rows"] == n
    assert abs(n - rows) <= 0.01 * rows


def test_schema_and_types(table):
    assert table.schema.equals(EXPECTED_SCHEMA)
    assert SCHEMA.field("InvoiceDate").type == pa.timestamp("s")  # what is written
    cid = table.column("CustomerID")
    assert cid.null_count > 0  # nullable, and really used
    for name in ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                 "UnitPrice", "Country"):
        assert table.column(name).null_count == 0, name
    price = table.column("UnitPrice").to_numpy()
    assert np.allclose(price * 100, np.round(price * 100), atol=1e-6)  # 2 decimals
    assert (price >= 0).all()
    millis = table.column("InvoiceDate").cast(pa.int64()).to_numpy()
    assert (millis % 60_000 == 0).all()  # whole minutes, like the UCI data


def test_summary_describes_the_file(run, df):
    _, s = run
    assert s["rows"] == len(df)
    assert s["invoices"] == df["InvoiceNo"].nunique()
    assert s["customers"] == df["CustomerID"].nunique()
    assert s["first_invoice_date"] == str(df["InvoiceDate"].min())
    assert s["last_invoice_date"] == str(df["InvoiceDate"].max())
    assert s["cancellation_rows"] == (df["kind"] == "C").sum()
    assert s["missing_customer_rows"] == df["CustomerID"].isna().sum()
    assert s["seconds"] >= 0


def test_default_customer_count_gives_about_100_rows_per_customer(df):
    rows_per_customer = len(df) / df["CustomerID"].nunique()
    assert 100 <= rows_per_customer <= 150  # UCI: 541,909 / 4,372 = 124
    identified = df["CustomerID"].notna().sum() / df["CustomerID"].nunique()
    assert 80 <= identified <= 120


def test_customers_argument_is_respected(outdir):
    path = outdir / "c300.parquet"
    s = generate(path, 60_000, seed=11, customers=300)
    d = pd.read_parquet(path)
    assert d["CustomerID"].nunique() == 300 == s["customers"]


def test_start_date_and_months_bound_the_dates(outdir):
    path = outdir / "period.parquet"
    generate(path, 30_000, seed=2, start_date="2010-12-01", months=12)
    d = pd.read_parquet(path)
    assert d["InvoiceDate"].min() >= pd.Timestamp("2010-12-01")
    assert d["InvoiceDate"].max() < pd.Timestamp("2011-12-01")
    assert d["InvoiceDate"].dt.to_period("M").nunique() == 12


# --- structure --------------------------------------------------------------------
def test_rows_are_in_chronological_invoice_order(df):
    assert df["InvoiceDate"].is_monotonic_increasing
    num = _invoice_number(df["InvoiceNo"])
    assert num.is_monotonic_increasing
    assert num.iloc[0] == 536365
    assert df["InvoiceNo"].str.fullmatch(r"[CA]?\d{6,}").all()
    # invoices are contiguous blocks with one date, customer and country each
    starts = df["InvoiceNo"].ne(df["InvoiceNo"].shift())
    assert starts.sum() == df["InvoiceNo"].nunique()
    per_inv = df.groupby("InvoiceNo").agg(
        dates=("InvoiceDate", "nunique"), countries=("Country", "nunique"),
        custs=("CustomerID", "nunique"), missing=("CustomerID", lambda s: s.isna().mean()))
    assert (per_inv["dates"] == 1).all() and (per_inv["countries"] == 1).all()
    assert (per_inv["custs"] <= 1).all() and per_inv["missing"].isin([0.0, 1.0]).all()


def test_invoices_have_several_lines_on_average(df):
    lines = df.groupby("InvoiceNo").size()
    assert 8 <= lines.mean() <= 20
    sales = df[df["kind"] == "S"].groupby("InvoiceNo").size()
    assert 8 <= sales.mean() <= 25
    assert sales.max() > 3 * sales.median()  # skewed, some large orders


def test_business_hours_and_no_saturdays(df):
    ts = df["InvoiceDate"]
    assert ts.dt.hour.between(7, 20).all()
    assert (ts.dt.day_of_week != 5).all()
    assert ts.dt.hour.between(10, 15).mean() > 0.5


def test_q4_months_are_busier(shares_df):
    monthly = shares_df.groupby(shares_df["InvoiceDate"].dt.to_period("M")).size()
    q4 = monthly[monthly.index.month >= 10].mean()
    other = monthly[monthly.index.month < 10].mean()
    assert q4 > 1.15 * other


def test_country_mix(df):
    share = df["Country"].value_counts(normalize=True)
    assert share.index[0] == "United Kingdom"
    assert 0.82 <= share["United Kingdom"] <= 0.92
    for c in ("Germany", "France", "EIRE", "Spain", "Netherlands"):
        assert c in share.index
    assert df["Country"].nunique() >= 15
    per_customer = df.dropna(subset=["CustomerID"]).groupby("CustomerID")["Country"].nunique()
    assert (per_customer == 1).all()


def test_catalogue_stock_codes_descriptions_and_popularity(df):
    products = df[~df["StockCode"].isin(NON_PRODUCT_CODES)]
    assert products["StockCode"].str.fullmatch(r"\d{5}[A-Z]?").all()
    assert 2000 <= products["StockCode"].nunique() <= 5000
    assert (products["Description"] == products["Description"].str.upper()).all()
    assert products.groupby("StockCode")["Description"].nunique().max() == 1
    counts = products["StockCode"].value_counts()
    assert counts.iloc[0] > 5 * counts.median()  # Zipf-like popularity
    # each product keeps its list price (apart from bulk discounts and zero prices)
    modal = products[products["UnitPrice"] > 0].groupby("StockCode")["UnitPrice"].agg(
        lambda s: s.value_counts(normalize=True).iloc[0])
    assert modal.median() >= 0.8


# --- the mess -------------------------------------------------------------------
def test_cancellation_lines(shares_df):
    d = shares_df
    canc = d[d["kind"] == "C"]
    assert 0.01 <= len(canc) / len(d) <= 0.04
    assert (canc["Quantity"] < 0).all()
    assert (d.loc[d["kind"] == "S", "Quantity"] > 0).all()


def test_cancellations_usually_undo_an_earlier_purchase_of_the_customer(df):
    canc = df[df["kind"] == "C"].reset_index()
    sales = df[df["kind"] == "S"][["CustomerID", "StockCode", "InvoiceDate"]]
    m = canc.merge(sales.rename(columns={"InvoiceDate": "bought"}),
                   on=["CustomerID", "StockCode"], how="left")
    earlier = (m["bought"] <= m["InvoiceDate"]).groupby(m["index"]).any()
    assert 0.75 <= earlier.mean() < 1.0  # usually, not always (as in the UCI data)


def test_missing_customer_share(shares_df):
    share = shares_df["CustomerID"].isna().mean()
    assert 0.15 <= share <= 0.25


def test_exact_duplicate_rows_are_rare_and_adjacent(shares_df):
    cols = [c for c in shares_df.columns if c != "kind"]
    d = shares_df[cols]
    dup = d.duplicated()
    assert 0 < dup.mean() < 0.02
    same_as_previous = (d.eq(d.shift()) | (d.isna() & d.shift().isna())).all(axis=1)
    assert same_as_previous[dup].mean() >= 0.9  # a line repeated right after itself


def test_adjustment_invoices(shares_df):
    a = shares_df[shares_df["kind"] == "A"]
    assert len(a) >= 1
    assert (a["StockCode"] == "B").all()
    assert (a["Description"] == "Adjust bad debt").all()
    assert (a["Quantity"] == 1).all()
    assert a["CustomerID"].isna().all()
    assert len(a) <= len(shares_df) / 50_000


def test_non_product_codes_and_zero_prices(shares_df):
    d = shares_df
    codes = set(d["StockCode"]) & NON_PRODUCT_CODES
    assert {"POST", "DOT", "M"} <= codes
    desc = dict(zip(d["StockCode"], d["Description"]))
    assert desc["POST"] == "POSTAGE" and desc["M"] == "Manual"
    assert 0 < (d["StockCode"].isin(NON_PRODUCT_CODES)).mean() < 0.03
    zero = (d["UnitPrice"] == 0).mean()
    assert 0 < zero < 0.005


# --- the customer process -----------------------------------------------------------
def test_dropout_process_makes_churn_learnable(shares_df):
    d = shares_df[(shares_df["kind"] == "S") & shares_df["CustomerID"].notna()]
    inv = d.groupby("InvoiceNo").agg(cust=("CustomerID", "first"), t=("InvoiceDate", "first"))
    per = inv.groupby("cust")["t"].agg(["min", "max", "size"])
    start, end = shares_df["InvoiceDate"].min(), shares_df["InvoiceDate"].max()
    cohort = per[per["min"] < start + (end - start) / 2]
    assert len(cohort) >= 200
    stopped = cohort["max"] < end - pd.Timedelta(days=90)
    assert 0.2 <= stopped.mean() <= 0.8
    assert cohort.loc[stopped, "size"].mean() < cohort.loc[~stopped, "size"].mean()
    # Dropout, not just low purchase rates: the same customers are less often active
    # in the final 90 days (Sep-Nov, busy season) than in the 90 days after the
    # midpoint (Dec-Feb).  Without dropout the final window would be the busier one.
    mid = start + (end - start) / 2

    def active_share(lo, hi):
        buyers = inv.loc[(inv["t"] >= lo) & (inv["t"] < hi), "cust"].unique()
        return cohort.index.isin(buyers).mean()

    after_mid = active_share(mid, mid + pd.Timedelta(days=90))
    final = active_share(end - pd.Timedelta(days=90), end + pd.Timedelta(seconds=1))
    assert final < after_mid
    # heterogeneous purchase frequencies: some one-off buyers, some regulars
    assert (per["size"] == 1).mean() > 0.05
    assert per["size"].quantile(0.9) >= 3 * per["size"].median()


def test_customers_arrive_over_the_period_more_early(df):
    first = df.dropna(subset=["CustomerID"]).groupby("CustomerID")["InvoiceDate"].min()
    start, end = df["InvoiceDate"].min(), df["InvoiceDate"].max()
    frac = (first - start) / (end - start)
    assert (frac < 0.5).mean() > 0.6
    assert (frac > 0.75).mean() > 0.03


# --- file formats -------------------------------------------------------------------
def test_csv_and_parquet_hold_the_same_data(table, outdir):
    path = outdir / "a.csv"
    generate(path, ROWS, seed=SEED)
    with path.open() as fh:
        header = fh.readline().strip().replace('"', "").split(",")
        first = fh.readline()
    assert header == EXPECTED_SCHEMA.names
    assert ",2009-12-01 " in first  # YYYY-MM-DD HH:MM:SS
    csv_table = pacsv.read_csv(
        path, convert_options=pacsv.ConvertOptions(column_types=SCHEMA))
    assert csv_table.schema.equals(SCHEMA)
    assert csv_table.cast(table.schema).equals(table)
    gz = outdir / "a.csv.gz"
    generate(gz, ROWS, seed=SEED)
    assert gzip.decompress(gz.read_bytes()) == path.read_bytes()


def test_unknown_extension_is_rejected(outdir):
    with pytest.raises(ValueError):
        generate(outdir / "x.json", 20_000)
    assert not (outdir / "x.json").exists()


def test_cli_runs_as_a_script(outdir):
    out = outdir / "cli.csv"
    res = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_transactions.py"),
         "--rows", "20000", "--seed", "9", "--output", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "20,0" in res.stdout or "19,9" in res.stdout
    assert len(res.stdout.strip().splitlines()) == 1
    lib = outdir / "lib.csv"
    generate(lib, 20_000, seed=9)
    assert out.read_bytes() == lib.read_bytes()
