"""Spreadsheets and known export layouts, without dbt: a workbook's sheets read into the cache
(both readers give the same text), sheets without the columns listed and skipped, and presets
mapping the real column names of shop exports."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

import retention.inputs.workbooks as workbooks
from helpers import CANONICAL_HEADER, HAND_ROWS, SHOPIFY_HEADER, WOOCOMMERCE_HEADER, write_csv, write_workbook
from retention.config import UsageError, canonical_columns, project_vars
from retention.inputs.columns import choose_preset
from retention.inputs.preflight import expand_workbooks, preflight


@pytest.mark.parametrize("value, text", [
    (None, None), ("", None), ("C536379", "C536379"), (6.0, "6"), (2.55, "2.55"), (17850.0, "17850"),
    (-1.0, "-1"), (0.1, "0.1"), (1e20, "1e+20"), (True, "TRUE"),
    (dt.datetime(2010, 12, 1, 8, 26), "2010-12-01 08:26:00"),
    (dt.datetime(2010, 12, 1, 8, 25, 59, 999_800), "2010-12-01 08:26:00"),   # day-fraction noise
    (dt.datetime(2010, 12, 1, 8, 26, 0, 250_000), "2010-12-01 08:26:00.250"),
    (dt.date(2011, 1, 2), "2011-01-02 00:00:00"), (dt.time(9, 5), "09:05:00"),
])
def test_a_cell_becomes_the_text_a_person_sees(value, text):
    assert workbooks.cell_text(value) == text


def test_header_names_are_unique_and_never_empty():
    assert workbooks.column_names(["Name", None, "name", "Name", " "]) == ["Name", "column2", "name_1", "Name_2", "column5"]


def sheet_frames(book):
    return {s.name: pd.read_parquet(book.folder / s.parquet) for s in book.sheets if s.parquet}


def test_both_readers_write_the_same_text(tmp_path, monkeypatch):
    """python-calamine (whole sheet) and openpyxl (streamed) give identical Parquet files."""
    source = write_workbook(tmp_path / "shop.xlsx", {"2024": (CANONICAL_HEADER, HAND_ROWS)})
    fast = workbooks.load_workbook(source, tmp_path / "fast")
    monkeypatch.setitem(project_vars()["raw_reader_options"], "workbook_fast_read_cells", 0)
    streamed = workbooks.load_workbook(source, tmp_path / "streamed")
    assert [s.reader for s in fast.sheets] == ["python-calamine"]
    assert [s.reader for s in streamed.sheets] == ["openpyxl (streamed)"]
    a, b = sheet_frames(fast)["2024"], sheet_frames(streamed)["2024"]
    pd.testing.assert_frame_equal(a, b)
    # typed cells came back as the CSV text (numbers were written as numbers, dates as dates)
    assert a.columns.tolist() == CANONICAL_HEADER and len(a) == len(HAND_ROWS)
    assert a.iloc[0].tolist() == ["1001", "A1", "MUG", "2", "2024-01-05 10:00:00", "3.5", "100", "France"]
    assert pd.isna(a.iloc[8]["CustomerID"])                 # an empty cell is NULL, as in a CSV


def test_the_sheet_size_comes_from_its_dimension_or_its_xml(tmp_path):
    source = write_workbook(tmp_path / "shop.xlsx", {"a": (CANONICAL_HEADER, HAND_ROWS), "b": (["x"], [["1"]])})
    assert workbooks.xlsx_cell_counts(source) == {"a": 8 * (len(HAND_ROWS) + 1), "b": 2}
    import openpyxl   # openpyxl's write-only mode writes no dimension: the XML size bounds the cells

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("big")
    for i in range(100):
        sheet.append([i, "x" * 10])
    book.save(tmp_path / "plain.xlsx")
    (estimate,) = workbooks.xlsx_cell_counts(tmp_path / "plain.xlsx").values()
    assert estimate >= 200


def test_an_unchanged_workbook_is_read_from_the_cache(tmp_path):
    source = write_workbook(tmp_path / "shop.xlsx", {"2024": (CANONICAL_HEADER, HAND_ROWS)})
    first = workbooks.load_workbook(source, tmp_path / "cache")
    again = workbooks.load_workbook(source, tmp_path / "cache")
    assert (first.cached, again.cached) == (False, True) and again.folder == first.folder
    write_workbook(source, {"2024": (CANONICAL_HEADER, HAND_ROWS[:3])})
    changed = workbooks.load_workbook(source, tmp_path / "cache")
    assert not changed.cached and changed.folder != first.folder and changed.sheets[0].rows == 3


def test_sheets_without_the_columns_are_listed_and_skipped(tmp_path):
    source = write_workbook(tmp_path / "book.xlsx", {
        "Read me": (["About this file"], [["exported 2024-04-01"]]),
        "Sales": (CANONICAL_HEADER, HAND_ROWS),
        "Partial": (CANONICAL_HEADER[:5], [r[:5] for r in HAND_ROWS]),
        "Empty": ([], []),
    })
    inputs = expand_workbooks([source], tmp_path / "cache", {})
    assert list(inputs.names.values()) == ["book.xlsx [Sales]"]
    (note,) = inputs.notes
    assert "sheets 'Sales' (15 rows)" in note
    assert "skipped 'Read me' (none of the transaction columns), 'Partial' (no unit_price, customer_id, " \
           "country column), 'Empty' (empty)" in note
    checked = preflight(inputs.files, {}, inputs.names)
    assert checked.total_rows == len(HAND_ROWS)


def test_a_workbook_without_a_usable_sheet_names_its_sheets(tmp_path):
    source = write_workbook(tmp_path / "book.xlsx", {"Summary": (["Month", "Revenue"], [["2024-01", "5"]]),
                                                     "Chart": ([], [])})
    with pytest.raises(UsageError) as info:
        expand_workbooks([source], tmp_path / "cache", {})
    text = str(info.value)
    assert "workbook '" in text and "book.xlsx' has no sheet with the transaction columns" in text
    assert "'Summary' (none of the transaction columns), 'Chart' (empty)" in text and "Fix:" in text


def test_an_xls_workbook_is_read_too(tmp_path):
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Online Retail")
    for j, name in enumerate(CANONICAL_HEADER):
        sheet.write(0, j, name)
    style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM")
    for i, row in enumerate(HAND_ROWS[:7], start=1):
        for j, value in enumerate(row):
            if j == 4:
                sheet.write(i, j, dt.datetime.fromisoformat(value), style)
            elif j in (3, 5):
                sheet.write(i, j, float(value))
            else:
                sheet.write(i, j, value)
    book.save(str(tmp_path / "old.xls"))
    loaded = workbooks.load_workbook(tmp_path / "old.xls", tmp_path / "cache")
    frame = sheet_frames(loaded)["Online Retail"]
    assert frame.iloc[2].tolist() == ["1002", "A1", "MUG", "4", "2024-02-10 11:00:00", "3.5", "100.0", "France"]


# ---- presets ---------------------------------------------------------------------------

def presets():
    return project_vars()["column_presets"]


def test_every_preset_maps_every_canonical_column():
    for name, preset in presets().items():
        assert set(preset["columns"]) == set(canonical_columns()), name


@pytest.mark.parametrize("header, preset", [
    (CANONICAL_HEADER, "uci"),
    (["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"], "uci2"),
    (SHOPIFY_HEADER, "shopify"),
    (WOOCOMMERCE_HEADER, "woocommerce"),
    (["order", "sku", "qty"], None),
])
def test_a_header_that_has_a_presets_columns_exactly_selects_it(header, preset):
    assert choose_preset(None, header, presets()) == (preset, preset is not None)


def test_an_unknown_preset_is_refused_with_the_list():
    with pytest.raises(UsageError) as info:
        choose_preset("shopfy", SHOPIFY_HEADER, presets())
    text = str(info.value)
    assert "--preset 'shopfy' is not a known layout" in text
    for name in ("uci", "uci2", "shopify", "woocommerce"):
        assert re.search(rf"\b{name} \(", text), name


@pytest.mark.parametrize("header, rows, expected", [
    (SHOPIFY_HEADER, "SHOPIFY_ROWS", {"invoice_no": "Name", "customer_id": "Email", "quantity": "Lineitem quantity",
                                      "unit_price": "Lineitem price", "invoice_date": "Created at",
                                      "stock_code": "Lineitem sku", "country": "Billing Country"}),
    (WOOCOMMERCE_HEADER, "WOOCOMMERCE_ROWS", {"invoice_no": "order_number", "customer_id": "billing_email",
                                              "unit_price": "item_price", "invoice_date": "date"}),
])
def test_a_shop_export_is_mapped_by_its_preset(tmp_path, header, rows, expected):
    import helpers

    source = write_csv(tmp_path / "orders_export.csv", header, getattr(helpers, rows))
    checked = preflight([source], {})
    assert {k: checked.columns[k] for k in expected} == expected
    assert checked.dbt_vars["refund_marker"]["column"] in ("Financial Status", "status")
    assert any("layout (detected from the header)" in n for n in checked.notes)


def test_a_near_miss_header_keeps_the_did_you_mean_help(tmp_path):
    header = ["Lineitem Qty" if h == "Lineitem quantity" else h for h in SHOPIFY_HEADER]
    import helpers

    source = write_csv(tmp_path / "orders_export.csv", header, helpers.SHOPIFY_ROWS)
    with pytest.raises(UsageError) as info:
        preflight([source], {"preset": "shopify"})
    text = str(info.value)
    assert "missing required column(s) of the shopify layout (--preset shopify)" in text
    assert "quantity: none of 'Lineitem quantity' is a column. Did you mean 'Lineitem Qty'?" in text
    assert "Fix: --column-map quantity='Lineitem Qty'" in text
    # without --preset the header matches no layout: the aliases' help, as before
    with pytest.raises(UsageError, match="Did you mean"):
        preflight([source], {})


def test_a_refund_marker_set_by_hand_must_name_a_column_of_the_file(tmp_path):
    marker = {"column": "Order Status", "values": ["refunded"]}
    plain = write_csv(tmp_path / "plain.csv", CANONICAL_HEADER, HAND_ROWS)
    with pytest.raises(UsageError, match="var refund_marker names the column 'Order Status'"):
        preflight([plain], {"refund_marker": marker})
    marked = write_csv(tmp_path / "marked.csv", CANONICAL_HEADER + ["order_status"],
                       [r + ["refunded" if i == 0 else ""] for i, r in enumerate(HAND_ROWS)])
    assert preflight([marked], {"refund_marker": marker}).dbt_vars["refund_marker"] == {
        "column": "order_status", "values": ["refunded"]}
