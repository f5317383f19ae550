"""The preflight: every input file readable, with rows and the eight columns, named alike, and
its dates and numbers read in the convention the data settle, before dbt starts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from retention.config import UsageError, canonical_columns, project_vars
from retention.inputs import conventions
from retention.inputs.columns import check_columns, choose_preset, refund_marker
from retention.inputs.files import check_file, describe_file, is_parquet, reader_sql, scan_file
from retention.inputs.workbooks import is_workbook, load_workbook, prune_cache

TEXT_TYPES = ("VARCHAR",)


@dataclass(frozen=True)
class Preflight:
    """What the preflight learnt: rows per file, the column of each canonical name, the dbt
    vars it decided (date convention, decimal separator, refund marker), and what to tell the
    person: notes (one line each) and warnings."""

    rows: dict[Path, int]
    columns: dict[str, str]
    dbt_vars: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _configured_dates(dbt_vars: dict) -> dict:
    return {k: dbt_vars[k] for k in ("invoice_date_convention", "invoice_date_formats") if dbt_vars.get(k)}


@dataclass
class Layout:
    """How a file's columns are found: the column map (--column-map, and an asked-for preset,
    which must match), the aliases (a detected preset's names first) and the refund marker."""

    column_map: dict
    aliases: dict
    marker: dict
    preset: str | None = None


def _resolve_layout(found: list[str], dbt_vars: dict, notes: list[str]) -> Layout:
    """The layout of a file from --preset or its header, with --column-map on top."""
    presets = dbt_vars.get("column_presets") or project_vars()["column_presets"]
    aliases = dbt_vars.get("column_aliases") or project_vars()["column_aliases"]
    name, detected = choose_preset(dbt_vars.get("preset"), found, presets)
    preset = presets.get(name) if name else None
    user_map = dict(dbt_vars.get("column_map") or {})
    if preset and detected:   # the preset's spelling first, the aliases still apply
        aliases = {key: [preset["columns"][key]] + list(aliases.get(key, [])) for key in canonical_columns()}
        column_map = user_map
    else:
        column_map = {**(preset["columns"] if preset else {}), **user_map}
    marker = refund_marker(preset, found) if preset else {}
    if dbt_vars.get("refund_marker"):   # set by hand: its column must be in the file
        marker = refund_marker({"refund_marker": dbt_vars["refund_marker"]}, found)
        if not marker:
            raise UsageError(f"var refund_marker names the column '{dbt_vars['refund_marker']['column']}', which the "
                             f"file does not have (it has: {', '.join(found)}). Fix: name one of its columns.")
    if name:
        how = "detected from the header" if detected else "--preset"
        refunds = (f"; orders whose {marker['column']} is {' or '.join(marker['values'])} count as cancelled"
                   if marker else "")
        notes.append(f"columns: the {name} layout ({how}){refunds}")
    return Layout(column_map, aliases, marker, None if detected else name)


def _check_same_header(first: tuple[Path, dict[str, str]], path: Path, mapping: dict[str, str]) -> None:
    for name in canonical_columns():
        if mapping[name] != first[1][name]:
            raise UsageError(
                f"transactions files '{first[0]}' and '{path}' name the column {name} differently "
                f"('{first[1][name]}' and '{mapping[name]}'). Fix: give all files the same header "
                "(rename the column in one of them), or build them separately.")


def preflight(files: list[Path], dbt_vars: dict, names: dict[str, str] | None = None) -> Preflight:
    """Check every file; raise UsageError naming the file, the problem and the fix. `names`
    are the names to show for files that stand for something else (the sheets of a workbook)."""
    names = names or {}
    if len({is_parquet(p) for p in files}) > 1:
        raise UsageError("the transactions files mix Parquet and CSV: "
                         + ", ".join(f"'{names.get(str(p), p.name)}'" for p in files)
                         + ". Fix: give files of one kind (convert the others first).")
    encoding, delimiter = dbt_vars.get("csv_encoding"), dbt_vars.get("csv_delimiter")
    rows: dict[Path, int] = {}
    notes: list[str] = []
    first: tuple[Path, dict[str, str]] | None = None
    dates, numbers = conventions.Evidence(), conventions.Evidence()
    layout: Layout | None = None
    for path in files:
        check_file(path)
        types = describe_file(path, encoding, delimiter)
        shown = names.get(str(path), str(path))
        if layout is None:
            layout = _resolve_layout(list(types), dbt_vars, notes)
        mapping = check_columns(Path(shown), list(types), layout.column_map, layout.aliases, layout.preset)
        if first is None:
            first = (Path(shown), mapping)
        else:
            _check_same_header(first, Path(shown), mapping)
        date_column = mapping["invoice_date"] if types[mapping["invoice_date"]] in TEXT_TYPES else None
        number_columns = [mapping[c] for c in ("quantity", "unit_price") if types[mapping[c]] in TEXT_TYPES]
        row = scan_file(path, conventions.evidence_sql(reader_sql([path], encoding, delimiter), date_column,
                                                       number_columns), encoding)
        rows[path] = row["row_count"]
        conventions.collect(row, Path(shown).name, date_column is not None, len(number_columns), dates, numbers)
    decided: dict = {"refund_marker": layout.marker} if layout.marker else {}
    date_reading = conventions.decide_dates(dates, first[1]["invoice_date"], _configured_dates(dbt_vars))
    number_reading = conventions.decide_decimals(numbers, [first[1]["quantity"], first[1]["unit_price"]],
                                                 dbt_vars.get("decimal_separator"))
    for reading in (date_reading, number_reading):
        decided.update(reading.dbt_vars)
        notes += reading.notes
    return Preflight(rows=rows, columns=first[1], dbt_vars=decided, notes=notes,
                     warnings=date_reading.warnings + number_reading.warnings)


@dataclass
class Inputs:
    """The files the build reads (a workbook's sheets replaced by their cached Parquet files),
    the names to show for those, and what to tell the person about the workbooks."""

    files: list[Path]
    names: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _sheet_problem(header: list[str], rows: int, dbt_vars: dict) -> str | None:
    """Why a sheet cannot be read as transactions (None when it can)."""
    if not header:
        return "empty"
    try:
        layout = _resolve_layout(header, dbt_vars, [])
        check_columns(Path("sheet"), header, layout.column_map, layout.aliases, layout.preset)
    except UsageError as exc:
        missing = [line.split(":")[0].strip(" -") for line in str(exc).splitlines() if line.startswith("  - ")]
        if len(missing) == len(canonical_columns()):
            return "none of the transaction columns"
        return f"no {', '.join(missing)} column" if missing else str(exc).splitlines()[0]
    return None if rows else "a header but no rows"


def expand_workbooks(files: list[Path], cache_dir: Path, dbt_vars: dict) -> Inputs:
    """Every workbook among the files replaced by its sheets that have the transaction columns
    (in order, read into the cache); sheets without them are listed and skipped. A workbook
    without any usable sheet stops the build, naming its sheets and what each lacks."""
    inputs = Inputs(files=[])
    kept: list[Path] = []
    for path in files:
        check_file(path)
        if not is_workbook(path):
            inputs.files.append(path)
            continue
        book = load_workbook(path, cache_dir)
        kept.append(book.folder)
        inputs.seconds += book.seconds
        used, skipped = [], []
        for sheet in book.sheets:
            problem = _sheet_problem(sheet.header, sheet.rows, dbt_vars)
            if problem:
                skipped.append(f"'{sheet.name}' ({problem})")
                continue
            used.append(sheet)
            parquet = (book.folder / sheet.parquet).resolve()
            inputs.files.append(parquet)
            inputs.names[str(parquet)] = book.display_name(sheet)
        if not used:
            raise UsageError(
                f"workbook '{path}' has no sheet with the transaction columns: {', '.join(skipped) or 'no sheets'}. "
                "Fix: check the sheet's header row (the first non-empty row), map the columns with "
                "--column-map NAME=COLUMN or --preset NAME, or export the sheet as CSV.")
        how = "from the cache" if book.cached else f"in {book.seconds:.1f}s"
        read = ", ".join(f"'{s.name}' ({s.rows:,} rows)" for s in used)
        inputs.notes.append(f"workbook {path.name}: sheets {read} -> {book.folder} ({how})"
                            + (f"; skipped {', '.join(skipped)}" if skipped else ""))
    prune_cache(cache_dir, kept)
    return inputs
