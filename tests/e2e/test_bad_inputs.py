"""The catalogue of bad inputs: exports from real shops are messy.

Every case ends in one of two ways, both tested here:
  * a clear error (exit 2) naming the file, the column or row, and the fix -- and a previous
    warehouse in the folder stays untouched;
  * a documented handling: the build succeeds and the affected rows are in
    staging.stg_transactions_rejected with their reason (or stay clean, for business
    oddities such as zero prices), and raw rows = clean + rejected.

Row-level mess shares one build (MESSY_ROWS); file-level problems are refused before any
SQL runs (cheap); the rest needs a build of its own.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib

import duckdb
import pandas as pd
import pytest

from helpers import CANONICAL_HEADER, HAND_ROWS, build_warehouse, query, run_build, write_csv

AS_OF = "2024-04-01"
EXTRA_COLUMNS = ["Notes", "Unnamed: 9"]

# (case, row, expected rejection_reason or None for a clean row). raw_row_id = position + 1.
MESSY_ROWS = [
    ("clean ISO timestamp", ["2001", "A1", "MUG", "2", "2024-01-05 10:00:00", "3.50", "100", "France"], None),
    ("UCI spreadsheet date mixed with ISO", ["2002", "A1", "MUG", "1", "1/6/2024 11:00", "3.50", "100", "France"], None),
    ("ISO with T and Z (offset ignored)", ["2003", "A1", "MUG", "1", "2024-01-07T09:30:00Z", "3.50", "100", "France"], None),
    ("date without time", ["2004", "B2", "PLATE", "1", "2024-01-08", "10.00", "200", "Spain"], None),
    # (a day-first date such as 31/01/2024 would settle the file's convention: see test_dates_and_numbers.py)
    ("date valid in neither convention", ["2005", "A1", "MUG", "1", "31/02/2024 10:00", "3.50", "200", "Spain"], "invalid_invoice_date"),
    ("free text date", ["2006", "A1", "MUG", "1", "last Tuesday", "3.50", "200", "Spain"], "invalid_invoice_date"),
    ("spreadsheet zero date 1899-12-30", ["2007", "A1", "MUG", "1", "1899-12-30 00:00:00", "3.50", "200", "Spain"], "implausible_date"),
    ("pre-1990 date 1/1/1900", ["2008", "A1", "MUG", "1", "1/1/1900 0:00", "3.50", "200", "Spain"], "implausible_date"),
    ("far-future date (after as_of_date: clean, invisible)", ["2009", "A1", "MUG", "1", "2099-01-01 10:00:00", "3.50", "200", "Spain"], None),
    ("currency symbol in price", ["2010", "A1", "MUG", "1", "2024-01-09 10:00:00", "£3.50", "200", "Spain"], "invalid_unit_price"),
    ("thousands separator in price", ["2011", "A1", "MUG", "1", "2024-01-09 10:00:00", "1,234.50", "200", "Spain"], "invalid_unit_price"),
    ("decimal comma in price", ["2012", "A1", "MUG", "1", "2024-01-09 10:00:00", "3,50", "200", "Spain"], "invalid_unit_price"),
    ("thousands separator in quantity", ["2013", "A1", "MUG", "1,000", "2024-01-09 10:00:00", "3.50", "200", "Spain"], "invalid_quantity"),
    ("NaN price", ["2014", "A1", "MUG", "1", "2024-01-09 10:00:00", "NaN", "200", "Spain"], "invalid_unit_price"),
    ("inf price", ["2015", "A1", "MUG", "1", "2024-01-09 10:00:00", "inf", "200", "Spain"], "invalid_unit_price"),
    ("-inf quantity", ["2016", "A1", "MUG", "-inf", "2024-01-09 10:00:00", "3.50", "200", "Spain"], "invalid_quantity"),
    ("underscore digit separator in quantity", ["2017", "A1", "MUG", "1_000", "2024-01-09 10:00:00", "3.50", "200", "Spain"], "invalid_quantity"),
    ("zero price (clean, not an order)", ["2018", "A1", "MUG", "1", "2024-01-10 10:00:00", "0", "300", "Spain"], None),
    ("negative price (clean, not an order)", ["2019", "A1", "MUG", "1", "2024-01-10 10:00:00", "-2.00", "300", "Spain"], None),
    ("huge quantity 5e9", ["2020", "A1", "MUG", "5000000000", "2024-01-10 10:00:00", "3.50", "200", "Spain"], "invalid_quantity"),
    ("barcode in quantity", ["2021", "A1", "MUG", "5012345678900", "2024-01-10 10:00:00", "3.50", "200", "Spain"], "invalid_quantity"),
    ("large but plausible quantity", ["2022", "A1", "MUG", "80995", "2024-01-10 10:00:00", "2.08", "200", "Spain"], None),
    ("HTML/script in description and country", ["2023", "A1", "<script>alert('x')</script>", "1", "2024-01-11 10:00:00", "3.50", "200", "<b onmouseover=alert(1)>Spain</b>"], None),
    ("duplicated invoice line", ["2001", "A1", "MUG", "2", "2024-01-05 10:00:00", "3.50", "100", "France"], "duplicate"),
    ("customer id 'nan' from a pandas export", ["2024", "A1", "MUG", "1", "2024-01-11 10:00:00", "3.50", "nan", "Spain"], "missing_customer"),
    ("header line repeated mid-file", list(CANONICAL_HEADER), "invalid_invoice_date"),
    ("padded numbers and unicode text", ["2025", " A1 ", "Crème brûlée ☕", " 3 ", "2024-01-12 10:00:00", " 3.50 ", " 200.0 ", "Côte d'Ivoire"], None),
]
REASONS = {i + 1: reason for i, (_, _, reason) in enumerate(MESSY_ROWS) if reason}
ROW_OF = {case: i + 1 for i, (case, _, _) in enumerate(MESSY_ROWS)}


def file_digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def previous_warehouse(folder):
    """A stand-in previous warehouse: any failed build must leave it byte for byte."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "retention.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table previous_build as select 42 as answer")
    con.close()
    return db, file_digest(db)


