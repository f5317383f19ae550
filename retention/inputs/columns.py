"""Which column of the file is which canonical column (var column_aliases and column_map of
dbt_project.yml; names match ignoring case, spaces and punctuation)."""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from retention.config import UsageError, canonical_columns


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def resolve_columns(found: list[str], column_map: dict[str, str], aliases: dict) -> dict[str, str | None]:
    """{canonical name: column of the file or None}: column_map wins, else the first alias found."""
    by_normal: dict[str, str] = {}
    for name in found:
        by_normal.setdefault(normalise(name), name)
    resolved: dict[str, str | None] = {}
    for name in canonical_columns():
        candidates = [column_map[name]] if name in column_map else list(aliases.get(name, []))
        resolved[name] = next((by_normal[normalise(c)] for c in candidates if normalise(c) in by_normal), None)
    return resolved


def check_columns(path: Path, found: list[str], column_map: dict[str, str], aliases: dict,
                  preset: str | None = None) -> dict[str, str]:
    """The complete mapping, or an error naming every missing column, the closest name in the
    file and the flag that maps it."""
    by_normal = {normalise(name): name for name in found}
    resolved = resolve_columns(found, column_map, aliases)
    problems = []
    for name in canonical_columns():
        if resolved[name] is not None:
            continue
        candidates = [column_map[name]] if name in column_map else list(aliases.get(name, []))
        close = difflib.get_close_matches(
            normalise(candidates[0]) if candidates else name, list(by_normal), n=1, cutoff=0.6)
        hint = f" Did you mean '{by_normal[close[0]]}'?" if close else ""
        problems.append(
            f"  - {name}: none of {', '.join(repr(c) for c in candidates)} is a column.{hint}\n"
            f"    Fix: --column-map {name}='{by_normal[close[0]] if close else '<your column>'}'")
    if problems:
        layout = f" of the {preset} layout (--preset {preset})" if preset else ""
        raise UsageError(
            f"transactions file '{path}' is missing required column(s){layout}:\n" + "\n".join(problems)
            + f"\n  The file has: {', '.join(found)}")
    return {name: column for name, column in resolved.items() if column is not None}


def parse_column_map(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """NAME=COLUMN pairs of --column-map as a mapping."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in canonical_columns() or not value.strip():
            raise UsageError(
                f"--column-map '{pair}': use NAME=COLUMN with NAME one of {', '.join(canonical_columns())}")
        mapping[key] = value
    return mapping


def describe_presets(presets: dict) -> str:
    return "; ".join(f"{name} ({', '.join(preset['columns'][c] for c in ('invoice_no', 'customer_id'))}, ...)"
                     for name, preset in presets.items())


def choose_preset(name: str | None, found: list[str], presets: dict) -> tuple[str | None, bool]:
    """(preset, detected): the preset asked for (refused when unknown, with the list), else the
    first whose every column the header has, spelt exactly; (None, False) when none does."""
    if name:
        if name not in presets:
            raise UsageError(f"--preset '{name}' is not a known layout. Presets (var column_presets of "
                             f"dbt_project.yml): {describe_presets(presets)}. Fix: --preset "
                             f"{' or '.join(presets)}, or map the columns with --column-map NAME=COLUMN.")
        return name, False
    header = set(found)
    for candidate, preset in presets.items():
        if set(preset["columns"].values()) <= header:
            return candidate, True
    return None, False


def refund_marker(preset: dict | None, found: list[str]) -> dict:
    """The preset's refund marker with the file's spelling of its column ({} when the preset has
    none or the file lacks the column)."""
    marker = (preset or {}).get("refund_marker") or {}
    by_normal = {normalise(name): name for name in found}
    column = by_normal.get(normalise(marker.get("column", "")))
    return {"column": column, "values": list(marker["values"])} if column else {}
