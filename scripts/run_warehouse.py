#!/usr/bin/env python3
"""Build the retention warehouse: raw transactions -> dbt build on DuckDB -> docs site.

    python scripts/run_warehouse.py                         # demo data (generated if missing)
    python scripts/run_warehouse.py --transactions my.csv.gz --as-of-date 2011-12-01
    python scripts/run_warehouse.py --transactions 2010.csv --transactions 2011.csv
    TRANSACTIONS=my.parquet make run                        # the same through make
    python scripts/run_warehouse.py --target spark          # the SQL layers and marts on Spark

The build writes to `<warehouse-dir>/retention.duckdb.building` and replaces
`<warehouse-dir>/retention.duckdb` only when every model and test passed, so a failed
or killed build leaves the previous warehouse as it was. The replacement is one atomic
rename: a reader that holds the old file open (a BI tool) keeps reading the old build, and
the next connection opens the new one. Only one build at a time may write to a folder.

With `--target spark` (after `make spark-setup`) the same dbt project builds on a local
Spark session into `<warehouse-dir>/spark/`: staging, features, training snapshots and the
marts. The Python steps run on DuckDB only, so the marts read the ml tables that the DuckDB
build of the same input exported to `<warehouse-dir>/exports/ml/` (run that build first).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import difflib
import glob
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # one module, also for scripts that import it (scripts.spark_target)
    sys.path.insert(0, str(REPO))
    sys.modules.setdefault("scripts.run_warehouse", sys.modules[__name__])
DBT_PROJECT = REPO / "dbt_project"
DEFAULT_WAREHOUSE = REPO / "warehouse"
DEFAULT_DEMO_ROWS = 300_000
DB_NAME = "retention.duckdb"
CANONICAL_COLUMNS = ("invoice_no", "stock_code", "description", "quantity",
                     "invoice_date", "unit_price", "customer_id", "country")
SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".parquet", ".parq")
PARQUET_SUFFIXES = (".parquet", ".parq")
# DuckDB may otherwise download an extension it decides it needs: nothing is fetched from
# the network at build time (profiles.yml sets the same for dbt's connections).
DUCKDB_CONFIG = {"autoinstall_known_extensions": False}
# Encodings the CSV reader of DuckDB has built in (others need a downloaded extension).
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "utf-16": "utf-16", "utf16": "utf-16"}
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# Vars renamed since earlier releases: refused with the new name rather than silently ignored.
RENAMED_VARS = {"clv_margin": "gross_margin", "high_value_clv_percentile": "high_value_percentile"}


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback."""


def log(message: str) -> None:
    print(f"[retention] {message}", flush=True)


def demo_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / "demo" / "transactions.parquet"