def assert_untouched(db, digest):
    assert file_digest(db) == digest
    assert query(db, "select answer from previous_build").answer[0] == 42


def attempt(transactions, warehouse_dir, *args):
    """A build that may be refused."""
    return run_build(transactions, warehouse_dir, *args, check=False)


def refused(proc, *fragments):
    """Exit 2 with every fragment in the message (stderr, or dbt's output for dbt-side checks)."""
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stderr
    missing = [f for f in fragments if f not in text]
    assert not missing, f"missing {missing} in:\n{text}"
    return text


# ----------------------------------------------------------------------------------------
# Row-level mess: one build, every case a test
# ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("messy")
    path = folder / "messy.csv"
    # UTF-8 with a byte-order mark, Windows line ends, two extra columns
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CANONICAL_HEADER + EXTRA_COLUMNS)
        for i, (_, row, _) in enumerate(MESSY_ROWS):
            writer.writerow(row + [f"note {i}", ""])
    proc = run_build(path, folder / "wh", "--skip-ml", "--as-of-date", AS_OF)
    return folder / "wh" / "retention.duckdb", proc


@pytest.mark.parametrize("case", [c for c, _, _ in MESSY_ROWS])
def test_messy_row_is_clean_or_rejected_with_its_reason(messy, case):
    db, _ = messy
    row = ROW_OF[case]
    base = query(db, f"select rejection_reason from staging.base_transactions where raw_row_id = {row}")
    assert base.rejection_reason[0] == REASONS.get(row)
    in_clean = query(db, f"select count(*) as n from staging.stg_transactions where raw_row_id = {row}").n[0]
    in_rejected = query(db, f"select count(*) as n from staging.stg_transactions_rejected where raw_row_id = {row}").n[0]
    assert (in_clean, in_rejected) == ((0, 1) if REASONS.get(row) else (1, 0))


