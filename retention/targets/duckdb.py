"""The DuckDB target: the whole job in one file.

The build writes `<warehouse-dir>/retention.duckdb.building` and replaces
`<warehouse-dir>/retention.duckdb` only when every model and test passed, so a failed or killed
build leaves the previous warehouse as it was. The replacement is one atomic rename: a reader
that holds the old file open (a BI tool) keeps reading the old build, and the next connection
opens the new one. Only one build at a time may write to a folder.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from retention.config import DB_NAME, DBT_PROJECT, REPO, UsageError
from retention.console import Console
from retention.dbt_runner import failed_nodes, failure_messages, layer_summaries, run_dbt
from retention.outputs.exports import ASSIGNMENTS_FILE, build_info, crm_files, export_outputs
from retention.outputs.summary import built_relations, headline, input_report
from retention.publish import publish_atomically
from retention.targets import PreparedBuild


@dataclass
class BuildResult:
    """What a finished build made, by label (warehouse, docs site, report, CRM lists, log)."""

    warehouse: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def dbt_env(prepared: PreparedBuild, building_db: Path, target_dir: Path) -> dict[str, str]:
    """The environment of the dbt subprocess (profiles.yml reads these)."""
    options = prepared.options
    return {
        **os.environ,
        "RETENTION_DUCKDB_PATH": str(building_db),
        "RETENTION_REPO_DIR": str(REPO),
        "RETENTION_DUCKDB_THREADS": str(options.threads),
        "RETENTION_DBT_THREADS": str(options.threads),
        "RETENTION_MEMORY_LIMIT": options.memory_limit.strip(),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(target_dir),
        "DBT_LOG_PATH": str(prepared.warehouse_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _explain_failure(exc: UsageError, target_dir: Path, building_db: Path) -> UsageError:
    results = target_dir / "run_results.json"
    messages = failure_messages(results)
    detail = f"\nWhat failed:\n{messages}" if messages else ""
    if building_db.exists():
        detail += (f"\nThe failed build is kept for inspection in '{building_db}' (open it read-only; "
                   "the next build removes it).")
    failed = failed_nodes(results)
    if any(node.startswith("model.retention.") and "_fit" in node for node in failed):
        return UsageError(f"{exc}{detail}\nA Python step failed ({', '.join(failed)}): see its message "
                          "above. To build the SQL warehouse without the models, add --skip-ml.")
    return UsageError(f"{exc}{detail}")


def _run_dbt_build(prepared: PreparedBuild, env: dict, target_dir: Path, building_db: Path,
                   log_file: Path, console: Console) -> None:
    common = ["--project-dir", str(DBT_PROJECT), "--vars", prepared.vars_json()]
    layers = "staging -> marts" if not prepared.options.skip_ml else "staging -> features, without the models"
    console.step(f"dbt build ({layers}, every data and unit test; --verbose for dbt's own log) ...")
    build_args = ["build", *common] + (["--exclude", "tag:ml"] if prepared.options.skip_ml else [])
    try:
        prepared.timings["dbt build"] = run_dbt(build_args, env, log_file, console, "dbt build")
    except UsageError as exc:
        raise _explain_failure(exc, target_dir, building_db) from exc
    console.step(f"dbt build done in {prepared.timings['dbt build']:.1f}s:")
    for layer in layer_summaries(target_dir):
        built = (f"{layer.models:>3} {'seeds ' if layer.layer == 'seeds' else 'models'} in {layer.seconds:5.1f}s"
                 if layer.models else " " * 20)
        console.detail(f"{layer.layer:<13} {built}   {layer.tests:>4} tests passed")
    if prepared.options.docs:
        prepared.timings["dbt docs generate"] = run_dbt(["docs", "generate", "--static", *common], env, log_file,
                                                        console, "dbt docs")


def _publish_outputs(prepared: PreparedBuild, final_db: Path, console: Console) -> dict[str, Path]:
    """Exports (Parquet marts, CRM CSV lists) and the HTML report, from the published build."""
    warehouse_dir = prepared.warehouse_dir
    outputs: dict[str, Path] = {}
    started = time.monotonic()
    info = build_info(prepared.files + prepared.campaign_files, prepared.dbt_vars)
    written = export_outputs(final_db, warehouse_dir / "exports", build_info=info)
    prepared.timings["exports"] = time.monotonic() - started
    outputs["exports"] = warehouse_dir / "exports"
    for name in crm_files(written):
        outputs[f"CRM list ({written[name]:,} customers)"] = warehouse_dir / "exports" / name
    if ASSIGNMENTS_FILE in written:
        outputs[f"campaign assignments ({written[ASSIGNMENTS_FILE]:,} rows, both groups; read back with "
                "--campaigns)"] = warehouse_dir / "exports" / ASSIGNMENTS_FILE
    if prepared.options.report:
        from retention.outputs.report import render_report

        started = time.monotonic()
        outputs["report"] = render_report(final_db, warehouse_dir / "report.html")
        prepared.timings["report"] = time.monotonic() - started
    return outputs


def _print_inputs(prepared: PreparedBuild, final_db: Path, console: Console) -> None:
    report = input_report(final_db, len(prepared.files) > 1, prepared.dbt_vars.get("as_of_date") or None)
    console.step("input rows (file: raw -> clean):")
    for name, raw, clean in report.files:
        console.detail(f"{name:<48} {raw:>12,} -> {clean:,}")
    if report.reasons:
        console.step("rejected rows (staging.stg_transactions_rejected), by reason:")
        for reason, count, example in report.reasons:
            console.detail(f"{reason:<24} {count:>12,}   {example}".rstrip())
    if report.campaign_files:
        console.step("campaign rows (file: raw -> usable):")
        for name, raw, clean in report.campaign_files:
            console.detail(f"{name:<48} {raw:>12,} -> {clean:,}")
    if report.campaign_reasons:
        console.step("rejected campaign rows (staging.stg_campaign_assignments_rejected), by reason:")
        for reason, count, example in report.campaign_reasons:
            console.detail(f"{reason:<24} {count:>12,}   {example}")
    for later, earlier, count in report.overlaps:
        console.step(f"overlap: {count:,} rows of {later} repeat rows of {earlier}; kept once (rejected as duplicate)")
    for note in report.notes:
        console.step(f"note: {note}")


def _print_built(prepared: PreparedBuild, result: BuildResult, console: Console) -> None:
    relations = built_relations(result.warehouse)
    by_schema: dict[str, int] = {}
    for schema, table, count, is_view in relations:
        by_schema[schema] = by_schema.get(schema, 0) + 1
        if console.verbose and schema != "reference":
            console.detail(f"{schema + '.' + table:<48} {count:>12,}{'  (view)' if is_view else ''}")
    for line in headline(result.warehouse):
        console.step(line)
    console.step(f"warehouse: {result.warehouse} ("
                 + ", ".join(f"{schema} {n}" for schema, n in sorted(by_schema.items())) + " tables and views)")
    for label, path in result.outputs.items():
        console.step(f"{label}: {path}")
    console.step("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
                 + f", total {time.monotonic() - prepared.started:.1f}s")


def build_duckdb(prepared: PreparedBuild, console: Console) -> BuildResult:
    """dbt build into a new file, docs, atomic publish, exports and report; returns what was made."""
    warehouse_dir = prepared.warehouse_dir
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
    env = dbt_env(prepared, building_db, target_dir)
    _run_dbt_build(prepared, env, target_dir, building_db, log_file, console)

    publish_atomically(building_db, final_db)
    result = BuildResult(final_db, timings=prepared.timings)
    if prepared.options.docs:
        docs_dir = warehouse_dir / "docs"
        docs_dir.mkdir(exist_ok=True)
        shutil.copyfile(target_dir / "static_index.html", docs_dir / "index.html")
        result.outputs["docs site"] = docs_dir / "index.html"
    result.outputs.update(_publish_outputs(prepared, final_db, console))
    result.outputs["build log"] = log_file
    _print_inputs(prepared, final_db, console)
    _print_built(prepared, result, console)
    return result
