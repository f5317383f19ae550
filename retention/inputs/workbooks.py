"""Spreadsheets as input: every sheet of a workbook (.xlsx, .xlsm, .xls) written, in order, to a
Parquet file of text columns in the warehouse's own cache, which the build then reads like any
Parquet input (so staging decides what is parseable, as for CSV).

Memory stays bounded: a sheet is read with python-calamine (fast, the whole sheet in memory)
when it has at most `workbook_fast_read_cells` cells (var raw_reader_options; its size comes
from the sheet's dimension, or from the size of its XML when a writer left that out), and is
streamed row by row with openpyxl in read-only mode otherwise; rows go to Parquet in batches.
An .xls sheet (at most 65,536 rows by 256 columns) is always read with python-calamine.

Cell values become the text a person sees in the cell: numbers without a trailing .0 (6, 2.55,
17850), dates and times as 'YYYY-MM-DD HH:MM:SS' (rounded to the millisecond, which undoes the
floating-point noise of Excel's day fractions), empty cells as NULL. The cache is keyed by the
workbook's content (SHA-256): an unchanged workbook is not read again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from retention.config import UsageError, project_vars

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
CACHE_VERSION = 1  # bump when the text of a cell changes
BATCH_ROWS = 50_000
MIN_XML_BYTES_PER_CELL = 20  # '<c r="A1"><v>1</v></c>': no cell is written in fewer bytes


def is_workbook(path: Path) -> bool:
    return path.name.lower().endswith(WORKBOOK_SUFFIXES)


@dataclass
class Sheet:
    """One sheet of a workbook as the cache holds it."""

    name: str
    header: list[str]
    rows: int
    parquet: str | None  # file name in the cache folder (None: the sheet is empty)
    reader: str


@dataclass
class Workbook:
    """A converted workbook: its sheets in order, where they are, and how long it took."""

    path: Path
    folder: Path
    sheets: list[Sheet] = field(default_factory=list)
    seconds: float = 0.0
    cached: bool = False

    def display_name(self, sheet: Sheet) -> str:
        """What source_file says for the rows of a sheet: 'book.xlsx [Sheet 1]'."""
        return f"{self.path.name} [{sheet.name}]"


def cell_text(value) -> str | None:
    """The text of a cell as a person sees it (None for an empty cell). The common types are
    tested first: this runs once per cell."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is float:
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if value is None:
        return None
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        if value.microsecond:
            value = _round_to_millisecond(value)
            if value.microsecond:
                return value.isoformat(sep=" ", timespec="milliseconds")
        return value.isoformat(sep=" ", timespec="seconds")
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is dt.date:
        return value.isoformat() + " 00:00:00"
    if kind is dt.time:
        return value.strftime("%H:%M:%S")
    return str(value)


def _round_to_millisecond(value: dt.datetime) -> dt.datetime:
    rounded = round(value.microsecond / 1000) * 1000
    return value.replace(microsecond=0) + dt.timedelta(microseconds=rounded)


def column_names(header: list) -> list[str]:
    """Unique column names from a header row: empty cells become column1, column2, ... (by
    position, as DuckDB names them in a CSV) and repeats get _1, _2, ..."""
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(header, start=1):
        name = cell_text(cell) or f"column{i}"
        name = name.strip() or f"column{i}"
        base, k = name, 0
        while name.lower() in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name.lower())
        names.append(name)
    return names


