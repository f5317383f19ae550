"""The input files: which they are, whether DuckDB can read them, and the error a person gets
when it cannot (the file, the line, the fix)."""
from __future__ import annotations

import csv
import glob
import gzip
import re
from pathlib import Path

import duckdb

from retention.config import DUCKDB_CONFIG, UsageError, project_vars

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".parquet", ".parq",
                      ".xlsx", ".xlsm", ".xls")
PARQUET_SUFFIXES = (".parquet", ".parq")
DELIMITERS = (",", ";", "\t", "|")


def sql_string(text: str) -> str:
    """A SQL string literal: the text can never end the literal early."""
    return "'" + str(text).replace("'", "''") + "'"


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(PARQUET_SUFFIXES)


def duckdb_connect(path: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path, read_only=read_only, config=dict(DUCKDB_CONFIG))
    con.execute("set enable_progress_bar = false")  # the console has its own lines
    return con


def reader_sql(paths: list[Path], encoding: str | None = None, delimiter: str | None = None) -> str:
    """The DuckDB table function that reads the files, with the options of var
    raw_reader_options (the dbt source uses the same)."""
    options = project_vars()["raw_reader_options"]
    files = "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"
    if is_parquet(paths[0]):
        return f"read_parquet({files}, {options['parquet']})"
    text = options["csv"]
    if delimiter:
        text += f", delim = {sql_string(delimiter)}"
    if encoding:
        text += f", encoding = {sql_string(encoding)}"
    return f"read_csv({files}, {text})"


def resolve_inputs(given: list[str]) -> list[Path]:
    """The transactions files in build order: paths as given, glob patterns expanded (sorted)."""
    files: list[Path] = []
    for item in given:
        path = Path(item).expanduser()
        if not path.exists() and glob.has_magic(item):
            matches = sorted(glob.glob(str(path)))
            if not matches:
                raise UsageError(f"no transactions file matches '{item}'. Fix: check the pattern "
                                 "(quote it so that the shell does not expand it).")
            files.extend(Path(m).resolve() for m in matches)
            continue
        path = path.resolve()
        if not path.exists():
            raise UsageError(f"transactions file '{path}' does not exist. "
                             "Fix: give an existing CSV, CSV.gz, Parquet or spreadsheet file (--transactions PATH "
                             "or TRANSACTIONS=PATH make run).")
        files.append(path)
    seen: set[Path] = set()
    for path in files:
        if path in seen:
            raise UsageError(f"transactions file '{path}' is given twice. Fix: give each file once "
                             "(rows repeated across files are de-duplicated, a whole file twice is a mistake).")
        seen.add(path)
    return files


def check_file(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"transactions file '{path}' is not a file. Fix: give a CSV, CSV.gz, "
                         "Parquet or spreadsheet (.xlsx, .xls) file (several with --transactions A --transactions B, or a quoted glob).")
    if not path.name.lower().endswith(SUPPORTED_SUFFIXES):
        raise UsageError(f"transactions file '{path}': unsupported file type. "
                         f"Fix: give one of {', '.join(SUPPORTED_SUFFIXES)}.")
    if path.stat().st_size == 0:
        raise UsageError(f"transactions file '{path}' is empty. Fix: export the transactions "
                         "again with a header row and at least one line.")


def _open_text(path: Path, encoding: str | None):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return opener(path, "rt", encoding=encoding or "utf-8", errors="replace", newline="")


def first_line(path: Path, encoding: str | None) -> str:
    try:
        with _open_text(path, encoding) as handle:
            return handle.readline()
    except OSError:
        return ""


def _first_ragged_line(path: Path, delimiter: str, encoding: str | None) -> tuple[int, int, int] | None:
    """(line number, fields, header fields) of the first line split differently from the header."""
    try:
        with _open_text(path, encoding) as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            expected = None
            for fields in reader:
                if expected is None:
                    expected = len(fields)
                elif fields and len(fields) != expected:
                    return reader.line_num, len(fields), expected
    except (OSError, csv.Error):
        return None
    return None


def _ragged_error(path: Path, delimiter: str, line: int, found: int, expected: int) -> UsageError:
    shown = {"\t": "tab"}.get(delimiter, delimiter)
    return UsageError(
        f"transactions file '{path}': line {line} has {found} '{shown}'-separated fields where the "
        f"header has {expected}, typically a value that contains the delimiter without quotes (so the "
        "file cannot be split into columns). Fix: quote such values when exporting (or correct that line).")


