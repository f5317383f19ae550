"""Refreshes: a build whose inputs are the previous build's files, unchanged and in order, plus new
ones stages only the new files, and the warehouse equals a full build of the same files.

- after a refresh, every table and view of every schema equals a full build's (EXCEPT ALL both
  ways; no column is left out: the SQL layers hold no build-time metadata);
- the new rows are numbered after the reused ones, as a full build numbers them;
- rows of a new file that repeat rows of an old file (or of itself) are rejected as duplicates, as
  in a full build;
- a changed old file forces a full build, with a note naming the file and what changed; a removed
  or reordered file, or a changed staging configuration, is noticed the same way;
- --full-refresh forces a full build.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from helpers import run_build

SQL_ONLY = ("--skip-ml",)


def parquet_rows(*paths: Path) -> int:
    con = duckdb.connect()
    try:
        return con.execute("select count(*) from read_parquet(?)", [[str(p) for p in paths]]).fetchone()[0]
    finally:
        con.close()


def build(folder: Path, *files: Path, extra: tuple[str, ...] = ()) -> str:
    """`retention build` of the files (in order) into the folder; its output."""
    args = [arg for path in files[1:] for arg in ("--transactions", str(path))]
    proc = run_build(files[0], folder, *args, *SQL_ONLY, *extra)
    return proc.stdout + proc.stderr


def copy_of(folder: Path, to: Path) -> Path:
    """A warehouse folder copied (the next build starts from the same previous warehouse)."""
    shutil.copytree(folder, to)
    return to


def relations(con, catalog: str) -> set[tuple[str, str]]:
    return set(con.execute("select table_schema, table_name from information_schema.tables "
                           "where table_catalog = ?", [catalog]).fetchall())


def differences(db_a: Path, db_b: Path) -> dict:
    """{(schema, table): (rows only in a, rows only in b)} over every relation of both files, plus
    the relations only one has."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{db_a}' as a (read_only)")
        con.execute(f"attach '{db_b}' as b (read_only)")
        in_a, in_b = relations(con, "a"), relations(con, "b")
        found: dict = {name: "missing in b" for name in in_a - in_b}
        found.update({name: "missing in a" for name in in_b - in_a})
        for schema, table in sorted(in_a & in_b):
            counts = [con.execute(f'select count(*) from (select * from {x}."{schema}"."{table}" except all '
                                  f'select * from {y}."{schema}"."{table}")').fetchone()[0]
                      for x, y in (("a", "b"), ("b", "a"))]
            if any(counts):
                found[(schema, table)] = tuple(counts)
        assert len(in_a & in_b) > 20, "both warehouses hold the SQL layers"
        return found
    finally:
        con.close()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A generated shop split by date: `old` (all but the last 30 days), `new` (the last 30 days)
    and `overlap` (the new rows plus 40 distinct usable rows copied from `old`)."""
    from retention.demo import generate

    folder = tmp_path_factory.mktemp("refresh_inputs")
    whole = folder / "whole.parquet"
    generate(str(whole), rows=20_000, seed=11, months=14)
    con = duckdb.connect()
    try:
        last = con.execute(f"select max(InvoiceDate) from '{whole}'").fetchone()[0]
        split = f"timestamp '{last}' - interval 30 day"
        con.execute(f"copy (select * from '{whole}' where InvoiceDate < {split}) to '{folder / 'old.parquet'}'")
        con.execute(f"copy (select * from '{whole}' where InvoiceDate >= {split}) to '{folder / 'new.parquet'}'")
        # rows of `old` that occur once there and would be clean (a customer, a sale, no A invoice)
        con.execute(f"""
            create table copied as
            select * exclude (n) from (
                select *, count(*) over (partition by InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
                                                   UnitPrice, CustomerID, Country) as n from '{folder / 'old.parquet'}')
            where n = 1 and CustomerID is not null and Quantity > 0 and UnitPrice > 0
                and not starts_with(InvoiceNo, 'A')
            order by InvoiceNo, StockCode, InvoiceDate limit 40""")
        con.execute(f"copy (select * from '{folder / 'new.parquet'}' union all select * from copied) "
                    f"to '{folder / 'overlap.parquet'}'")
    finally:
        con.close()
    return {name: folder / f"{name}.parquet" for name in ("old", "new", "overlap")}


@pytest.fixture(scope="module")
def first(files, tmp_path_factory) -> Path:
    """The previous build: the old file alone."""
    folder = tmp_path_factory.mktemp("first")
    output = build(folder, files["old"])
    assert "staging: full build" in output and "(note:" not in output.split("staging: full build")[1].splitlines()[0]
    return folder


@pytest.fixture(scope="module")
def refreshed(first, files, tmp_path_factory) -> tuple[Path, str]:
    folder = copy_of(first, tmp_path_factory.mktemp("refreshed") / "wh")
    return folder, build(folder, files["old"], files["new"])


@pytest.fixture(scope="module")
def full(files, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("full")
    build(folder, files["old"], files["new"])
    return folder


def test_a_refresh_stages_only_the_new_file_and_says_so(refreshed, files):
    _, output = refreshed
    reused, staged = parquet_rows(files["old"]), parquet_rows(files["new"])
    assert (f"staging: refresh: {reused:,} rows of 1 unchanged file reused from the previous build, "
            f"{staged:,} rows of 1 new file staged (new.parquet)") in output


def test_a_refresh_equals_a_full_build_table_by_table(refreshed, full):
    assert differences(refreshed[0] / "retention.duckdb", full / "retention.duckdb") == {}


def test_new_rows_are_numbered_after_the_reused_ones(refreshed, files):
    reused, staged = parquet_rows(files["old"]), parquet_rows(files["new"])
    db = refreshed[0] / "retention.duckdb"
    by_file = dict((name, (low, high, n)) for name, low, high, n in query(db, """
        select source_file, min(raw_row_id), max(raw_row_id), count(*)
        from staging.base_transaction_lines group by 1"""))
    assert by_file == {"old.parquet": (1, reused, reused), "new.parquet": (reused + 1, reused + staged, staged)}
    recorded = query(db, "select file_order, path, rows from staging.input_files order by 1")
    assert recorded == [(1, str(files["old"]), reused), (2, str(files["new"]), staged)]


def test_rows_of_a_new_file_repeating_an_old_file_are_rejected_as_duplicates(first, files, tmp_path_factory):
    refreshed = copy_of(first, tmp_path_factory.mktemp("overlap_refreshed") / "wh")
    output = build(refreshed, files["old"], files["overlap"])
    assert "staging: refresh:" in output
    # the reference: a full build of the same files, forced by --full-refresh on a copy of the same folder
    forced = copy_of(first, tmp_path_factory.mktemp("overlap_full") / "wh")
    forced_output = build(forced, files["old"], files["overlap"], extra=("--full-refresh",))
    assert "staging: full build" in forced_output and "(note: --full-refresh)" in forced_output
    assert differences(refreshed / "retention.duckdb", forced / "retention.duckdb") == {}
    old_rows = parquet_rows(files["old"])
    # the 40 copied rows of `old` are rejected as duplicates of rows of `old`, kept there
    repeats_old = query(refreshed / "retention.duckdb", f"""
        select count(*) from staging.base_transaction_copies
        where raw_row_id > {old_rows} and first_copy_raw_row_id <= {old_rows}""")[0][0]
    assert repeats_old == 40
    assert f"overlap: 40 rows of overlap.parquet repeat rows of old.parquet" in output


def test_a_changed_old_file_forces_a_full_build_with_a_note(refreshed, files, tmp_path_factory):
    folder = copy_of(refreshed[0], tmp_path_factory.mktemp("changed") / "wh")
    changed = tmp_path_factory.mktemp("changed_inputs")
    old, new = changed / "old.parquet", changed / "new.parquet"
    shutil.copyfile(files["new"], new)
    con = duckdb.connect()
    try:  # the previous build read copies of these paths: same paths, `old` now one row shorter
        con.execute(f"copy (select * from '{files['old']}' limit 1000) to '{old}'")
    finally:
        con.close()
    build(folder, old, new)  # the previous build of these paths ...
    con = duckdb.connect()
    try:  # ... and then `old` loses its last row
        con.execute(f"copy (select * from '{files['old']}' limit 999) to '{changed / 'shorter.parquet'}'")
    finally:
        con.close()
    shutil.move(changed / "shorter.parquet", old)
    output = build(folder, old, new)
    assert f"staging: full build of {999 + parquet_rows(new):,} rows (note: '{old}' changed since the previous build (size" in output
    assert "content (SHA-256)" in output
    counted = query(folder / "retention.duckdb", "select count(*) from staging.base_transactions")[0][0]
    assert counted == 999 + parquet_rows(new)
    assert query(folder / "retention.duckdb", "select rows from staging.input_files order by file_order") == [
        (999,), (parquet_rows(new),)]


@pytest.mark.parametrize("case", ["removed", "reordered", "the date convention", "--full-refresh"])
def test_other_changes_are_noticed(refreshed, files, case):
    """The decision itself, as the build makes it (no build needed): the previous build read
    `old` then `new`."""
    from retention.config import BuildOptions
    from retention.console import Console
    from retention.targets import prepare
    from retention.targets.refresh import plan_staging, staging_config

    db = refreshed[0] / "retention.duckdb"

    def plan(paths, vars_text=None, full_refresh=False):
        options = BuildOptions(transactions=tuple(str(p) for p in paths), warehouse_dir=refreshed[0],
                               vars_text=vars_text)
        prepared = prepare(options, Console(stream=open("/dev/null", "w")))
        config = staging_config(prepared.dbt_vars, prepared.read_files, options.storage_version)
        return plan_staging(db, prepared.read_files, prepared.checked.rows, config, full_refresh)

    same = plan([files["old"], files["new"]])
    assert same.refresh and same.new_files == [] and same.reused_files == 2, "nothing new: every row reused"
    if case == "removed":
        found = plan([files["new"]])
        assert found.reason == f"'{files['old']}', an input of the previous build, is not among this build's files"
    elif case == "reordered":
        found = plan([files["new"], files["old"]])
        assert found.reason.startswith("the files are in another order")
    elif case == "the date convention":
        found = plan([files["old"], files["new"]], "{invoice_date_convention: day-first}")
        assert found.reason == ("the staging configuration changed since the previous build: "
                                "var invoice_date_convention")
        assert plan([files["old"], files["new"]], "{gross_margin: 0.5, as_of_date: 2011-01-01}").refresh, \
            "vars that staging never reads do not force a full build"
    else:
        found = plan([files["old"], files["new"]], full_refresh=True)
        assert found.reason == "--full-refresh"
    assert not found.refresh


def test_an_order_refunded_in_a_new_file_is_refunded_in_the_reused_rows_too(tmp_path):
    """Shopify marks an order refunded on its first row only; a refresh sees both ways across files."""
    from helpers import SHOPIFY_HEADER, SHOPIFY_ROWS, _shopify_order, shopify_row, write_csv

    def line(name, sku, status=None):
        first = _shopify_order(status, "GB", "10.00") if status else None
        return shopify_row(name, "ann@example.com", "2024-03-05 10:00:00 +0000", "1", "Mug", "10.00", sku, first)

    old = write_csv(tmp_path / "orders_1.csv", SHOPIFY_HEADER, SHOPIFY_ROWS + [
        line("#2001", "A", "refunded"),          # refunded here, its second line comes later
        line("#2002", "A")])                     # a line of an order refunded in the next export
    new = write_csv(tmp_path / "orders_2.csv", SHOPIFY_HEADER, [
        line("#2001", "B"), line("#2002", "B", "refunded"), line("#2003", "A", "paid")])
    build(tmp_path / "refreshed", old)
    output = build(tmp_path / "refreshed", old, new)
    assert "staging: refresh: 7 rows of 1 unchanged file reused from the previous build, 3 rows" in output
    build(tmp_path / "full", old, new)
    db = tmp_path / "refreshed" / "retention.duckdb"
    assert differences(db, tmp_path / "full" / "retention.duckdb") == {}
    refunded = query(db, "select invoice_no, bool_and(is_order_refunded), bool_or(is_order_refunded) "
                         "from staging.base_transaction_lines where invoice_no like '#200%' group by 1 order by 1")
    assert refunded == [("#2001", True, True), ("#2002", True, True), ("#2003", False, False)]