def ensure_demo_data(path: Path, rows: int) -> None:
    if path.exists():
        log(f"demo data: {path} (exists; delete it to regenerate)")
        return
    sys.path.insert(0, str(REPO))
    from scripts.generate_transactions import generate

    log(f"generating {rows:,} demo transactions -> {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = generate(str(path), rows=rows)
    log(f"demo data ready: {summary.get('rows', rows):,} rows in {summary.get('seconds', 0):.1f}s")


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def sql_string(text: str) -> str:
    """A SQL string literal: the text can never end the literal early."""
    return "'" + str(text).replace("'", "''") + "'"


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(PARQUET_SUFFIXES)


def reader_sql(paths: list[Path], encoding: str | None = None, delimiter: str | None = None) -> str:
    """The DuckDB table function that reads the files (the same as the dbt source)."""
    files = "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"
    if is_parquet(paths[0]):
        return f"read_parquet({files}, union_by_name = true)"
    options = "all_varchar = true, header = true, skip = 0, union_by_name = true"
    if delimiter:
        options += f", delim = {sql_string(delimiter)}"
    if encoding:
        options += f", encoding = {sql_string(encoding)}"
    return f"read_csv({files}, {options})"


def duckdb_connect(path: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(path, read_only=read_only, config=dict(DUCKDB_CONFIG))


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
                             "Fix: give an existing CSV, CSV.gz or Parquet file (--transactions PATH "
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
        raise UsageError(f"transactions file '{path}' is not a file. Fix: give a CSV, CSV.gz or "
                         "Parquet file (several with --transactions A --transactions B, or a quoted glob).")
    if not path.name.lower().endswith(SUPPORTED_SUFFIXES):
        raise UsageError(f"transactions file '{path}': unsupported file type. "
                         f"Fix: give one of {', '.join(SUPPORTED_SUFFIXES)}.")
    if path.stat().st_size == 0:
        raise UsageError(f"transactions file '{path}' is empty. Fix: export the transactions "
                         "again with a header row and at least one line.")


def _error_line(text: str) -> str | None:
    match = re.search(r"Line:\s*(\d+)", text)
    return match.group(1) if match else None


def _open_text(path: Path, encoding: str | None):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return opener(path, "rt", encoding=encoding or "utf-8", errors="replace", newline="")


def _first_line(path: Path, encoding: str | None) -> str:
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
    line = _error_line(text)
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
        header = _first_line(path, encoding)
        guess = max((",", ";", "\t", "|"), key=header.count)
        ragged = _first_ragged_line(path, guess, encoding) if header.count(guess) else None
        if ragged:
            return _ragged_error(path, guess, *ragged)
    first = " ".join(text.strip().splitlines()[:2])
    return UsageError(f"cannot read transactions file '{path}': {first}. Fix: give a CSV file with a "
                      "header row (optionally gzipped) or a Parquet file.")


def _single_column_error(path: Path, column: str, encoding: str | None) -> UsageError:
    """The file was read as one column: name the likely delimiter and, if a line breaks it, the line."""
    counts = {d: column.count(d) for d in (",", ";", "\t", "|")}
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


def inspect_file(path: Path, encoding: str | None, delimiter: str | None) -> tuple[list[str], int]:
    """Column names and row count of one file, read in full once by DuckDB so that an
    unreadable line is reported here, with its number, instead of in the middle of dbt."""
    reader = reader_sql([path], encoding, delimiter)
    con = duckdb_connect()
    try:
        columns = [row[0] for row in con.execute(f"describe select * from {reader}").fetchall()]
        if len(columns) == 1 and not is_parquet(path):
            raise _single_column_error(path, columns[0], encoding)
        rows = con.execute(f"select count(*) from {reader}").fetchone()[0]
    except duckdb.Error as exc:
        raise read_error(path, exc, encoding) from exc
    finally:
        con.close()
    if rows == 0:
        raise UsageError(f"transactions file '{path}' has a header but no rows. Fix: export the "
                         "transactions again, with at least one line under the header.")
    return columns, rows


def resolve_columns(found: list[str], column_map: dict[str, str], aliases: dict) -> dict[str, str | None]:
    """{canonical name: column of the file or None}, as the dbt macro transaction_columns does."""
    by_normal: dict[str, str] = {}
    for name in found:
        by_normal.setdefault(_normalise(name), name)
    resolved: dict[str, str | None] = {}
    for name in CANONICAL_COLUMNS:
        candidates = [column_map[name]] if name in column_map else list(aliases.get(name, []))
        resolved[name] = next((by_normal[_normalise(c)] for c in candidates if _normalise(c) in by_normal), None)
    return resolved


def check_columns(path: Path, found: list[str], column_map: dict[str, str], aliases: dict) -> dict[str, str]:
    """Fail early, with the closest match, when a required column is missing.

    dbt resolves the same mapping (macro transaction_columns); this check runs first so
    that the user sees one clear message instead of a dbt compile error.
    """
    by_normal = {_normalise(name): name for name in found}
    resolved = resolve_columns(found, column_map, aliases)
    problems = []
    for name in CANONICAL_COLUMNS:
        if resolved[name] is not None:
            continue
        candidates = [column_map[name]] if name in column_map else list(aliases.get(name, []))
        close = difflib.get_close_matches(
            _normalise(candidates[0]) if candidates else name, list(by_normal), n=1, cutoff=0.6)
        hint = f" Did you mean '{by_normal[close[0]]}'?" if close else ""
        problems.append(
            f"  - {name}: none of {', '.join(repr(c) for c in candidates)} is a column.{hint}\n"
            f"    Fix: --column-map {name}='{by_normal[close[0]] if close else '<your column>'}'")
    if problems:
        raise UsageError(
            f"transactions file '{path}' is missing required column(s):\n" + "\n".join(problems)
            + f"\n  The file has: {', '.join(found)}")
    return {name: column for name, column in resolved.items() if column is not None}


def parse_column_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in CANONICAL_COLUMNS or not value.strip():
            raise UsageError(
                f"--column-map '{pair}': use NAME=COLUMN with NAME one of {', '.join(CANONICAL_COLUMNS)}")
        mapping[key] = value
    return mapping


def preflight(files: list[Path], column_map: dict[str, str], aliases: dict,
              encoding: str | None, delimiter: str | None) -> dict[Path, int]:
    """Every file readable, with rows and the eight columns, all named alike; rows per file."""
    if len({is_parquet(p) for p in files}) > 1:
        raise UsageError("the transactions files mix Parquet and CSV: "
                         + ", ".join(f"'{p.name}'" for p in files)
                         + ". Fix: give files of one kind (convert the others first).")
    rows: dict[Path, int] = {}
    first: tuple[Path, dict[str, str]] | None = None
    for path in files:
        check_file(path)
        found, rows[path] = inspect_file(path, encoding, delimiter)
        mapping = check_columns(path, found, column_map, aliases)
        if first is None:
            first = (path, mapping)
            continue
        for name in CANONICAL_COLUMNS:
            if mapping[name] != first[1][name]:
                raise UsageError(
                    f"transactions files '{first[0]}' and '{path}' name the column {name} differently "
                    f"('{first[1][name]}' and '{mapping[name]}'). Fix: give all files the same header "
                    "(rename the column in one of them), or build them separately.")
    return rows


def _date_text(value) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value).strip()


def validate_vars(dbt_vars: dict) -> None:
    """Vars that become SQL are checked before any SQL runs; a bad one is refused by name."""
    as_of = dbt_vars.get("as_of_date")
    if as_of not in (None, ""):
        text = _date_text(as_of)
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError(text)
            dt.date.fromisoformat(text)
        except ValueError:
            raise UsageError(f"as_of_date '{text}' is not a date. Fix: use YYYY-MM-DD, e.g. "
                             "--as-of-date 2011-12-01.") from None
        dbt_vars["as_of_date"] = text
    for old, new in RENAMED_VARS.items():
        if old in dbt_vars:
            raise UsageError(f"var {old} is now {new} (it applies to every value, CLV and profit figure). "
                             f"Fix: --vars '{{{new}: {dbt_vars[old]}}}'.")
    rules = project_vars()["var_rules"]
    for name, rule in rules.items():
        if name in dbt_vars:
            dbt_vars[name] = checked_var(name, dbt_vars[name], rule)
    formats = dbt_vars.get("invoice_date_formats")
    if formats is not None and (not isinstance(formats, list)
                                or not all(isinstance(f, str) and "%" in f for f in formats)):
        raise UsageError(f"invoice_date_formats = {formats!r} must be a list of strptime formats, "
                         "e.g. --vars '{invoice_date_formats: [\"%d/%m/%Y %H:%M\"]}'.")
    column_map = dbt_vars.get("column_map")
    if column_map is not None:
        if not isinstance(column_map, dict) or not all(
                k in CANONICAL_COLUMNS and isinstance(v, str) and v.strip() for k, v in column_map.items()):
            raise UsageError(f"column_map = {column_map!r} must map canonical names "
                             f"({', '.join(CANONICAL_COLUMNS)}) to column names of the file.")
    aliases = dbt_vars.get("column_aliases")
    if aliases is not None and (not isinstance(aliases, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in aliases.values())):
        raise UsageError("column_aliases must map canonical names to lists of column names.")


def _rule_text(rule: dict) -> str:
    kind = "a whole number" if rule["type"] == "integer" else "a number"
    low, high = rule.get("min"), rule.get("max")
    bounds = ""
    if low is not None:
        bounds += f" above {low}" if rule.get("exclusive_min") else f" from {low}"
    if high is not None:
        bounds += f" to {high}"
    return kind + bounds


def _checked_number(name: str, value, rule: dict):
    text = str(value).strip()
    pattern = r"[0-9]+" if rule["type"] == "integer" else r"-?[0-9]+([.][0-9]+)?"
    ok = not isinstance(value, bool) and re.fullmatch(pattern, text) is not None
    if ok:
        number = float(text)
        low, high = rule.get("min"), rule.get("max")
        ok = (low is None or (number > low if rule.get("exclusive_min") else number >= low)) and (
            high is None or number <= high)
    if not ok:
        default = project_vars().get(name)
        example = default if default not in (None, "") and not isinstance(default, list) else rule.get("min") or 1
        raise UsageError(f"{name} = {value!r} must be {_rule_text(rule)}. Fix: e.g. --vars '{{{name}: {example}}}'.")
    return int(text) if rule["type"] == "integer" else float(text)


def checked_var(name: str, value, rule: dict):
    """A var value after its rule of var_rules in dbt_project.yml (the macro checked_var applies
    the same rule when the SQL compiles)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if rule.get("optional"):
            return ""
        raise UsageError(f"var {name} is empty. Fix: give {_rule_text(rule)}, e.g. --vars '{{{name}: ...}}'.")
    if rule["type"] == "number_list":
        if not isinstance(value, list) or not value:
            raise UsageError(f"{name} = {value!r} must be a list of numbers, e.g. --vars '{{{name}: [0.1, 0.2]}}'.")
        item_rule = {"type": "number", "min": rule.get("min"), "max": rule.get("max")}
        return [_checked_number(name, item, item_rule) for item in value]
    return _checked_number(name, value, rule)


def project_vars() -> dict:
    """The vars of dbt_project.yml (defaults, aliases and var_rules)."""
    return yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]


def check_scenarios(dbt_vars: dict) -> None:
    """seeds/campaign_scenarios.csv: shares in [0, 1], costs >= 0, and var plan_scenario in it."""
    path = REPO / "seeds" / "campaign_scenarios.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for line, row in enumerate(rows, start=2):
        for column, low, high in (("discount", 0, 1), ("save_rate", 0, 1), ("cost_per_contact", 0, None)):
            try:
                number = float(row.get(column) or "nan")
            except ValueError:
                number = float("nan")
            if not (number >= low and (high is None or number <= high)):
                raise UsageError(f"{path}, line {line} (scenario {row.get('scenario')!r}): {column} = "
                                 f"{row.get(column)!r} must be a number from {low}{f' to {high}' if high else ' up'}. "
                                 "Fix: correct that line (shares are fractions, e.g. 0.15 for 15%).")
    names = [row["scenario"] for row in rows]
    scenario = str(dbt_vars.get("plan_scenario", project_vars()["plan_scenario"]))
    if scenario not in names:
        raise UsageError(f"var plan_scenario = {scenario!r} is not a scenario of {path} ({', '.join(names)}). "
                         f"Fix: --vars '{{plan_scenario: {names[0] if names else 'base'}}}', or add the row.")


def csv_options(encoding: str | None, delimiter: str | None) -> tuple[str | None, str | None]:
    """(encoding, delimiter) of the CSV reader (flags --encoding/--delimiter or vars
    csv_encoding/csv_delimiter), validated."""
    if encoding:
        name = str(encoding)
        encoding = ENCODINGS.get(name.strip().lower())
        if encoding is None:
            raise UsageError(f"--encoding '{name}' is not supported. Fix: use utf-8, latin-1 "
                             "or utf-16 (latin-1 also reads most Windows-1252 exports).")
    if delimiter:
        name = str(delimiter)
        delimiter = DELIMITER_NAMES.get(name.lower(), name)
        if len(delimiter) != 1 or delimiter.isalnum() or delimiter in "\"'\r\n ":
            raise UsageError(f"--delimiter '{name}' must be one character such as , ; | or tab.")
    return encoding or None, delimiter or None


@contextlib.contextmanager
def build_lock(warehouse_dir: Path):
    """One build at a time per warehouse folder (a second one would clobber the first's file)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    handle = open(warehouse_dir / ".build.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UsageError(f"another build ({holder}) is writing to '{warehouse_dir}'. Fix: wait for it "
                         "to finish, or build into another --warehouse-dir.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _die_with_parent() -> None:
    """In the dbt child: get SIGTERM when the runner dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, other systems have no prctl
        pass


def run_dbt(args: list[str], env: dict[str, str], log_file: Path) -> float:
    """Run one dbt command, streaming its progress lines; returns seconds taken."""
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt) if dbt.exists() else "dbt", *args]
    started = time.monotonic()
    with open(log_file, "a", encoding="utf-8") as sink:
        sink.write(f"\n$ {' '.join(command)}\n")
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.write(line)
            print(line, end="", flush=True)
        code = proc.wait()
    if code != 0:
        raise UsageError(f"dbt {args[0]} failed (exit {code}); the previous warehouse is untouched. "
                         f"Full log: {log_file}")
    return time.monotonic() - started


def _run_results(run_results: Path) -> list[dict]:
    if not run_results.exists():
        return []
    return [r for r in json.loads(run_results.read_text()).get("results", [])
            if r.get("status") in ("error", "fail")]


def failed_nodes(run_results: Path) -> list[str]:
    """unique_ids of the nodes that errored or failed in the last dbt invocation."""
    return [r["unique_id"] for r in _run_results(run_results)]


def failure_messages(run_results: Path, limit: int = 5) -> str:
    """The messages of the failed nodes, one line each (the input checks put the fix in theirs)."""
    lines = []
    for result in _run_results(run_results)[:limit]:
        message = " ".join((result.get("message") or "").split())
        message = re.sub(r"^Runtime Error in \S+ \S+ \([^)]*\) ", "", message)
        if "Traceback" in message:  # a Python step: its exception, not the stack
            errors = list(re.finditer(r"\b\w+(Error|Exception): ", message))
            if errors:
                message = message[errors[-1].start():]
        lines.append(f"  - {result['unique_id']}: {message[:700]}")
    return "\n".join(lines)


def publish_atomically(building_db: Path, final_db: Path) -> None:
    """Make the finished build the warehouse in one rename.

    The build is checkpointed first (no write-ahead log may travel separately from the
    file), a stale log of the old file is removed, then os.replace swaps the directory
    entry: readers holding the old file keep their (old) inode, new readers get the new.
    """
    con = duckdb_connect(str(building_db))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if Path(f"{building_db}.wal").exists():
        raise UsageError(f"the finished build '{building_db}' still has a write-ahead log; not published. "
                         "Fix: run the build again.")
    Path(f"{final_db}.wal").unlink(missing_ok=True)
    os.replace(building_db, final_db)
    with contextlib.suppress(OSError):
        folder = os.open(final_db.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def report_inputs(db: Path, files: list[Path], as_of_date: str | None) -> None:
    """What happened to the raw rows: per file, per rejection reason, overlaps between files."""
    con = duckdb_connect(str(db), read_only=True)
    try:
        per_file = con.execute("""
            select source_file, count(*), count(*) filter (where rejection_reason is null)
            from staging.base_transactions group by 1 order by min(raw_row_id)""").fetchall()
        reasons = con.execute("""
            select rejection_reason, count(*),
                arg_min(quantity_raw, raw_row_id), arg_min(unit_price_raw, raw_row_id),
                arg_min(invoice_date_raw, raw_row_id), min(raw_row_id)
            from staging.base_transactions where rejection_reason is not null
            group by 1 order by 2 desc, 1""").fetchall()
        overlaps = []
        if len(files) > 1:
            overlaps = con.execute("""
                select copy.source_file, first.source_file, count(*)
                from staging.base_transaction_copies as copies
                join staging.base_transaction_lines as copy on copy.raw_row_id = copies.raw_row_id
                join staging.base_transaction_lines as first on first.raw_row_id = copies.first_copy_raw_row_id
                where copy.source_file <> first.source_file
                group by 1, 2 order by 1, 2""").fetchall()
        dates = con.execute("select min(invoice_date), max(invoice_date) from staging.stg_transactions").fetchone()
    finally:
        con.close()
    log("input rows (file: raw -> clean):")
    for name, raw, clean in per_file:
        print(f"    {name:<48} {raw:>12,} -> {clean:,}")
    if reasons:
        log("rejected rows (staging.stg_transactions_rejected), by reason:")
        for reason, count, quantity, price, date, row in reasons:
            example = {"invalid_quantity": quantity, "invalid_unit_price": price,
                       "invalid_invoice_date": date, "implausible_date": date}.get(reason)
            shown = f"   e.g. row {row}: {example!r}" if reason in (
                "invalid_quantity", "invalid_unit_price", "invalid_invoice_date", "implausible_date") else ""
            print(f"    {reason:<24} {count:>12,}{shown}")
        if any(r[0] == "invalid_unit_price" for r in reasons):
            log("hint: prices with currency symbols, thousands separators or decimal commas are not "
                "parsed; export plain numbers such as 1234.50")
        if any(r[0] == "invalid_invoice_date" for r in reasons):
            log("hint: InvoiceDate is read as ISO or the formats of var invoice_date_formats; a day-first "
                "file needs --vars '{invoice_date_formats: [\"%d/%m/%Y %H:%M\"]}'")
    for later, earlier, count in overlaps:
        log(f"overlap: {count:,} rows of {later} repeat rows of {earlier}; kept once (rejected as duplicate)")
    if as_of_date and dates[1] is not None:
        as_of = dt.date.fromisoformat(as_of_date)
        if (as_of - dates[1]).days > 1:
            log(f"note: as_of_date {as_of} is {(as_of - dates[1]).days} days after the last clean "
                f"transaction ({dates[1]}): the days in between count as days without orders, so "
                "customers look less active than the data may warrant")
        elif dates[1] >= as_of:
            log(f"note: clean transactions dated on or after as_of_date {as_of} (up to {dates[1]}) are "
                "kept in staging and ignored by every feature, label and mart")


def summarise(db_path: Path) -> list[tuple[str, str, int, bool]]:
    """(schema, table or view, rows, is_view) for everything the build made."""
    con = duckdb_connect(str(db_path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name, table_type = 'VIEW' from information_schema.tables "
            "where table_type in ('BASE TABLE', 'VIEW') and table_catalog = current_database() "
            "and table_schema not in ('information_schema', 'pg_catalog') order by 1, 2").fetchall()
        return [(s, t, con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0], is_view)
                for s, t, is_view in tables]
    finally:
        con.close()


def build_info(files: list[Path], dbt_vars: dict) -> dict:
    """What a build was made from: the input files (path, size, modification time) and the
    dbt vars that change results. Exported beside the ml tables so that a Spark build can
    refuse ml tables made from other input."""
    return {
        "files": [{"path": str(p), "bytes": p.stat().st_size, "modified": p.stat().st_mtime_ns}
                  for p in files],
        "vars": {k: v for k, v in sorted(dbt_vars.items())
                 if k not in ("transactions_path", "csv_delimiter", "ml_exports_path")},
    }


def publish_outputs(db: Path, warehouse_dir: Path, args, timings: dict,
                    info: dict | None = None) -> dict[str, Path]:
    """Exports (Parquet marts, CRM CSV lists) and the HTML report, from the finished build."""
    sys.path.insert(0, str(REPO))
    from scripts.export_outputs import export_outputs

    outputs: dict[str, Path] = {}
    started = time.monotonic()
    exports_dir = warehouse_dir / "exports"
    written = export_outputs(db, exports_dir, build_info=info)
    timings["exports"] = time.monotonic() - started
    outputs["exports"] = exports_dir
    for name in ("retention_plan.csv", "retention_targets.csv", "brand_ambassadors.csv", "sunk_costs.csv"):
        if name in written:
            outputs[f"CRM list ({written[name]:,} customers)"] = exports_dir / name
    if not args.no_report:
        from scripts.render_report import render_report

        started = time.monotonic()
        outputs["report"] = render_report(db, warehouse_dir / "report.html")
        timings["report"] = time.monotonic() - started
    return outputs


def build(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", action="append", default=None, metavar="PATH",
                        help="CSV, CSV.gz or Parquet file of transactions; repeat it (or give a quoted "
                             "glob such as 'exports/*.csv') for several files, read as one in the order "
                             "given, rows repeated across files kept once (default: env TRANSACTIONS, "
                             "else the demo data, generated if missing)")
    parser.add_argument("--warehouse-dir", default=os.environ.get("WAREHOUSE_DIR") or str(DEFAULT_WAREHOUSE),
                        help="where retention.duckdb, the docs site and logs go (default: warehouse/)")
    parser.add_argument("--as-of-date", help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--churn-horizon-days", type=int, help="churn horizon in days (default 90)")
    parser.add_argument("--snapshot-cadence-days", type=int, help="days between training cutoffs (default 30)")
    parser.add_argument("--snapshot-count", type=int, help="number of past training cutoffs (default 12)")
    parser.add_argument("--column-map", action="append", default=[], metavar="NAME=COLUMN",
                        help="map a canonical column to your file's column, e.g. customer_id='Client No'")
    parser.add_argument("--encoding", help="encoding of CSV files: utf-8 (default), latin-1 or utf-16")
    parser.add_argument("--delimiter", help="CSV delimiter, e.g. ';' or tab (default: detected)")
    parser.add_argument("--vars", default=None, help="extra dbt vars as YAML/JSON, e.g. '{snapshot_count: 6}'")
    parser.add_argument("--demo-rows", type=int, default=DEFAULT_DEMO_ROWS,
                        help=f"size of the generated demo data (default {DEFAULT_DEMO_ROWS:,})")
    parser.add_argument("--no-docs", action="store_true", help="skip the dbt docs site")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    parser.add_argument("--target", choices=("duckdb", "spark"), default="duckdb",
                        help="duckdb (default): the whole job in one DuckDB file; spark: the SQL layers "
                             "and marts on a local Spark session (make spark-setup first), the ml tables "
                             "from the DuckDB build's export (see the README, 'Beyond one machine')")
    parser.add_argument("--skip-ml", action="store_true",
                        help="build only the SQL layers (no churn model, segments or CLV), e.g. when "
                             "the history is too short to train on")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("RETENTION_THREADS", os.cpu_count() or 2)),
                        help="DuckDB threads and dbt threads (default: the machine's cores)")
    parser.add_argument("--memory-limit", default=os.environ.get("RETENTION_MEMORY_LIMIT", "8GB"),
                        help="DuckDB memory_limit (default 8GB)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.threads < 1:
        raise UsageError(f"--threads {args.threads}: give 1 or more.")
    if not re.fullmatch(r"[0-9]+([.][0-9]+)?\s*([KMGT]i?B|B)", args.memory_limit.strip(), re.IGNORECASE):
        raise UsageError(f"--memory-limit '{args.memory_limit}' is not a size. Fix: e.g. --memory-limit 4GB.")
    warehouse_dir = Path(args.warehouse_dir).resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)

    given = args.transactions or ([os.environ["TRANSACTIONS"]] if os.environ.get("TRANSACTIONS") else [])
    with build_lock(warehouse_dir):
        if given:
            files = resolve_inputs(given)
        else:
            files = [demo_path(warehouse_dir)]
            ensure_demo_data(files[0], args.demo_rows)
        if args.target == "spark":
            from scripts.spark_target import build_spark

            return build_spark(args, files, warehouse_dir, started)
        return _build(args, files, warehouse_dir, started)


def _dbt_vars(args, files: list[Path]) -> tuple[dict, dict[Path, int]]:
    """The dbt vars of the build (flags and --vars, validated) and the rows of each file,
    after the input files passed the preflight checks."""
    try:
        dbt_vars: dict = yaml.safe_load(args.vars) if args.vars else {}
    except yaml.YAMLError as exc:
        raise UsageError(f"--vars is not valid YAML/JSON: {exc}") from None
    if not isinstance(dbt_vars, dict):
        raise UsageError(f"--vars must be a YAML/JSON mapping, got: {args.vars}")
    dbt_vars["transactions_path"] = str(files[0]) if len(files) == 1 else [str(p) for p in files]
    for name in ("as_of_date", "churn_horizon_days", "snapshot_cadence_days", "snapshot_count"):
        value = getattr(args, name)
        if value is not None:
            dbt_vars[name] = value
    column_map = {**(dbt_vars.get("column_map") or {}), **parse_column_map(args.column_map)}
    if column_map:
        dbt_vars["column_map"] = column_map
    encoding, delimiter = csv_options(args.encoding or dbt_vars.pop("csv_encoding", None),
                                      args.delimiter or dbt_vars.pop("csv_delimiter", None))
    if encoding:
        dbt_vars["csv_encoding"] = encoding
    if delimiter:
        dbt_vars["csv_delimiter"] = delimiter
    validate_vars(dbt_vars)
    check_scenarios(dbt_vars)

    aliases = dbt_vars.get("column_aliases") or project_vars()["column_aliases"]
    raw_rows = preflight(files, column_map, aliases, encoding, delimiter)
    return dbt_vars, raw_rows


def _build(args, files: list[Path], warehouse_dir: Path, started: float) -> Path:
    dbt_vars, raw_rows = _dbt_vars(args, files)

    final_db = warehouse_dir / DB_NAME
    building_db = warehouse_dir / f"{DB_NAME}.building"
    # left by a build that failed or was killed (the lock says no build is running now)
    for leftover in (building_db, Path(f"{building_db}.wal")):
        leftover.unlink(missing_ok=True)
    target_dir = warehouse_dir / "dbt_target"
    (target_dir / "run_results.json").unlink(missing_ok=True)
    log_file = warehouse_dir / "logs" / "build.log"
    log_file.parent.mkdir(exist_ok=True)
    log_file.write_text("")
    env = {
        **os.environ,
        "RETENTION_DUCKDB_PATH": str(building_db),
        "RETENTION_REPO_DIR": str(REPO),
        "RETENTION_DUCKDB_THREADS": str(args.threads),
        "RETENTION_DBT_THREADS": str(args.threads),
        "RETENTION_MEMORY_LIMIT": args.memory_limit.strip(),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(target_dir),
        "DBT_LOG_PATH": str(warehouse_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    common = ["--project-dir", str(DBT_PROJECT), "--vars", json.dumps(dbt_vars, default=_date_text)]
    log(f"building from {', '.join(str(p) for p in files)} ({sum(raw_rows.values()):,} rows)")
    build_args = ["build", *common] + (["--exclude", "tag:ml"] if args.skip_ml else [])
    try:
        timings = {"dbt build": run_dbt(build_args, env, log_file)}
    except UsageError as exc:
        results = target_dir / "run_results.json"
        failed = failed_nodes(results)
        messages = failure_messages(results)
        detail = f"\nWhat failed:\n{messages}" if messages else ""
        if building_db.exists():
            detail += (f"\nThe failed build is kept for inspection in '{building_db}' (open it read-only; "
                       "the next build removes it).")
        if any(node.startswith("model.retention.") and "_fit" in node for node in failed):
            raise UsageError(f"{exc}{detail}\nA Python step failed ({', '.join(failed)}): see its message "
                             "above. To build the SQL warehouse without the models, add --skip-ml.") from exc
        raise UsageError(f"{exc}{detail}") from exc

    docs_dir = warehouse_dir / "docs"
    if not args.no_docs:
        timings["dbt docs generate"] = run_dbt(["docs", "generate", "--static", *common], env, log_file)
        docs_dir.mkdir(exist_ok=True)
        shutil.copyfile(target_dir / "static_index.html", docs_dir / "index.html")

    publish_atomically(building_db, final_db)

    outputs = publish_outputs(final_db, warehouse_dir, args, timings, build_info(files, dbt_vars))
    tables = summarise(final_db)
    print()
    report_inputs(final_db, files, dbt_vars.get("as_of_date") or None)
    log("built tables and views (schema.table: rows):")
    for schema, table, count, is_view in tables:
        if schema != "reference":
            print(f"    {schema + '.' + table:<48} {count:>12,}{'  (view)' if is_view else ''}")
    log(f"warehouse: {final_db}")
    if not args.no_docs:
        log(f"docs site: {docs_dir / 'index.html'}")
    for label, path in outputs.items():
        log(f"{label}: {path}")
    log(f"build log: {log_file}")
    log("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        + f", total {time.monotonic() - started:.1f}s")
    log(f"query it: .venv/bin/python -c \"import duckdb; print(duckdb.connect('{final_db}', "
        "read_only=True).sql('select * from features.customer_rfm limit 5'))\"")
    return final_db


def main() -> int:
    try:
        build()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the previous warehouse is untouched.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