def test_messy_file_reconciles_and_rejected_rows_keep_their_raw_text(messy):
    db, proc = messy
    counts = query(db, "select (select count(*) from staging.stg_transactions) as clean, "
                       "(select count(*) from staging.stg_transactions_rejected) as rejected").iloc[0]
    assert counts.clean + counts.rejected == len(MESSY_ROWS)
    assert counts.rejected == len(REASONS)
    price = query(db, f"select unit_price from staging.stg_transactions_rejected "
                      f"where raw_row_id = {ROW_OF['currency symbol in price']}")
    assert price.unit_price[0] == "£3.50"
    # the build says what it rejected, with an example and a hint
    assert "invalid_unit_price" in proc.stdout and "'£3.50'" in proc.stdout
    assert "currency symbols" in proc.stdout


def test_byte_order_mark_crlf_and_extra_columns_are_ignored(messy):
    db, _ = messy
    columns = set(query(db, "select * from staging.stg_transactions limit 0").columns)
    assert not {"Notes", "Unnamed: 9", "notes"} & columns
    assert query(db, "select invoice_no from staging.stg_transactions where raw_row_id = 1").invoice_no[0] == "2001"


def test_mixed_date_formats_parse_to_the_same_clock(messy):
    db, _ = messy
    stamps = query(db, "select raw_row_id, invoice_at from staging.stg_transactions where raw_row_id <= 4 "
                       "order by 1").invoice_at.tolist()
    assert stamps == [pd.Timestamp("2024-01-05 10:00"), pd.Timestamp("2024-01-06 11:00"),
                      pd.Timestamp("2024-01-07 09:30"), pd.Timestamp("2024-01-08 00:00")]


def test_zero_and_negative_prices_stay_clean_but_are_not_orders(messy):
    db, _ = messy
    stg = query(db, "select unit_price, line_amount from staging.stg_transactions "
                    f"where raw_row_id in ({ROW_OF['zero price (clean, not an order)']}, "
                    f"{ROW_OF['negative price (clean, not an order)']}) order by raw_row_id")
    assert stg.unit_price.tolist() == [0, -2]
    assert query(db, "select count(*) as n from intermediate.int_orders where invoice_no in ('2018', '2019')").n[0] == 0


def test_dates_after_as_of_date_are_clean_but_invisible(messy):
    db, proc = messy
    row = ROW_OF["far-future date (after as_of_date: clean, invisible)"]
    assert query(db, f"select count(*) as n from staging.stg_transactions where raw_row_id = {row}").n[0] == 1
    assert query(db, "select count(*) as n from intermediate.int_orders where invoice_no = '2009'").n[0] == 0
    last = query(db, "select max(last_order_date) as d from features.customer_rfm").d[0]
    assert pd.Timestamp(last) < pd.Timestamp(AS_OF)
    assert "on or after as_of_date" in proc.stdout


def test_html_and_script_text_is_kept_verbatim_as_data(messy):
    db, _ = messy
    row = query(db, "select description, country from staging.stg_transactions "
                    f"where raw_row_id = {ROW_OF['HTML/script in description and country']}").iloc[0]
    assert row.description == "<script>alert('x')</script>"
    assert row.country == "<b onmouseover=alert(1)>Spain</b>"


def test_padded_numbers_and_unicode_text_are_trimmed_and_kept(messy):
    db, _ = messy
    row = query(db, "select * from staging.stg_transactions "
                    f"where raw_row_id = {ROW_OF['padded numbers and unicode text']}").iloc[0]
    assert (row.stock_code, row.quantity, float(row.unit_price), row.customer_id) == ("A1", 3, 3.5, "200")
    assert row.description == "Crème brûlée ☕" and row.country == "Côte d'Ivoire"