# ------------------------------------------------------------------------------------------
# sheet sizes (without reading the cells)
# ------------------------------------------------------------------------------------------

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def xlsx_cell_counts(path: Path) -> dict[str, int]:
    """{sheet name: number of cells} of an .xlsx from each sheet's dimension, or an upper bound
    from the size of its XML when it has none; {} when the package cannot be read this way."""
    try:
        with zipfile.ZipFile(path) as package:
            book = ElementTree.fromstring(package.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", _NS)}
            counts = {}
            for sheet in book.iterfind("m:sheets/m:sheet", _NS):
                target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                info = package.getinfo(member)
                with package.open(member) as handle:
                    match = _DIMENSION.search(handle.read(65536))
                if match and match.group(3):
                    rows = int(match.group(4)) - int(match.group(2)) + 1
                    columns = _column_number(match.group(3).decode()) - _column_number(match.group(1).decode()) + 1
                    counts[sheet.get("name")] = rows * columns
                else:
                    counts[sheet.get("name")] = info.file_size // MIN_XML_BYTES_PER_CELL
            return counts
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return {}


# ------------------------------------------------------------------------------------------
# readers: each yields the rows of one sheet as lists of cell values, from column A
# ------------------------------------------------------------------------------------------

def _calamine_rows(workbook, name: str):
    sheet = workbook.get_sheet_by_name(name)
    start = sheet.start
    pad = [None] * (start[1] if start else 0)
    for row in sheet.iter_rows():
        yield pad + list(row)


def _openpyxl_rows(path: Path, name: str):
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for row in book[name].iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def _write_sheet(rows, target: Path) -> tuple[list[str], int]:
    """Rows (header first; leading empty rows skipped) to a Parquet file of text columns, in
    batches. Returns (header, data rows); no file is written for a sheet without a header."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    header: list[str] | None = None
    writer = None
    batch: list[list] = []
    count = 0

    def flush():
        nonlocal writer
        if writer is None:
            writer = pq.ParquetWriter(target, pa.schema([(n, pa.string()) for n in header]))
        columns = list(zip(*batch)) if batch else [[] for _ in header]
        writer.write_table(pa.table({n: pa.array(list(c), pa.string()) for n, c in zip(header, columns)}))
        batch.clear()

    for row in rows:
        if header is None:
            if any(cell_text(v) is not None for v in row):
                header = column_names(_trim_trailing_empty(row))
            continue
        texts = list(map(cell_text, row[:len(header)]))
        if all(t is None for t in texts):
            continue  # an empty row: nothing to read
        batch.append(texts + [None] * (len(header) - len(texts)))
        count += 1
        if len(batch) >= BATCH_ROWS:
            flush()
    if header is None:
        return [], 0
    if batch or writer is None:
        flush()
    writer.close()
    return header, count


def _trim_trailing_empty(row: list) -> list:
    end = len(row)
    while end and cell_text(row[end - 1]) is None:
        end -= 1
    return row[:end]


def _convert(path: Path, folder: Path) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    limit = int(project_vars()["raw_reader_options"]["workbook_fast_read_cells"])
    sizes = xlsx_cell_counts(path) if not path.name.lower().endswith(".xls") else {}
    book = CalamineWorkbook.from_path(str(path))
    sheets = []
    try:
        for i, name in enumerate(book.sheet_names, start=1):
            streamed = not path.name.lower().endswith(".xls") and sizes.get(name, limit + 1) > limit
            rows = _openpyxl_rows(path, name) if streamed else _calamine_rows(book, name)
            target = folder / f"sheet-{i:02d}.parquet"
            header, count = _write_sheet(rows, target)
            sheets.append(Sheet(name=name, header=header, rows=count,
                                parquet=target.name if header else None,
                                reader="openpyxl (streamed)" if streamed else "python-calamine"))
    finally:
        book.close()
    return sheets


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def load_workbook(path: Path, cache_dir: Path) -> Workbook:
    """The workbook's sheets in the cache (converted now, or earlier from the same content)."""
    started = time.monotonic()
    digest = _digest(path)
    folder = cache_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', path.stem)[:60]}-{digest[:16]}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("sha256") == digest and saved.get("version") == CACHE_VERSION:
            return Workbook(path, folder, [Sheet(**s) for s in saved["sheets"]], time.monotonic() - started, True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        sheets = _convert(path, folder)
    except Exception as exc:  # the readers raise their own types for a broken file
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, (KeyboardInterrupt, UsageError)):
            raise
        raise UsageError(f"cannot read workbook '{path}': {type(exc).__name__}: {str(exc)[:200]}. Fix: open it in a "
                         "spreadsheet program and save it again as .xlsx, or export the sheet as CSV.") from exc
    manifest.write_text(json.dumps({"sha256": digest, "version": CACHE_VERSION, "source": str(path),
                                    "sheets": [s.__dict__ for s in sheets]}, indent=2))
    return Workbook(path, folder, sheets, time.monotonic() - started, False)


def prune_cache(cache_dir: Path, keep: list[Path]) -> None:
    """Remove cached workbooks this build does not read (the cache holds what the build uses)."""
    if not cache_dir.is_dir():
        return
    kept = {p.resolve() for p in keep}
    for folder in cache_dir.iterdir():
        if folder.is_dir() and folder.resolve() not in kept:
            shutil.rmtree(folder, ignore_errors=True)
