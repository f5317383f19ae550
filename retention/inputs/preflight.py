"""The preflight: every input file readable, with rows and the eight columns, named alike,
before dbt starts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retention.config import UsageError, canonical_columns, project_vars
from retention.inputs.columns import check_columns
from retention.inputs.files import check_file, inspect_file, is_parquet


@dataclass(frozen=True)
class Preflight:
    """What the preflight learnt: rows per file and the column of each canonical name."""

    rows: dict[Path, int]
    columns: dict[str, str]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def preflight(files: list[Path], dbt_vars: dict) -> Preflight:
    """Check every file; raise UsageError naming the file, the problem and the fix."""
    if len({is_parquet(p) for p in files}) > 1:
        raise UsageError("the transactions files mix Parquet and CSV: "
                         + ", ".join(f"'{p.name}'" for p in files)
                         + ". Fix: give files of one kind (convert the others first).")
    column_map = dbt_vars.get("column_map") or {}
    aliases = dbt_vars.get("column_aliases") or project_vars()["column_aliases"]
    encoding, delimiter = dbt_vars.get("csv_encoding"), dbt_vars.get("csv_delimiter")
    rows: dict[Path, int] = {}
    first: tuple[Path, dict[str, str]] | None = None
    for path in files:
        check_file(path)
        found, rows[path] = inspect_file(path, encoding, delimiter)
        mapping = check_columns(path, found, column_map, aliases)
        if first is None:
            first = (path, mapping)
            continue
        for name in canonical_columns():
            if mapping[name] != first[1][name]:
                raise UsageError(
                    f"transactions files '{first[0]}' and '{path}' name the column {name} differently "
                    f"('{first[1][name]}' and '{mapping[name]}'). Fix: give all files the same header "
                    "(rename the column in one of them), or build them separately.")
    return Preflight(rows=rows, columns=first[1])
