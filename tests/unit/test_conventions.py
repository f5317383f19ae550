"""The preflight's reading of how dates and numbers are written, without dbt: every value of the
file is read by DuckDB before any SQL of the build runs, and the rule is that a build never reads
a value in a convention the data contradict."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers import CANONICAL_HEADER, write_csv
from retention.config import UsageError, project_vars
from retention.inputs.conventions import format_convention, parse_date_option
from retention.inputs.preflight import preflight


def rows_with(dates: list[str], prices: list[str] | None = None) -> list[list[str]]:
    prices = prices or ["3.50"] * len(dates)
    return [[str(1000 + i), "A1", "MUG", "1", d, p, "100", "France"] for i, (d, p) in enumerate(zip(dates, prices))]


def check(tmp_path, dates, prices=None, name="shop.csv", **dbt_vars):
    return preflight([write_csv(tmp_path / name, CANONICAL_HEADER, rows_with(dates, prices))], dbt_vars)


def as_parquet(tmp_path, dates, prices=None):
    path = tmp_path / "shop.parquet"
    pd.DataFrame(rows_with(dates, prices), columns=CANONICAL_HEADER).to_parquet(path)  # every column text
    return path


DAY_FIRST = ["01/12/2010 08:26", "13/12/2010 09:00", "05/01/2011 10:00"]
MONTH_FIRST = ["12/1/2010 8:26", "12/13/2010 9:00", "1/5/2011 10:00"]
AMBIGUOUS = ["01/12/2010 08:26", "05/01/2011 10:00", "1/1/2011"]


def test_a_value_that_can_only_be_day_first_settles_the_file(tmp_path):
    checked = check(tmp_path, DAY_FIRST)
    assert checked.dbt_vars["invoice_date_convention"] == "day-first"
    assert checked.warnings == []
    (note,) = [n for n in checked.notes if n.startswith("dates:")]
    # 13/12/2010 is the one value that settles it; 01/12/2010 and 05/01/2011 could be either
    assert "day-first, read from the data (1 value such as '13/12/2010 09:00'" in note


def test_a_value_that_can_only_be_month_first_settles_the_file(tmp_path):
    checked = check(tmp_path, MONTH_FIRST)
    assert checked.dbt_vars["invoice_date_convention"] == "month-first"
    assert any("month-first, read from the data" in n and "'12/13/2010 9:00'" in n for n in checked.notes)


def test_dates_no_value_settles_are_read_with_the_default_and_a_warning(tmp_path):
    checked = check(tmp_path, AMBIGUOUS)
    assert "invoice_date_convention" not in checked.dbt_vars          # the default of dbt_project.yml
    assert project_vars()["invoice_date_convention"] == "month-first"
    (warning,) = checked.warnings
    assert warning.startswith("3 dates in column 'InvoiceDate' of transactions file 'shop.csv'")
    assert "read month-first (the default)" in warning and "--date-format day-first" in warning


def test_both_conventions_in_one_file_stop_the_build_with_examples_of_each(tmp_path):
    with pytest.raises(UsageError) as info:
        check(tmp_path, ["13/12/2010 09:00", "12/13/2010 09:00", "01/02/2011 10:00"], name="mixed.csv")
    text = str(info.value)
    assert "'mixed.csv', column 'InvoiceDate': dates of both conventions" in text
    assert "1 can only be day-first, e.g. '13/12/2010 09:00'" in text
    assert "1 can only be month-first, e.g. '12/13/2010 09:00'" in text
    assert "--date-format" in text and "invoice_date_formats" in text


def test_the_conventions_of_two_files_are_one_build(tmp_path):
    first = write_csv(tmp_path / "a.csv", CANONICAL_HEADER, rows_with(DAY_FIRST))
    second = write_csv(tmp_path / "b.csv", CANONICAL_HEADER, rows_with(MONTH_FIRST))
    with pytest.raises(UsageError, match=r"transactions files 'a.csv', 'b.csv', column 'InvoiceDate'"):
        preflight([first, second], {})


def test_a_configured_convention_the_data_contradict_stops_the_build(tmp_path):
    with pytest.raises(UsageError) as info:
        check(tmp_path, DAY_FIRST, invoice_date_convention="month-first")
    text = str(info.value)
    assert "set to be read month-first" in text and "1 value can only be day-first" in text
    assert "Fix: --date-format day-first" in text
    with pytest.raises(UsageError, match="set to be read day-first"):
        check(tmp_path, MONTH_FIRST, invoice_date_formats=["%d/%m/%Y %H:%M"])


def test_a_configured_convention_the_data_agree_with_is_kept(tmp_path):
    checked = check(tmp_path, DAY_FIRST, invoice_date_convention="day-first")
    assert "invoice_date_convention" not in checked.dbt_vars   # the var the user set stays as it is
    assert any("day-first as configured; the data agree" in n for n in checked.notes)
    checked = check(tmp_path, AMBIGUOUS, invoice_date_convention="day-first")
    assert checked.warnings == []                              # configured: nothing to warn about


def test_a_date_valid_in_neither_convention_settles_nothing(tmp_path):
    # 31/02 is no date either way (it is rejected as invalid_invoice_date); 13/13 neither
    checked = check(tmp_path, ["31/02/2011 10:00", "13/13/2011", "12/13/2010 09:00"])
    assert checked.dbt_vars["invoice_date_convention"] == "month-first"


def test_iso_and_typed_dates_need_no_convention(tmp_path):
    checked = check(tmp_path, ["2010-12-01 08:26:00", "2011-12-09"])
    assert checked.warnings == [] and not [n for n in checked.notes if n.startswith("dates")]
    path = tmp_path / "typed.parquet"
    frame = pd.DataFrame(rows_with(["2010-12-13 09:00:00"] * 2), columns=CANONICAL_HEADER)
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame.to_parquet(path)
    assert preflight([path], {}).dbt_vars == {}


def test_parquet_text_columns_are_read_as_csv_text_is(tmp_path):
    assert preflight([as_parquet(tmp_path, DAY_FIRST)], {}).dbt_vars == {"invoice_date_convention": "day-first"}
    with pytest.raises(UsageError, match="both conventions"):
        preflight([as_parquet(tmp_path, ["13/12/2010", "12/13/2010"])], {})


def test_decimal_commas_the_data_settle_are_used(tmp_path):
    checked = check(tmp_path, ["2011-01-01"] * 3, ["2,55", "0,85", "12"])
    assert checked.dbt_vars == {"decimal_separator": ","}
    assert any("decimal comma, read from the data (2 values such as '0,85'" in n for n in checked.notes)


def test_decimal_commas_among_decimal_points_are_rejected_with_a_warning(tmp_path):
    checked = check(tmp_path, ["2011-01-01"] * 3, ["3,50", "2.55", "1,234.50"])
    assert "decimal_separator" not in checked.dbt_vars
    (warning,) = checked.warnings
    assert "1 number in 'Quantity' and 'UnitPrice' of transactions file 'shop.csv' uses a decimal comma" in warning
    assert "--decimal-separator ','" in warning


def test_values_either_separator_could_mean_stop_a_mixed_file(tmp_path):
    # 1.234 is 1.234 with a decimal point and 1234 with a decimal comma; the file has both kinds
    with pytest.raises(UsageError) as info:
        check(tmp_path, ["2011-01-01"] * 3, ["3,50", "2.55", "1.234"])
    assert "mix decimal separators" in str(info.value) and "'1.234'" in str(info.value)


def test_a_configured_decimal_separator_the_data_contradict_stops_the_build(tmp_path):
    with pytest.raises(UsageError, match=r"decimal comma \(--decimal-separator ','\), but 2 values use a decimal point"):
        check(tmp_path, ["2011-01-01"] * 2, ["2.55", "3.5"], decimal_separator=",")
    with pytest.raises(UsageError, match="Fix: --decimal-separator ','"):
        check(tmp_path, ["2011-01-01"] * 2, ["2,55", "3,5"], decimal_separator=".")


def test_numbers_no_value_settles_are_read_with_a_point_and_a_warning(tmp_path):
    checked = check(tmp_path, ["2011-01-01"] * 2, ["1.250", "2"])
    assert checked.dbt_vars == {}
    assert any("such as '1.250' (shop.csv) are read as decimals" in w for w in checked.warnings)


@pytest.mark.parametrize("formats, convention", [
    (["%d/%m/%Y %H:%M"], "day-first"), (["%m/%d/%Y"], "month-first"), (["%d.%m.%y %H:%M"], "day-first"),
    (["%Y-%m-%d %H:%M:%S"], None), (["%Y/%d/%m"], None), (project_vars()["invoice_date_conventions"]["day-first"], "day-first"),
])
def test_the_convention_of_strptime_formats(formats, convention):
    assert format_convention(formats) == convention


def test_formats_of_both_conventions_are_refused():
    with pytest.raises(UsageError, match="mix day-first and month-first"):
        format_convention(["%d/%m/%Y", "%m/%d/%Y"])


def test_the_date_format_option():
    assert parse_date_option("day-first") == {"invoice_date_convention": "day-first"}
    assert parse_date_option("Month First") == {"invoice_date_convention": "month-first"}
    assert parse_date_option("%d.%m.%Y %H:%M") == {"invoice_date_formats": ["%d.%m.%Y %H:%M"]}
    with pytest.raises(UsageError, match=re.escape("give day-first, month-first or a strptime format")):
        parse_date_option("european")


def test_every_convention_has_formats_and_the_default_is_one_of_them():
    conventions = project_vars()["invoice_date_conventions"]
    assert set(conventions) == {"day-first", "month-first"}
    assert project_vars()["invoice_date_convention"] in conventions
    for name, formats in conventions.items():
        assert format_convention(formats) == name