def read_error(path: Path, exc: Exception, encoding: str | None = None) -> UsageError:
    """A DuckDB reading error turned into what happened, where, and the fix."""
    text = str(exc)
    match = re.search(r"Line:\s*(\d+)", text)
    line = match.group(1) if match else None
    where = f" (near line {line})" if line else ""
    if "unicode" in text.lower() or "not utf-8" in text.lower():
        return UsageError(
            f"transactions file '{path}' is not UTF-8 text{where}. Fix: pass --encoding latin-1 "
            "(exports from Excel and older Windows systems), or save the file as UTF-8.")
    if "not utf-16" in text.lower():
        return UsageError(f"transactions file '{path}' is not UTF-16 text. Fix: pass the file's "
                          "encoding with --encoding (utf-8, latin-1 or utf-16).")
    if "Number of Columns" in text or "TOO MANY COLUMNS" in text or "TOO FEW COLUMNS" in text:
        detail = re.search(r"Expected Number of Columns:?\s*\d+\s*Found:?\s*\d+", text)
        return UsageError(
            f"transactions file '{path}': line {line or '?'} does not have as many fields as the header"
            f"{' (' + detail.group(0) + ')' if detail else ''}, typically a value that contains the "
            "delimiter without quotes. Fix: quote such values when exporting (or correct that line).")
    if "dialect" in text and not is_parquet(path):
        header = first_line(path, encoding)
        guess = max(DELIMITERS, key=header.count)
        ragged = _first_ragged_line(path, guess, encoding) if header.count(guess) else None
        if ragged:
            return _ragged_error(path, guess, *ragged)
    first = " ".join(text.strip().splitlines()[:2])
    return UsageError(f"cannot read transactions file '{path}': {first}. Fix: give a CSV file with a "
                      "header row (optionally gzipped) or a Parquet file.")


def _single_column_error(path: Path, column: str, encoding: str | None) -> UsageError:
    """The file was read as one column: name the likely delimiter and, if a line breaks it, the line."""
    counts = {d: column.count(d) for d in DELIMITERS}
    guess = max(counts, key=counts.get)
    shown = {"\t": "tab"}.get(guess, guess)
    if counts[guess] == 0:
        return UsageError(
            f"transactions file '{path}' was read as a single column ('{column[:80]}'): its delimiter "
            "was not recognised. Fix: export it as CSV with a header row and comma, semicolon, tab or "
            "| between the columns, or pass --delimiter CHAR.")
    ragged = _first_ragged_line(path, guess, encoding)
    if ragged:
        return _ragged_error(path, guess, *ragged)
    return UsageError(
        f"transactions file '{path}' was read as a single column ('{column[:80]}'): the delimiter "
        f"'{shown}' was not detected. Fix: pass --delimiter '{shown}'.")


def describe_file(path: Path, encoding: str | None, delimiter: str | None) -> dict[str, str]:
    """{column name: DuckDB type} of one file (the header only)."""
    reader = reader_sql([path], encoding, delimiter)
    con = duckdb_connect()
    try:
        described = con.execute(f"describe select * from {reader}").fetchall()
    except duckdb.Error as exc:
        raise read_error(path, exc, encoding) from exc
    finally:
        con.close()
    if len(described) == 1 and not is_parquet(path):
        raise _single_column_error(path, described[0][0], encoding)
    return {row[0]: row[1] for row in described}


def scan_file(path: Path, sql: str, encoding: str | None) -> dict:
    """One aggregate query over the whole file (row count and whatever else `sql` selects),
    so that an unreadable line is reported here, with its number, instead of in the middle of
    dbt. A file without rows is refused."""
    con = duckdb_connect()
    try:
        cursor = con.execute(sql)
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    except duckdb.Error as exc:
        raise read_error(path, exc, encoding) from exc
    finally:
        con.close()
    if row["row_count"] == 0:
        raise UsageError(f"transactions file '{path}' has a header but no rows. Fix: export the "
                         "transactions again, with at least one line under the header.")
    return row


def detect_delimiter(path: Path, encoding: str | None) -> str:
    """The delimiter DuckDB's sniffer finds in a CSV file (Spark does not detect it)."""
    con = duckdb_connect()
    try:
        options = f", encoding = {sql_string(encoding)}" if encoding else ""
        row = con.execute(f"select delimiter from sniff_csv({sql_string(str(path))}{options})").fetchone()
    except duckdb.Error:
        return ","
    finally:
        con.close()
    return row[0] if row and row[0] else ","
