"""End to end: an export with day-first dates and decimal commas builds with both read from the
data (and says so); the same text in Parquet builds the same tables; a file the data contradict
stops before any SQL runs; rejected-row shares over the threshold are warnings a person sees, at
the end of the build, in staging.input_warnings and in the report."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers import CANONICAL_HEADER, HAND_ROWS, build_warehouse, query, run_build, write_csv


def european(row: list[str]) -> list[str]:
    """A row as a European spreadsheet writes it: 05/01/2024 10:00 for 5 January, 3,50."""
    row = list(row)
    try:
        stamp = pd.Timestamp(row[4])
        row[4] = f"{stamp.day:02d}/{stamp.month:02d}/{stamp.year} {stamp.hour:02d}:{stamp.minute:02d}"
    except ValueError:
        pass
    row[3], row[5] = row[3].replace(".", ","), row[5].replace(".", ",")
    return row


# the hand-worked shop, plus one order on 25 January that settles the day-first reading
ROWS = [european(r) for r in HAND_ROWS] + [european(["1012", "B2", "PLATE", "3", "2024-01-25 09:15:00", "10.00", "200", "Spain"])]


@pytest.fixture(scope="module")
def european_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("european")
    source = write_csv(folder / "europe.csv", CANONICAL_HEADER, ROWS)
    proc = run_build(source, folder / "wh", "--skip-ml")
    return folder / "wh" / "retention.duckdb", proc


def test_day_first_dates_and_decimal_commas_are_read_from_the_data(european_build):
    db, proc = european_build
    assert "dates: day-first, read from the data (1 value such as '25/01/2024 09:15'" in proc.stdout
    assert "numbers: decimal comma, read from the data" in proc.stdout
    clean = query(db, "select raw_row_id, invoice_at, unit_price, quantity from staging.stg_transactions "
                      "order by raw_row_id").set_index("raw_row_id")
    # 05/01/2024 is 5 January, 10/02/2024 10 February, 01/03/2024 1 March; 3,50 is 3.5
    assert clean.loc[1, "invoice_at"] == pd.Timestamp("2024-01-05 10:00")
    assert clean.loc[3, "invoice_at"] == pd.Timestamp("2024-02-10 11:00")
    assert clean.loc[5, "invoice_at"] == pd.Timestamp("2024-03-01 12:00")
    assert clean.loc[16, "invoice_at"] == pd.Timestamp("2024-01-25 09:15")
    assert float(clean.loc[1, "unit_price"]) == 3.5 and float(clean.loc[2, "unit_price"]) == 10.0
    # the same RFM as the ISO file worked by hand in test_warehouse_build, plus the January order
    rfm = query(db, "select * from features.customer_rfm").set_index("customer_id")
    assert rfm.loc["100", "monetary"] == pytest.approx(7.0 + 10.0 + 14.0 - 3.5 + 5.0 + 20.0)
    assert rfm.loc["200", "monetary"] == pytest.approx(3.5 + 30.0) and rfm.loc["200", "frequency"] == 2


def test_rejected_shares_over_the_threshold_are_warnings_with_an_example(european_build):
    db, proc = european_build
    raw = len(ROWS)
    rejected = query(db, "select rejection_reason, count(*) as n, min(raw_row_id) as first_row "
                         "from staging.stg_transactions_rejected group by 1")
    expected = rejected[(rejected.n / raw > 0.05) & (rejected.rejection_reason != "missing_customer")]
    warnings = query(db, "select * from staging.input_warnings where warning_kind = 'rejected_rows' order by warning_id")
    assert sorted(warnings.rejection_reason) == sorted(expected.rejection_reason)
    assert len(warnings) == 6          # every reason of the hand-worked shop (1 or 2 rows of 16) but the exempt one
    by_reason = warnings.set_index("rejection_reason")
    quantity = by_reason.loc["invalid_quantity"]
    assert (quantity.affected_rows, quantity.raw_rows, quantity.example_raw_row_id) == (2, raw, 11)
    assert quantity.affected_share == pytest.approx(2 / raw)
    assert quantity.message.startswith("invalid_quantity: 12.5% of the rows (2 of 16): the quantity is not a plain "
                                       "whole number; e.g. row 11 of 'europe.csv': 'two'. Fix:")
    assert by_reason.loc["invalid_unit_price", "example_value"] == "£3"
    # printed once, at the very end, after the summary of the build
    tail = proc.stdout.split("[retention] query it:")[1]
    assert tail.count("WARNING: invalid_quantity: 12.5% of the rows") == 1
    assert proc.stdout.count("WARNING: invalid_quantity") == 1


def test_the_report_shows_the_input_warnings(european_build, tmp_path):
    from retention.outputs.report import render_report

    db, _ = european_build
    html = render_report(db, tmp_path / "report.html").read_text()
    block = html.split('id="input-warnings"')[1].split("</div>")[0]
    assert "6 warnings about the input" in block
    assert "invalid_quantity: 12.5% of the rows (2 of 16)" in block and "&#39;£3&#39;" in block


def test_the_same_text_in_parquet_builds_the_same_tables(european_build, tmp_path):
    db, _ = european_build
    path = tmp_path / "europe.parquet"
    pd.DataFrame(ROWS, columns=CANONICAL_HEADER).replace("", None).to_parquet(path)  # text columns; empty is NULL
    parquet_db = build_warehouse(path, tmp_path / "wh", "--skip-ml")
    for table in ("staging.stg_transactions", "staging.stg_transactions_rejected", "features.customer_rfm"):
        columns = "* exclude (source_file)" if table.startswith("staging") else "*"
        a = query(db, f"select {columns} from {table} order by all")
        b = query(parquet_db, f"select {columns} from {table} order by all")
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("dates, args, fragments", [
    (["25/01/2024 10:00", "01/25/2024 10:00"], [], ["dates of both conventions", "'25/01/2024 10:00'",
                                                    "'01/25/2024 10:00'", "InvoiceDate", "--date-format"]),
    (["25/01/2024 10:00", "05/01/2024 10:00"], ["--date-format", "month-first"],
     ["set to be read month-first", "can only be day-first", "Fix: --date-format day-first", "invoice_date_formats"]),
])
def test_dates_the_data_contradict_stop_the_build_before_any_sql(tmp_path, dates, args, fragments):
    rows = [[str(1000 + i), "A1", "MUG", "1", d, "3.50", "100", "France"] for i, d in enumerate(dates)]
    proc = run_build(write_csv(tmp_path / "shop.csv", CANONICAL_HEADER, rows), tmp_path / "wh", "--skip-ml", *args,
                     check=False)
    assert proc.returncode == 2
    assert "'shop.csv'" in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, fragment
    assert "dbt build" not in proc.stdout and not (tmp_path / "wh" / "retention.duckdb").exists()
