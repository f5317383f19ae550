"""Where a build runs: DuckDB (the whole job in one file) or Spark (the same dbt project on a
Spark session). Both start from the same prepared inputs."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from retention.config import BuildOptions, date_text
from retention.console import Console
from retention.inputs.files import resolve_inputs
from retention.inputs.preflight import Preflight, expand_workbooks, preflight
from retention.inputs.vars import build_vars


@dataclass
class PreparedBuild:
    """The files, dbt vars and preflight of a build, before any SQL runs."""

    options: BuildOptions
    files: list[Path]
    dbt_vars: dict
    checked: Preflight
    started: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)
    # the docs site's fingerprint when this build regenerated it (retention.outputs.docs)
    docs_fingerprint: str | None = None
    # what dbt reads: the files, with a workbook's sheets replaced by their cached Parquet files
    read_files: list[Path] = field(default_factory=list)

    @property
    def warehouse_dir(self) -> Path:
        return Path(self.options.warehouse_dir)

    def vars_json(self) -> str:
        import json

        return json.dumps(self.dbt_vars, default=date_text)


def demo_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / "demo" / "transactions.parquet"


def ensure_demo_data(path: Path, rows: int, console: Console) -> None:
    if path.exists():
        console.step(f"demo data: {path} (exists; delete it to regenerate)")
        return
    from retention.demo import generate

    console.step(f"generating {rows:,} demo transactions -> {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = generate(str(path), rows=rows)
    console.step(f"demo data ready: {summary.get('rows', rows):,} rows in {summary.get('seconds', 0):.1f}s")


def prepare(options: BuildOptions, console: Console) -> PreparedBuild:
    """Input files (given, or the demo data, generated when missing), vars and the preflight:
    workbooks read into the cache, columns resolved, the date and number conventions read from
    the data; what it decided goes to dbt as vars, what it noticed to the console."""
    started = time.monotonic()
    given = list(options.transactions) or ([os.environ["TRANSACTIONS"]] if os.environ.get("TRANSACTIONS") else [])
    if given:
        files = resolve_inputs(given)
    else:
        files = [demo_path(Path(options.warehouse_dir))]
        ensure_demo_data(files[0], options.demo_rows, console)
    dbt_vars = build_vars(options, files)
    inputs = expand_workbooks(files, Path(options.warehouse_dir) / "cache", dbt_vars)
    for note in inputs.notes:
        console.step(note)
    checked = preflight(inputs.files, dbt_vars, inputs.names)
    # dbt maps the columns exactly as the preflight resolved them (one resolution, not two)
    dbt_vars.update(checked.dbt_vars)
    dbt_vars["column_map"] = dict(checked.columns)
    if inputs.names:
        dbt_vars["transactions_path"] = [str(p) for p in inputs.files]
        dbt_vars["source_file_names"] = dict(inputs.names)
    if checked.warnings:
        dbt_vars["preflight_warnings"] = list(checked.warnings)
    prepared = PreparedBuild(options, files, dbt_vars, checked, started, read_files=list(inputs.files))
    prepared.timings["preflight"] = time.monotonic() - started
    shown = ", ".join(str(p) for p in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    console.step(f"input: {shown} ({checked.total_rows:,} rows; checked in {prepared.timings['preflight']:.1f}s)")
    for note in checked.notes:
        console.step(note)
    for warning in checked.warnings:
        console.warn(warning)
    return prepared
