"""The full Online Retail file as users really have it: exported with European (day-first) dates,
and as the spreadsheet UCI distributes (typed cells in one sheet). Both build exactly the tables
of the original CSV, or stop; never different numbers. Needs ../shared/data."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from helpers import ONLINE_RETAIL, REPO, query, run_build

pytestmark = pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason=f"{ONLINE_RETAIL} is absent (it ships in "
                                "../shared/data beside the repository, not in the repository)")

COMPARED = {
    "staging.stg_transactions": "* exclude (source_file)",
    "features.customer_rfm": "*",
    "features.cohort_retention": "*",
    "features.customer_btyd_summary": "*",
}


@pytest.fixture(scope="module")
def original_db(online_retail_db):
    """The original CSV built with the default options (tests/conftest.py). The tables compared are SQL
    layers, which the models only read: the same as in a build with --skip-ml."""
    return online_retail_db


def assert_same_tables(a_db, b_db):
    for table, columns in COMPARED.items():
        a = query(a_db, f"select {columns} from {table} order by all")
        b = query(b_db, f"select {columns} from {table} order by all")
        assert len(a) > 50, table
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=table)
    reasons = "select rejection_reason, count(*) as n from staging.stg_transactions_rejected group by 1 order by 1"
    pd.testing.assert_frame_equal(query(a_db, reasons), query(b_db, reasons))


def test_online_retail_with_day_first_dates_builds_the_same_rfm(original_db, tmp_path):
    day_first = tmp_path / "online_retail_eu.csv.gz"
    duckdb.connect().execute(f"""copy (select * replace (strftime(cast(InvoiceDate as timestamp), '%d/%m/%Y %H:%M') as InvoiceDate)
                   from read_csv('{ONLINE_RETAIL}', all_varchar = true))
                   to '{day_first}' (header, compression gzip)""")
    proc = run_build(day_first, tmp_path / "wh", "--skip-ml")
    match = re.search(r"dates: day-first, read from the data \(([0-9,]+) values such as '(\d\d)/", proc.stdout)
    assert match and int(match.group(2)) > 12
    # independently: the rows whose day is above 12 are the ones that settle it
    settled = duckdb.connect().execute(f"select count(*) from read_csv('{ONLINE_RETAIL}', all_varchar = true) "
                         "where day(cast(InvoiceDate as timestamp)) > 12").fetchone()[0]
    assert int(match.group(1).replace(",", "")) == settled
    assert_same_tables(original_db, tmp_path / "wh" / "retention.duckdb")
    # and read month-first on purpose, it stops before any SQL instead of building other numbers
    refused = run_build(day_first, tmp_path / "wh2", "--skip-ml", "--date-format", "month-first", check=False)
    assert refused.returncode == 2 and "can only be day-first" in refused.stderr
    assert not (tmp_path / "wh2" / "retention.duckdb").exists()


def write_online_retail_workbook(path):
    """Online Retail as UCI's spreadsheet holds it: numbers as numbers, dates as dates."""
    import xlsxwriter

    rows = duckdb.connect().execute(f"select * from read_csv('{ONLINE_RETAIL}', all_varchar = true)").fetchall()
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    stamp = book.add_format({"num_format": "m/d/yyyy h:mm"})
    sheet = book.add_worksheet("Online Retail")
    sheet.write_row(0, 0, ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                           "CustomerID", "Country"])
    digits = re.compile(r"^[0-9]+$")
    for i, (invoice, code, description, quantity, date, price, customer, country) in enumerate(rows, start=1):
        sheet.write_number(i, 0, int(invoice)) if digits.match(invoice) else sheet.write_string(i, 0, invoice)
        sheet.write_number(i, 1, int(code)) if digits.match(code) else sheet.write_string(i, 1, code)
        if description is not None:
            sheet.write_string(i, 2, description)
        sheet.write_number(i, 3, int(quantity))
        sheet.write_datetime(i, 4, dt.datetime.fromisoformat(date), stamp)
        sheet.write_number(i, 5, float(price))
        if customer is not None:
            sheet.write_number(i, 6, int(customer))
        sheet.write_string(i, 7, country)
    book.close()
    return len(rows)


def test_the_online_retail_workbook_builds_the_same_tables_as_its_csv(original_db, tmp_path):
    book = tmp_path / "Online Retail.xlsx"
    assert write_online_retail_workbook(book) == 541_909
    # the conversion alone, in a process of its own: how long, and how much memory at most
    probe = ("import json, resource, sys, time; from pathlib import Path; "
             "from retention.inputs.workbooks import load_workbook; t = time.monotonic(); "
             "b = load_workbook(Path(sys.argv[1]), Path(sys.argv[2])); "
             "print(json.dumps({'seconds': time.monotonic() - t, 'rows': b.sheets[0].rows, "
             "'reader': b.sheets[0].reader, 'peak_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    measured = json.loads(subprocess.run([sys.executable, "-c", probe, str(book), str(tmp_path / "probe_cache")],
                                         cwd=REPO, capture_output=True, text=True, check=True).stdout)
    print(f"Online Retail.xlsx: {measured}")
    assert measured["rows"] == 541_909 and measured["reader"] == "python-calamine"
    # the sheet's 4.3M cells are read whole: 400 MiB measured on a quiet machine, 713 MiB once
    # under heavy load; a sheet above workbook_fast_read_cells is streamed instead
    assert measured["peak_mib"] < 1024
    proc = run_build(book, tmp_path / "wh", "--skip-ml")
    assert "workbook Online Retail.xlsx: sheets 'Online Retail' (541,909 rows)" in proc.stdout
    db = tmp_path / "wh" / "retention.duckdb"
    assert_same_tables(original_db, db)
    assert query(db, "select distinct source_file from staging.base_transactions").source_file.tolist() == [
        "Online Retail.xlsx [Online Retail]"]