def test_large_plausible_quantity_is_kept(messy):
    db, _ = messy
    row = query(db, "select quantity, line_amount from staging.stg_transactions "
                    f"where raw_row_id = {ROW_OF['large but plausible quantity']}").iloc[0]
    assert row.quantity == 80995 and float(row.line_amount) == pytest.approx(80995 * 2.08)



# ----------------------------------------------------------------------------------------
# File-level problems: refused before any SQL runs
# ----------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    refused(attempt(tmp_path / "nope.csv", tmp_path / "wh"), "nope.csv", "does not exist", "Fix:")


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    refused(attempt(tmp_path / "empty.csv", tmp_path / "wh"), "empty.csv", "is empty", "Fix:")


def test_header_only(tmp_path):
    source = write_csv(tmp_path / "header.csv", CANONICAL_HEADER, [])
    refused(attempt(source, tmp_path / "wh"), "header.csv", "header but no rows", "Fix:")


def test_unsupported_file_type(tmp_path):
    (tmp_path / "shop.numbers").write_bytes(b"PK\x03\x04")
    refused(attempt(tmp_path / "shop.numbers", tmp_path / "wh"), "shop.numbers", "unsupported file type", ".csv", ".xlsx")


def test_a_broken_workbook_is_refused_with_the_fix(tmp_path):
    (tmp_path / "shop.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    refused(attempt(tmp_path / "shop.xlsx", tmp_path / "wh"), "shop.xlsx", "cannot read workbook", "Fix:")


def test_truncated_gzip(tmp_path):
    whole = gzip.compress(("\n".join([",".join(CANONICAL_HEADER)] + [",".join(r) for r in HAND_ROWS * 50])).encode())
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    refused(attempt(tmp_path / "cut.csv.gz", tmp_path / "wh"), "cut.csv.gz", "cannot read", "Fix:")


def test_undetectable_delimiter(tmp_path):
    (tmp_path / "spaces.csv").write_text(" ".join(CANONICAL_HEADER) + "\n" + " ".join(HAND_ROWS[0][:4]) + "\n")
    refused(attempt(tmp_path / "spaces.csv", tmp_path / "wh"),
            "spaces.csv", "single column", "delimiter", "--delimiter")


def test_unquoted_delimiter_inside_a_value_names_the_line(tmp_path):
    lines = [",".join(CANONICAL_HEADER), ",".join(HAND_ROWS[0]),
             "1002,A1,MUG, LARGE,4,2024-02-10 11:00:00,3.50,100,France"]
    (tmp_path / "ragged.csv").write_text("\n".join(lines) + "\n")
    refused(attempt(tmp_path / "ragged.csv", tmp_path / "wh"),
            "ragged.csv", "line 3 has 9", "header has 8", "Fix: quote")


def test_unquoted_delimiter_far_into_the_file_names_the_line(tmp_path):
    rows = [",".join(HAND_ROWS[0]).replace("1001", str(5000 + i)) for i in range(3000)]
    rows.append("9999,A1,MUG, LARGE,4,2024-02-10 11:00:00,3.50,100,France")
    (tmp_path / "late.csv").write_text("\n".join([",".join(CANONICAL_HEADER)] + rows) + "\n")
    refused(attempt(tmp_path / "late.csv", tmp_path / "wh"), "late.csv", "line 3002", "Fix: quote")


def test_missing_required_column(tmp_path):
    header = [h for h in CANONICAL_HEADER if h != "Quantity"]
    source = write_csv(tmp_path / "noqty.csv", header, [r[:3] + r[4:] for r in HAND_ROWS])
    text = refused(attempt(source, tmp_path / "wh"), "noqty.csv", "quantity", "--column-map quantity=")
    assert "The file has: InvoiceNo" in text


def test_misspelt_column_suggests_the_closest(tmp_path):
    header = [("Cutsomer ID" if h == "CustomerID" else h) for h in CANONICAL_HEADER]
    source = write_csv(tmp_path / "typo.csv", header, HAND_ROWS)
    refused(attempt(source, tmp_path / "wh"), "typo.csv", "customer_id", "Did you mean 'Cutsomer ID'",
            "--column-map customer_id='Cutsomer ID'")


def test_non_utf8_bytes_are_refused_with_the_encoding_fix(tmp_path):
    body = ",".join(CANONICAL_HEADER) + "\n" + ",".join(HAND_ROWS[0]).replace("MUG", "CRÈME") + "\n"
    (tmp_path / "latin.csv").write_bytes(body.encode("latin-1"))
    refused(attempt(tmp_path / "latin.csv", tmp_path / "wh"),
            "latin.csv", "not UTF-8", "--encoding latin-1")


def test_bad_encoding_and_delimiter_options_are_refused(tmp_path):
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    refused(attempt(source, tmp_path / "wh", "--encoding", "ebcdic'); drop"), "--encoding", "latin-1")
    refused(attempt(source, tmp_path / "wh", "--delimiter", "ab"), "--delimiter", "one character")


def test_files_of_mixed_kinds_are_refused(tmp_path):
    first = write_csv(tmp_path / "a.csv", CANONICAL_HEADER, HAND_ROWS)
    pd.DataFrame([HAND_ROWS[0]], columns=CANONICAL_HEADER).to_parquet(tmp_path / "b.parquet")
    refused(attempt(first, tmp_path / "wh", "--transactions", str(tmp_path / "b.parquet")),
            "mix Parquet and CSV", "b.parquet", "Fix:")


def test_files_with_different_headers_are_refused(tmp_path):
    first = write_csv(tmp_path / "a.csv", CANONICAL_HEADER, HAND_ROWS)
    header = ["Invoice" if h == "InvoiceNo" else h for h in CANONICAL_HEADER]
    second = write_csv(tmp_path / "b.csv", header, HAND_ROWS)
    refused(attempt(first, tmp_path / "wh", "--transactions", str(second)),
            "a.csv", "b.csv", "invoice_no", "'InvoiceNo' and 'Invoice'", "Fix:")


def test_the_same_file_twice_and_an_empty_glob_are_refused(tmp_path):
    source = write_csv(tmp_path / "a.csv", CANONICAL_HEADER, HAND_ROWS)
    refused(attempt(source, tmp_path / "wh", "--transactions", str(source)), "a.csv", "given twice")
    refused(attempt(str(tmp_path / "exports" / "*.csv"), tmp_path / "wh"), "no transactions file matches")


@pytest.mark.parametrize("value", ["2024-03-01'; drop table x; --", "01/03/2024", "2024-02-30"])
def test_bad_as_of_date_is_refused(tmp_path, value):
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    refused(attempt(source, tmp_path / "wh", "--as-of-date", value), "as_of_date", "is not a date", "YYYY-MM-DD")


@pytest.mark.parametrize("vars_text, name", [
    ("{churn_horizon_days: '90; drop table x'}", "churn_horizon_days"),
    ("{snapshot_count: 0}", "snapshot_count"),
    ("{clv_margin: '1) or (1=1'}", "clv_margin"),
    ("{invoice_date_formats: \"%d/%m/%Y') --\"}", "invoice_date_formats"),
    ("{column_map: {customer_id: ''}}", "column_map"),
])
def test_numeric_and_structured_vars_carrying_sql_are_refused(tmp_path, vars_text, name):
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    refused(attempt(source, tmp_path / "wh", "--vars", vars_text), name)


def test_memory_limit_and_column_map_flags_are_validated(tmp_path):
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    refused(attempt(source, tmp_path / "wh", "--memory-limit", "8GB'; drop"), "--memory-limit")
    refused(attempt(source, tmp_path / "wh", "--column-map", "nosuch=x"), "--column-map", "NAME=COLUMN")


# ----------------------------------------------------------------------------------------
# Builds of their own
# ----------------------------------------------------------------------------------------

def test_semicolon_delimited_latin1_export_builds_with_the_encoding_flag(tmp_path):
    """A European spreadsheet export: semicolons (detected) and Latin-1 text (--encoding)."""
    rows = [r[:2] + [r[2].replace("MUG", "CRÈME BRÛLÉE")] + r[3:] for r in HAND_ROWS]
    body = "\n".join(";".join(r) for r in [CANONICAL_HEADER] + rows) + "\n"
    (tmp_path / "semicolon.csv").write_bytes(body.encode("latin-1"))
    db = build_warehouse(tmp_path / "semicolon.csv", tmp_path / "wh", "--skip-ml", "--encoding", "latin-1")
    assert query(db, "select count(*) as n from staging.stg_transactions").n[0] == 7
    assert "CRÈME BRÛLÉE" in query(db, "select description from staging.stg_transactions").description.tolist()


def test_hostile_path_and_column_names_are_quoted(tmp_path):
    """A path with quotes and braces; a header, a --column-map value and a date format with SQL in them."""
    folder = tmp_path / "it's {a} folder; drop"
    folder.mkdir()
    hostile = 'Client"; drop table x; --'
    header = [hostile if h == "CustomerID" else h for h in CANONICAL_HEADER]
    source = write_csv(folder / "o'brien {shop}.csv", header, HAND_ROWS)
    formats = "{invoice_date_formats: ['%Y-%m-%d %H:%M:%S', \"%Y'); drop table x; --\"]}"
    db = build_warehouse(source, tmp_path / "wh", "--skip-ml", "--column-map", f"customer_id={hostile}",
                         "--vars", formats)
    assert query(db, "select count(*) as n from staging.stg_transactions").n[0] == 7
    assert query(db, "select distinct source_file from staging.base_transactions").source_file.tolist() == [
        "o'brien {shop}.csv"]


def test_as_of_date_before_the_data_starts_is_refused(tmp_path):
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    db, digest = previous_warehouse(tmp_path / "wh")
    text = refused(attempt(source, tmp_path / "wh", "--skip-ml", "--as-of-date", "2023-06-01"),
                   "as_of_date 2023-06-01 is on or before the first clean transaction (2024-01-05)",
                   "shop.csv", "Fix:", "previous warehouse is untouched")
    assert "kept for inspection" in text
    assert_untouched(db, digest)


def test_as_of_date_after_the_data_ends_builds_and_says_so(tmp_path):
    """Documented: the days after the last transaction count as days without orders."""
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    proc = run_build(source, tmp_path / "wh", "--skip-ml", "--as-of-date", "2024-06-01")
    assert "is 90 days after the last clean transaction (2024-03-03)" in proc.stdout
    db = tmp_path / "wh" / "retention.duckdb"
    assert query(db, "select recency_days from features.customer_rfm where customer_id = '200'").recency_days[0] == 90


def test_future_dated_row_without_as_of_date_is_refused(tmp_path):
    rows = HAND_ROWS[:7] + [["1099", "A1", "MUG", "1", "2101-03-01 10:00:00", "3.50", "200", "Spain"]]
    source = write_csv(tmp_path / "typo.csv", CANONICAL_HEADER, rows)
    db, digest = previous_warehouse(tmp_path / "wh")
    refused(attempt(source, tmp_path / "wh", "--skip-ml"),
            "Row 8 of 'typo.csv'", "2101-03-01", "after today", "--as-of-date")
    assert_untouched(db, digest)


def test_a_file_where_every_row_is_rejected_is_refused(tmp_path):
    rows = [r[:6] + [""] + r[7:] for r in HAND_ROWS]
    source = write_csv(tmp_path / "anonymous.csv", CANONICAL_HEADER, rows)
    refused(attempt(source, tmp_path / "wh", "--skip-ml"),
            "No usable transactions", "anonymous.csv", "missing_customer", "Fix:")


# ----------------------------------------------------------------------------------------
# Degenerate model inputs: the Python step says why, the runner offers --skip-ml, the
# previous warehouse stays; the same file builds with --skip-ml.
# ----------------------------------------------------------------------------------------

def shop_of(orders):
    """Rows for (customer_id, date) orders: one line each."""
    return [[str(10_000 + i), "A1", "MUG", "2", f"{day} 10:00:00", "3.50", cid, "France"]
            for i, (cid, day) in enumerate(orders)]


START = dt.date(2023, 1, 2)


def every(n, step, offset=0):
    return [START + dt.timedelta(days=offset + k * step) for k in range(n)]


DEGENERATE = {
    "single customer": (
        [("100", d) for d in every(15, 30)], [],
        ["BG/NBD needs at least 10 customers, got 1"]),
    "only one-time buyers (degenerate BG/NBD, only churners)": (
        [(str(200 + k), d) for k, d in enumerate(every(45, 10))], [],
        ["no customer has a repeat purchase", "single class (every labelled row has churned=1)"]),
    "no churners": (
        [(str(300 + c), d) for c in range(30) for d in every(24, 20, c % 20)], [],
        ["single class (every labelled row has churned=0)"]),
    "horizon longer than the history": (
        [(str(500 + c), d) for c in range(30) for d in every(12, 37, c)], ["--churn-horizon-days", "500"],
        ["no training snapshot has a complete label window"]),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_model_input_fails_clearly_and_offers_skip_ml(tmp_path, case):
    orders, args, messages = DEGENERATE[case]
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, shop_of(orders))
    db, digest = previous_warehouse(tmp_path / "wh")
    text = refused(attempt(source, tmp_path / "wh", *args), "A Python step failed", "add --skip-ml",
                   "previous warehouse is untouched", *messages)
    assert "Traceback" not in text            # the exception, not the stack
    assert_untouched(db, digest)


def test_degenerate_model_input_builds_with_skip_ml(tmp_path):
    orders, _, _ = DEGENERATE["single customer"]
    source = write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, shop_of(orders))
    db = build_warehouse(source, tmp_path / "wh", "--skip-ml")
    rfm = query(db, "select customer_id, frequency from features.customer_rfm")
    assert rfm.customer_id.tolist() == ["100"] and rfm.frequency[0] == 15


