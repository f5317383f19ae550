"""The staging configuration of a refresh (retention.targets.refresh): a var may be left out of it
only if the two tables a refresh keeps never read it; everything else that decides how a row is
staged is in it."""
from __future__ import annotations

import re

from helpers import REPO
from retention.targets.refresh import STAGING_IGNORES_VARS, staging_config

DBT = REPO / "dbt_project"
# what the kept tables are made from: their SQL, the source, and the macro files they call
KEPT_SQL = [DBT / "models/staging/base/base_transaction_lines.sql", DBT / "models/staging/base/base_transaction_copies.sql",
            DBT / "models/staging/_sources.yml"]
THEIR_MACROS = [DBT / "macros/raw_transactions.sql", DBT / "macros/cross_database.sql",
                DBT / "macros/staging_refresh.sql"]
# read by the kept tables, compared otherwise: the file list file by file, the refresh's own var
COMPARED_OTHERWISE = {"transactions_path", "staging_refresh"}


def vars_read(paths) -> set[str]:
    return {name for path in paths for name in re.findall(r"var\(\s*'([a-z_]+)'", path.read_text())}


def test_the_kept_tables_call_only_macros_of_the_files_checked_here():
    defined = {name for path in THEIR_MACROS for name in re.findall(r"macro ([a-z_]+)\(", path.read_text())}
    called = {name for path in KEPT_SQL for name in re.findall(r"retention\.([a-z_]+)\(", path.read_text())}
    called |= {name for path in KEPT_SQL for name in re.findall(r"\{\{-? *([a-z_]+)\(", path.read_text())}
    dbt_builtins = {"config", "ref", "source", "var", "is_incremental", "env_var", "doc"}
    assert called - dbt_builtins <= defined


def test_no_var_the_kept_tables_read_is_left_out_of_the_staging_configuration():
    read = vars_read(KEPT_SQL + THEIR_MACROS)
    assert {"decimal_separator", "invoice_date_convention", "column_map", "refund_marker"} <= read
    assert read & STAGING_IGNORES_VARS <= COMPARED_OTHERWISE


def test_every_var_of_the_project_is_an_item_unless_staging_never_reads_it(tmp_path):
    import duckdb

    data = tmp_path / "t.parquet"
    duckdb.execute(f"copy (select 'x' as InvoiceNo) to '{data}'")
    items = staging_config({"decimal_separator": ","}, [data], "v1.4.0")
    assert "var decimal_separator" in items and "var gross_margin" not in items and "var as_of_date" not in items
    assert "file dbt_project/models/staging/base/base_transaction_lines.sql" in items
    assert any(item.endswith("non_product_stock_codes.csv") for item in items), "a seed staging reads"
    assert not any(item.endswith("campaign_scenarios.csv") for item in items), "a seed only the marts read"
    assert items != staging_config({"decimal_separator": "."}, [data], "v1.4.0")
    assert items != staging_config({"decimal_separator": ","}, [data], "v1.0.0"), "the storage version"
