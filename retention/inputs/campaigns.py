"""The campaign files read back (flag --campaigns, var campaigns_path): which they are, and the
preflight of their columns. A file without one of the four columns stops the build here, naming the
file, the column and the fix; bad rows in a readable file are dbt's to reject with a reason
(staging.stg_campaign_assignments_rejected)."""
from __future__ import annotations

import difflib
from pathlib import Path

import duckdb

from retention.config import UsageError
from retention.inputs.files import duckdb_connect, expand_paths, is_parquet, reader_sql

CAMPAIGN_COLUMNS = ("campaign_id", "customer_id", "group", "contacted_at")
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".parq")
_FIX = ("Fix: give a CSV (or Parquet) file with the columns campaign_id, customer_id, group (treatment or control) "
        "and contacted_at (YYYY-MM-DD), as exports/campaign_assignments.csv has them")


def campaign_paths(value) -> list[str]:
    """The var campaigns_path as a list of strings (one path, a glob or a list; empty: none)."""
    if value in (None, "", []):
        return []
    items = [value] if isinstance(value, (str, Path)) else list(value)
    return [str(item) for item in items if str(item).strip()]


def resolve_campaign_files(given: list[str]) -> list[Path]:
    """The campaign files: paths as given, globs expanded (sorted), each once."""
    files = expand_paths(given, "campaigns file")
    for path in files:
        if not path.is_file():
            raise UsageError(f"campaigns file '{path}' does not exist. {_FIX}.")
    unique = list(dict.fromkeys(files))
    if len(unique) < len(files):
        raise UsageError("a campaigns file is given twice. Fix: give each file once.")
    return unique


def _normal(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def check_campaign_file(path: Path) -> int:
    """Rows of one campaigns file; UsageError naming the file, the column and the fix when a
    required column is missing (names match ignoring case, as SQL reads them)."""
    if not path.name.lower().endswith(SUFFIXES):
        raise UsageError(f"campaigns file '{path}': unsupported file type. {_FIX}.")
    if path.stat().st_size == 0:
        raise UsageError(f"campaigns file '{path}' is empty. {_FIX}.")
    con = duckdb_connect()
    try:
        reader = reader_sql([path])
        columns = [row[0] for row in con.execute(f"describe select * from {reader}").fetchall()]
        rows = con.execute(f"select count(*) from {reader}").fetchone()[0]
    except duckdb.Error as exc:
        first = " ".join(str(exc).strip().splitlines()[:1])
        raise UsageError(f"cannot read campaigns file '{path}': {first}. {_FIX}.") from exc
    finally:
        con.close()
    found = {c.lower(): c for c in columns}
    for name in CAMPAIGN_COLUMNS:
        if name in found:
            continue
        near = [c for c in columns if _normal(c) == _normal(name)]
        near = near or difflib.get_close_matches(name, columns, n=1, cutoff=0.5)
        hint = f" ('{near[0]}' looks like it: rename it to {name})" if near else ""
        raise UsageError(f"campaigns file '{path}' has no column {name}{hint}; it has: {', '.join(columns)}. "
                         f"{_FIX}.")
    return int(rows)


def check_campaign_files(files: list[Path]) -> dict[Path, int]:
    """Rows per campaigns file, after checking every file and that they are of one kind."""
    if len({is_parquet(p) for p in files}) > 1:
        raise UsageError("the campaigns files mix Parquet and CSV: " + ", ".join(f"'{p.name}'" for p in files)
                         + ". Fix: give files of one kind.")
    return {path: check_campaign_file(path) for path in files}


__all__ = ["CAMPAIGN_COLUMNS", "campaign_paths", "check_campaign_file", "check_campaign_files",
           "resolve_campaign_files"]