def test_overlapping_second_file_is_deduplicated_and_reported(hand_shop_db, tmp_path):
    first = write_csv(tmp_path / "jan_feb.csv", CANONICAL_HEADER, HAND_ROWS[:6])
    second = write_csv(tmp_path / "feb_mar.csv", CANONICAL_HEADER, HAND_ROWS[3:])  # rows 4-6 again
    proc = run_build(first, tmp_path / "wh2", "--skip-ml", "--transactions", str(second))
    assert "overlap: 3 rows of feb_mar.csv repeat rows of jan_feb.csv" in proc.stdout
    two = tmp_path / "wh2" / "retention.duckdb"
    one = hand_shop_db    # all of HAND_ROWS in one file, built with --skip-ml (tests/conftest.py)
    rejected = query(two, "select raw_row_id, source_file, rejection_reason from staging.stg_transactions_rejected "
                          "where rejection_reason = 'duplicate' order by 1")
    assert rejected.raw_row_id.tolist() == [7, 8, 9, 11]   # rows 4-6 of feb_mar.csv, and the old duplicate
    assert set(rejected.source_file) == {"feb_mar.csv"}
    columns = "* exclude (raw_row_id, source_file)"
    for table in ("staging.stg_transactions", "features.customer_rfm", "features.customer_features"):
        a = query(one, f"select {columns if 'stg' in table else '*'} from {table} order by all")
        b = query(two, f"select {columns if 'stg' in table else '*'} from {table} order by all")
        pd.testing.assert_frame_equal(a, b)
    raw = query(two, "select (select count(*) from staging.stg_transactions) + "
                     "(select count(*) from staging.stg_transactions_rejected) as n").n[0]
    assert raw == 6 + len(HAND_ROWS) - 3

