"""The preflight of the campaign files read back (retention.inputs.campaigns), without dbt: a file
without one of the four columns stops the build naming the file, the column and the fix."""
from __future__ import annotations

import pytest

from helpers import write_csv
from retention.config import UsageError
from retention.inputs.campaigns import campaign_paths, check_campaign_files, resolve_campaign_files

ROW = ["spring", "12346", "treatment", "2011-04-05"]


def test_a_file_with_the_four_columns_passes_whatever_their_case_and_extra_columns(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["Campaign_ID", "customer_id", "GROUP", "contacted_at", "note"],
                     [ROW + ["x"], ROW[:2] + ["control", ROW[3], "y"]])
    assert check_campaign_files([path]) == {path: 2}


@pytest.mark.parametrize("header, missing, hint", [
    (["campaign_id", "customer_id", "group", "date"], "contacted_at", None),
    (["campaign", "customer_id", "group", "contacted_at"], "campaign_id", "'campaign' looks like it"),
    (["campaign_id", "Customer ID", "group", "contacted_at"], "customer_id", "'Customer ID' looks like it"),
    (["campaign_id", "customer_id", "arm", "contacted_at"], "group", None),
])
def test_a_missing_column_names_the_file_the_column_and_the_fix(tmp_path, header, missing, hint):
    path = write_csv(tmp_path / "crm_export.csv", header, [ROW])
    with pytest.raises(UsageError) as info:
        check_campaign_files([path])
    text = str(info.value)
    assert "crm_export.csv" in text and f"has no column {missing}" in text and "Fix:" in text
    assert ", ".join(header) in text                      # what the file has
    if hint:
        assert hint in text


def test_campaign_paths_take_a_path_a_glob_or_a_list_and_nothing_when_empty(tmp_path):
    for name in ("b.csv", "a.csv"):
        write_csv(tmp_path / name, ["campaign_id", "customer_id", "group", "contacted_at"], [ROW])
    assert campaign_paths("") == [] and campaign_paths(None) == [] and campaign_paths([]) == []
    assert campaign_paths("x.csv") == ["x.csv"] and campaign_paths(["x.csv", "y.csv"]) == ["x.csv", "y.csv"]
    assert resolve_campaign_files([str(tmp_path / "*.csv")]) == [tmp_path / "a.csv", tmp_path / "b.csv"]
    with pytest.raises(UsageError, match="does not exist"):
        resolve_campaign_files([str(tmp_path / "missing.csv")])
    with pytest.raises(UsageError, match="no campaigns file matches"):
        resolve_campaign_files([str(tmp_path / "*.parquet")])


def test_an_empty_or_unsupported_file_is_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UsageError, match="empty.csv' is empty"):
        check_campaign_files([empty])
    sheet = tmp_path / "campaigns.xlsx"
    sheet.write_text("x")
    with pytest.raises(UsageError, match="unsupported file type"):
        check_campaign_files([sheet])
