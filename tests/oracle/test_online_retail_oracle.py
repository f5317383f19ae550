"""The warehouse against an independent pandas oracle, on the real UCI Online Retail data.

Layer 1 checks the oracle itself against published figures (the dataset README and the staging
expectation of the table contract); it needs no warehouse.  Layer 2 compares every warehouse
table of the contract, for every customer / cohort / cutoff, with the oracle's frames.

The data file lives outside the repository (../shared/data/online_retail.csv.gz); in a clone
without it the whole module is skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pandas_oracle as oracle
from helpers import ONLINE_RETAIL as DATA_FILE
from helpers import REPO as REPO_ROOT

if not DATA_FILE.exists():
    pytest.skip(
        f"real dataset not available: {DATA_FILE} is missing (it lives outside the repository)",
        allow_module_level=True,
    )

AS_OF_DATE = pd.Timestamp("2011-12-10")  # day after the last transaction (2011-12-09)
HORIZON, CADENCE, SNAPSHOT_COUNT = 90, 30, 12  # the warehouse's default vars

MONEY_ATOL = 1e-6


# ============================================================================================
# Oracle fixtures (module-scoped: the raw file is read and staged once)
# ============================================================================================
@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return oracle.read_raw(DATA_FILE)


@pytest.fixture(scope="module")
def staged(raw):
    return oracle.stage(raw)


@pytest.fixture(scope="module")
def clean(staged) -> pd.DataFrame:
    return staged[0]


@pytest.fixture(scope="module")
def rejected(staged) -> pd.DataFrame:
    return staged[1]


# ============================================================================================
# Layer 1: the oracle against published figures
# ============================================================================================
def _starts_with(s: pd.Series, letter: str) -> pd.Series:
    return s.str.strip().str.upper().str.startswith(letter)


README_FIGURES = {
    "rows": (lambda r: len(r), 541_909),
    "distinct customer ids": (lambda r: r["CustomerID"].nunique(), 4_372),
    "rows without customer id": (lambda r: int(r["CustomerID"].isna().sum()), 135_080),
    "cancellations (invoice starts with C)": (lambda r: int(_starts_with(r["InvoiceNo"], "C").sum()), 9_288),
    "invoices starting with A": (lambda r: r.loc[_starts_with(r["InvoiceNo"], "A"), "InvoiceNo"].nunique(), 3),
    "rows with Quantity < 0": (lambda r: int((pd.to_numeric(r["Quantity"]) < 0).sum()), 10_624),
    "missing Description": (lambda r: int(r["Description"].isna().sum()), 1_454),
    "exact duplicate rows": (lambda r: int(r.duplicated(keep="first").sum()), 5_268),
    "distinct invoices": (lambda r: r["InvoiceNo"].nunique(), 25_900),
    "distinct stock codes": (lambda r: r["StockCode"].nunique(), 4_070),
    "distinct countries": (lambda r: r["Country"].nunique(), 38),
}


@pytest.mark.parametrize("figure", list(README_FIGURES))
def test_raw_matches_published_figure(raw, figure):
    compute, published = README_FIGURES[figure]
    assert compute(raw) == published, figure


def test_raw_sum_of_quantity_times_price(raw):
    total = (pd.to_numeric(raw["Quantity"]) * pd.to_numeric(raw["UnitPrice"])).sum()
    assert total == pytest.approx(9_747_747.934, abs=5e-4)


def test_oracle_staging_matches_contract_expectation(raw, clean, rejected):
    counts = rejected["rejection_reason"].value_counts().to_dict()
    assert counts == {"adjustment": 3, "missing_customer": 135_077, "duplicate": 5_225}
    assert len(clean) == 401_604
    assert len(clean) + len(rejected) == len(raw)
    ids = np.sort(np.concatenate([clean["raw_row_id"].to_numpy(), rejected["raw_row_id"].to_numpy()]))
    assert (ids == np.arange(1, len(raw) + 1)).all(), "every raw row is either clean or rejected, once"


def test_oracle_as_of_date_is_day_after_last_transaction(clean):
    assert oracle.default_as_of_date(clean) == AS_OF_DATE


def test_oracle_ntile_matches_sql_semantics():
    assert oracle.ntile(7).tolist() == [1, 1, 2, 2, 3, 4, 5]
    assert oracle.ntile(10).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert oracle.ntile(3).tolist() == [1, 2, 3]


def test_oracle_segment_grid_covers_every_score_pair_once():
    for r in range(1, 6):
        for f in range(1, 6):
            hits = [name for name, rs, fs in oracle.SEGMENT_GRID if r in rs and f in fs]
            assert len(hits) == 1, (r, f, hits)


# ============================================================================================
# Layer 2: the warehouse against the oracle
# ============================================================================================
@pytest.fixture(scope="module")
def warehouse_path(online_retail_db) -> Path:
    """The DuckDB file built from DATA_FILE with default vars (tests/conftest.py)."""
    return Path(online_retail_db)


@pytest.fixture(scope="module")
def con(warehouse_path):
    import duckdb

    connection = duckdb.connect(str(warehouse_path), read_only=True)
    yield connection
    connection.close()


def _table(con, name: str) -> pd.DataFrame:
    return con.execute(f"select * from {name}").df()


def _has_table(con, schema: str, table: str) -> bool:
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return con.execute(sql, [schema, table]).fetchone()[0] > 0


@pytest.fixture(scope="module")
def as_of(con) -> pd.Timestamp:
    """as_of_date used by the warehouse: the snapshot_index 0 cutoff of intermediate.int_cutoffs."""
    if not _has_table(con, "intermediate", "int_cutoffs"):
        return AS_OF_DATE
    cut = _table(con, "intermediate.int_cutoffs")
    date_col = "cutoff_date" if "cutoff_date" in cut.columns else next(c for c in cut.columns if "cutoff" in c and c != "snapshot_index")
    values = cut.loc[cut["snapshot_index"] == 0, date_col]
    assert len(values) == 1, f"int_cutoffs must have exactly one snapshot_index 0 row, got {len(values)}"
    return pd.Timestamp(values.iloc[0]).normalize()


@pytest.fixture(scope="module")
def expected_current_features(clean, as_of) -> pd.DataFrame:
    """Oracle features at the as_of_date cutoff (snapshot_index 0)."""
    current = oracle.features_at(clean, as_of, as_of)
    current.insert(2, "snapshot_index", 0)
    return current


@pytest.fixture(scope="module")
def expected_training(clean, as_of) -> pd.DataFrame:
    """Oracle features and labels for every cutoff with snapshot_index >= 1."""
    return oracle.training_labels(clean, as_of, HORIZON, CADENCE, SNAPSHOT_COUNT)


# --------------------------------------------------------------------------------------------
# Comparison helper
# --------------------------------------------------------------------------------------------
def _as_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).astype("datetime64[us]")


def _equal(expected: pd.Series, got: pd.Series) -> np.ndarray:
    """Element-wise equality: dates exactly, numbers (incl. booleans and money) within 1e-6, text exactly;
    NULL equals NULL."""
    if pd.api.types.is_datetime64_any_dtype(expected):
        e, g = _as_dates(expected), _as_dates(got)
        return ((e == g) | (e.isna() & g.isna())).to_numpy()
    if pd.api.types.is_numeric_dtype(expected) or pd.api.types.is_bool_dtype(expected):
        e = pd.to_numeric(expected.astype(object), errors="coerce").astype("float64").to_numpy()
        g = pd.to_numeric(got.astype(object), errors="coerce").astype("float64").to_numpy()
        return np.isclose(e, g, rtol=1e-12, atol=MONEY_ATOL, equal_nan=True)
    e = expected.astype(object).where(expected.notna(), "<NULL>").astype(str)
    g = got.astype(object).where(got.notna(), "<NULL>").astype(str)
    return (e.to_numpy() == g.to_numpy())


def assert_matches_oracle(expected: pd.DataFrame, got: pd.DataFrame, key: list[str], what: str, show: int = 5):
    """Every key present on both sides, once, and every expected column equal; else a readable report."""
    columns = [c for c in expected.columns if c not in key]
    missing = [c for c in key + columns if c not in got.columns]
    assert not missing, f"{what}: warehouse lacks columns {missing}; it has {list(got.columns)}"

    def keyed(df):
        df = df[key + columns].copy()
        for k in key:
            if pd.api.types.is_datetime64_any_dtype(expected[k]):
                df[k] = _as_dates(df[k])
            elif pd.api.types.is_numeric_dtype(expected[k]):
                df[k] = pd.to_numeric(df[k]).astype("int64")
            else:
                df[k] = df[k].astype(str)
        return df

    exp, wh = keyed(expected), keyed(got)
    problems = []
    dups = wh[wh.duplicated(key, keep=False)]
    if len(dups):
        problems.append(f"{len(dups)} warehouse rows share a key, e.g.\n{dups.head(show).to_string(index=False)}")
    merged = exp.merge(wh.drop_duplicates(key), on=key, how="outer", suffixes=("_expected", "_got"), indicator=True)
    for side, label in (("left_only", "expected by the oracle but missing"), ("right_only", "in the warehouse but not expected")):
        rows = merged.loc[merged["_merge"] == side, key]
        if len(rows):
            problems.append(f"{len(rows)} keys {label}, e.g. {rows.head(show).to_dict('records')}")
    both = merged[merged["_merge"] == "both"]
    for c in columns:
        ok = _equal(both[f"{c}_expected"], both[f"{c}_got"])
        if not ok.all():
            bad = both.loc[~ok, key + [f"{c}_expected", f"{c}_got"]]
            problems.append(f"column {c}: {len(bad)} of {len(both)} rows differ, e.g.\n{bad.head(show).to_string(index=False)}")
    if problems:
        pytest.fail(f"{what}: warehouse differs from the oracle\n" + "\n".join(problems), pytrace=False)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_warehouse_as_of_date(con, as_of, clean):
    assert as_of == AS_OF_DATE == oracle.default_as_of_date(clean)
    if _has_table(con, "intermediate", "int_cutoffs"):
        got = _table(con, "intermediate.int_cutoffs")
        expected = oracle.cutoffs(clean, as_of, CADENCE, SNAPSHOT_COUNT)
        assert_matches_oracle(expected, got, ["snapshot_index"], "intermediate.int_cutoffs")


def test_staging_counts(con, raw, clean, rejected):
    n_clean = con.execute("select count(*) from staging.stg_transactions").fetchone()[0]
    by_reason = dict(
        con.execute(
            "select rejection_reason, count(*) from staging.stg_transactions_rejected group by 1"
        ).fetchall()
    )
    assert by_reason == rejected["rejection_reason"].value_counts().to_dict()
    assert n_clean == len(clean)
    assert n_clean + sum(by_reason.values()) == len(raw)


def test_rejected_rows(con, rejected):
    got = _table(con, "staging.stg_transactions_rejected")
    assert_matches_oracle(rejected, got, ["raw_row_id"], "staging.stg_transactions_rejected")


def test_clean_rows(con, clean):
    got = _table(con, "staging.stg_transactions")
    expected = clean.drop(columns=["is_product"])
    assert_matches_oracle(expected, got, ["raw_row_id"], "staging.stg_transactions")


def test_is_product_flag(con, clean):
    """is_product per distinct stock code (the oracle knows the non-product codes the contract lists)."""
    got = con.execute(
        "select distinct stock_code, is_product from staging.stg_transactions"
    ).df()
    expected = clean[["stock_code", "is_product"]].drop_duplicates()
    assert_matches_oracle(expected, got, ["stock_code"], "staging.stg_transactions.is_product by stock_code")


def test_orders(con, clean, as_of):
    got = _table(con, "intermediate.int_orders")
    assert_matches_oracle(oracle.orders(clean, as_of), got, ["invoice_no"], "intermediate.int_orders")


def test_customer_rfm(con, clean, as_of):
    got = _table(con, "features.customer_rfm")
    assert_matches_oracle(oracle.rfm(clean, as_of), got, ["customer_id"], "features.customer_rfm")
    if "as_of_date" in got.columns:
        assert (_as_dates(got["as_of_date"]) == as_of).all()


def test_cohort_retention(con, clean, as_of):
    got = _table(con, "features.cohort_retention")
    expected = oracle.cohort_retention(clean, as_of)
    assert_matches_oracle(expected, got, ["cohort_month", "month_offset"], "features.cohort_retention")
    month0 = got[got["month_offset"] == 0]["retention_rate"]
    assert (month0 == 1.0).all(), "retention_rate at month 0 must be exactly 1.0"


def test_btyd_summary(con, clean, as_of):
    got = _table(con, "features.customer_btyd_summary")
    expected = oracle.btyd_summary(clean, as_of)
    assert_matches_oracle(expected, got, ["customer_id"], "features.customer_btyd_summary")
    if "observation_period_end" in got.columns:
        assert (_as_dates(got["observation_period_end"]) == as_of - pd.Timedelta(days=1)).all()


def test_customer_features(con, expected_current_features):
    """The as_of_date slice; snapshot_index (always 0 there) is not required as a column."""
    got = _table(con, "features.customer_features")
    expected = expected_current_features[oracle.FEATURE_COLUMNS]
    assert_matches_oracle(expected, got, ["customer_id"], "features.customer_features")


def test_features_by_cutoff(con, expected_current_features, expected_training):
    got = _table(con, "intermediate.int_customer_features_by_cutoff")
    columns = ["snapshot_index", *oracle.FEATURE_COLUMNS]
    expected = pd.concat([expected_current_features[columns], expected_training[columns]], ignore_index=True)
    assert_matches_oracle(
        expected, got, ["customer_id", "cutoff_date"], "intermediate.int_customer_features_by_cutoff"
    )


def test_training_snapshots(con, expected_training):
    got = _table(con, "features.training_snapshots")
    assert_matches_oracle(expected_training, got, ["customer_id", "cutoff_date"], "features.training_snapshots")
