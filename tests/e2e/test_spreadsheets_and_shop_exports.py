"""End to end: a workbook with two overlapping sheets builds the same tables as the same rows in
two CSV files (duplicates across sheets found as across files; source_file names the sheet), and
a Shopify orders export builds with its preset detected, refunds counted as cancellations."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers import (
    CANONICAL_HEADER, HAND_ROWS, SHOPIFY_HEADER, SHOPIFY_ROWS, build_warehouse, query, run_build, write_csv,
    write_workbook,
)


@pytest.fixture(scope="module")
def sheets_and_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sheets")
    book = write_workbook(folder / "shop.xlsx", {
        "Read me": (["Exported by the shop"], [["2024-04-01"]]),
        "Jan-Feb": (CANONICAL_HEADER, HAND_ROWS[:6]),
        "Feb-Mar": (CANONICAL_HEADER, HAND_ROWS[3:]),      # rows 4-6 again, as UCI's sheets overlap
    })
    proc = run_build(book, folder / "wh_book", "--skip-ml")
    # the CSV files hold the text a person sees in the cells (3.5, not 3.50; 100, not 100.0)
    frames = {name: pd.read_excel(book, sheet_name=name, dtype=str, engine="openpyxl") for name in ("Jan-Feb", "Feb-Mar")}
    csvs = []
    for name, frame in frames.items():   # dates as UCI's CSV export writes them: 1/5/2024 10:00
        stamps = pd.to_datetime(frame["InvoiceDate"], errors="coerce")
        part = {unit: getattr(stamps.dt, unit).astype("Int64").astype("string")   # 2, not 2.0 beside a NaT
                for unit in ("month", "day", "year")}
        us = part["month"] + "/" + part["day"] + "/" + part["year"] + " " + stamps.dt.strftime("%H:%M")
        frame["InvoiceDate"] = us.fillna(frame["InvoiceDate"])
        csvs.append(folder / f"{name}.csv")
        frame.to_csv(csvs[-1], index=False)
    files_db = build_warehouse(csvs[0], folder / "wh_files", "--skip-ml", "--transactions", str(csvs[1]))
    return folder / "wh_book" / "retention.duckdb", files_db, proc


def test_dates_no_value_settles_are_read_month_first_with_a_warning_kept_in_input_warnings(sheets_and_files):
    _, files_db, _ = sheets_and_files
    # every day of the hand-worked shop is 12 or less: 1/5/2024 could be 5 January or 1 May
    (message,) = query(files_db, "select message from staging.input_warnings "
                                 "where warning_kind = 'input_reading'").message
    assert "could be day-first or month-first, and no value settles it: they are read month-first" in message
    first = query(files_db, "select invoice_at from staging.stg_transactions where raw_row_id = 1").invoice_at[0]
    assert first == pd.Timestamp("2024-01-05 10:00")


def test_a_workbook_builds_the_same_tables_as_its_sheets_as_csv_files(sheets_and_files):
    book_db, files_db, _ = sheets_and_files
    for table in ("staging.stg_transactions", "staging.stg_transactions_rejected", "features.customer_rfm",
                  "features.customer_features", "features.cohort_retention"):
        columns = "* exclude (source_file)" if table.startswith("staging") else "*"
        if table.endswith("rejected"):   # the raw date text differs: a date cell, a US date in the CSV
            columns = "* exclude (source_file, invoice_date)"
        a = query(book_db, f"select {columns} from {table} order by all")
        b = query(files_db, f"select {columns} from {table} order by all")
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert query(book_db, "select count(*) as n from staging.stg_transactions").n[0] == 7


def test_rows_repeated_across_sheets_are_found_and_named_by_sheet(sheets_and_files):
    book_db, _, proc = sheets_and_files
    assert "overlap: 3 rows of shop.xlsx [Feb-Mar] repeat rows of shop.xlsx [Jan-Feb]" in proc.stdout
    assert "skipped 'Read me' (none of the transaction columns)" in proc.stdout
    rejected = query(book_db, "select raw_row_id, source_file from staging.stg_transactions_rejected "
                              "where rejection_reason = 'duplicate' order by 1")
    assert rejected.raw_row_id.tolist() == [7, 8, 9, 11]
    assert set(rejected.source_file) == {"shop.xlsx [Feb-Mar]"}
    files = query(book_db, "select source_file, count(*) as n from staging.base_transactions group by 1 order by 1")
    assert dict(zip(files.source_file, files.n)) == {"shop.xlsx [Feb-Mar]": 12, "shop.xlsx [Jan-Feb]": 6}


@pytest.fixture(scope="module")
def shopify_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shopify")
    source = write_csv(folder / "orders_export_1.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)
    proc = run_build(source, folder / "wh", "--skip-ml")
    return folder / "wh" / "retention.duckdb", proc


def test_a_shopify_export_builds_with_its_preset_detected(shopify_db):
    db, proc = shopify_db
    assert "columns: the shopify layout (detected from the header); orders whose Financial Status is " \
           "refunded or voided count as cancelled" in proc.stdout
    stg = query(db, "select * from staging.stg_transactions order by raw_row_id")
    assert stg.invoice_no.tolist() == ["#1001", "#1001", "#1002", "#1003", "#1004"]
    assert stg.customer_id.tolist() == ["jane@example.com"] * 3 + ["bob@example.com"] * 2
    assert stg.stock_code.tolist() == ["MUG-B", "COAST-1", "POT-1", "MUG-L", "MUG-B"]
    # the offset of Shopify's 'Created at' is dropped: the shop's local time is kept
    assert stg.invoice_at[3] == pd.Timestamp("2024-02-20 09:00:00")
    # Billing Country is filled on an order's first row only: the order still has its country
    orders = query(db, "select invoice_no, country, order_value from intermediate.int_orders order by 1")
    assert orders.country.tolist() == ["GB", "GB", "US", "US"]
    assert orders.order_value.tolist() == pytest.approx([48.0, 15.0, 30.0, 25.0])


def test_a_refunded_shopify_order_counts_as_the_order_and_its_cancellation(shopify_db):
    db, _ = shopify_db
    flags = query(db, "select invoice_no, is_refunded from staging.stg_transactions order by raw_row_id")
    assert flags.is_refunded.tolist() == [False, False, True, False, False]
    rfm = query(db, "select * from features.customer_rfm").set_index("customer_id")
    # Jane: #1001 (48.00) and #1002 (15.00, refunded: sold and returned) -> 2 orders, 48.00 net
    assert rfm.loc["jane@example.com", "frequency"] == 2
    assert rfm.loc["jane@example.com", "monetary"] == pytest.approx(48.0)
    assert rfm.loc["bob@example.com", "monetary"] == pytest.approx(55.0)
    features = query(db, "select customer_id, return_rate from features.customer_features").set_index("customer_id")
    assert features.loc["jane@example.com", "return_rate"] == pytest.approx(15.0 / 63.0)
    assert features.loc["bob@example.com", "return_rate"] == 0
