"""The DuckDB target: the whole job in one file.

The build writes `<warehouse-dir>/retention.duckdb.building` and replaces
`<warehouse-dir>/retention.duckdb` only when every model and test passed, so a failed or killed
build leaves the previous warehouse as it was. The exports, the docs site and the report are
written beside their places (`*.building`) before anything is published, so a failure there
(a full disk) leaves the previous build whole too. The replacement is one atomic rename: a reader
that holds the old file open (a BI tool) keeps reading the old build, and the next connection
opens the new one. Only one build at a time may write to a folder.

When the previous build's input files are an unchanged prefix of this build's, the new file starts
as a copy of the published one and staging appends only the new files' rows
(retention.targets.refresh); the publish is the same.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from retention.config import DB_NAME, DBT_PROJECT, REPO, UsageError
from retention.console import Console
from retention.dbt_runner import FAILING_ROWS_SHOWN, failed_nodes, failure_messages, layer_summaries, run_dbt
from retention.disk import (DiskFull, existing, free_bytes, human, is_no_space, path_in, size_of, space_needed,
                            space_warning)
from retention.inputs.identity import identify
from retention.outputs.docs import FINGERPRINT_NAME, docs_are_current, docs_fingerprint, write_fingerprint
from retention.outputs.exports import ASSIGNMENTS_FILE, build_info, crm_files, stage_exports, swap_exports
from retention.outputs.summary import built_relations, headline, input_report
from retention.publish import model_folder, new_build_id, prune_model_folders, publish_atomically, published_build_id
from retention.targets import PreparedBuild
from retention.targets.input_watch import InputChanged, InputWatch
from retention.targets.refresh import StagingPlan, plan_staging, record_inputs, staging_config, start_from_previous


@dataclass
class BuildResult:
    """What a finished build made, by label (warehouse, docs site, report, CRM lists, log)."""

    warehouse: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def dbt_env(prepared: PreparedBuild, building_db: Path, target_dir: Path, build_id: str) -> dict[str, str]:
    """The environment of the dbt subprocess (profiles.yml reads these; the Python models save the
    fitted models of build `build_id` to RETENTION_MODELS_DIR)."""
    options = prepared.options
    return {
        **os.environ,
        "RETENTION_BUILD_ID": build_id,
        "RETENTION_MODELS_DIR": str(model_folder(prepared.warehouse_dir, build_id)),
        "RETENTION_DUCKDB_PATH": str(building_db),
        "RETENTION_REPO_DIR": str(REPO),
        "RETENTION_DUCKDB_THREADS": str(options.threads),
        "RETENTION_DBT_THREADS": str(options.threads),
        "RETENTION_MEMORY_LIMIT": options.memory_limit.strip(),
        "RETENTION_STORAGE_VERSION": options.storage_version,
        "RETENTION_TEMP_DIR": str(temp_dir(prepared, building_db)),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(target_dir),
        "DBT_LOG_PATH": str(prepared.warehouse_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def temp_dir(prepared: PreparedBuild, building_db: Path) -> Path:
    """Where DuckDB spills past the memory limit: --temp-dir, else DuckDB's own `<file>.tmp`."""
    return Path(prepared.options.temp_dir) if prepared.options.temp_dir else Path(f"{building_db}.tmp")


def _failing_rows(building_db: Path):
    """A failed test's first rows, read from the failed build (kept for inspection)."""
    def rows(sql: str) -> list[dict]:
        try:
            with duckdb.connect(str(building_db), read_only=True) as con:
                cursor = con.execute(f"select * from ({sql}) as failed limit {FAILING_ROWS_SHOWN}")
                names = [column[0] for column in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
        except (duckdb.Error, OSError):  # the message alone still says which test failed
            return []
    return rows


def _explain_failure(exc: UsageError, target_dir: Path, building_db: Path) -> UsageError:
    results = target_dir / "run_results.json"
    messages = failure_messages(results, failing_rows=_failing_rows(building_db) if building_db.exists() else None)
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
                   log_file: Path, console: Console, watch: InputWatch) -> None:
    common = ["--project-dir", str(DBT_PROJECT), "--vars", prepared.vars_json()]
    layers = "staging -> marts" if not prepared.options.skip_ml else "staging -> features, without the models"
    console.step(f"dbt build ({layers}, every data and unit test; --verbose for dbt's own log) ...")
    build_args = ["build", *common] + (["--exclude", "tag:ml"] if prepared.options.skip_ml else [])
    try:
        with _writing("dbt build"):
            prepared.timings["dbt build"] = run_dbt(build_args, env, log_file, console, "dbt build",
                                                    on_result=watch.node_done)
        watch.check()
    except (DiskFull, InputChanged):
        raise
    except UsageError as exc:
        watch.check()  # a torn read is the cause, when there was one
        messages = failure_messages(target_dir / "run_results.json")
        if is_no_space(messages):  # said only in a node's result
            raise DiskFull(messages.splitlines()[0][:300], path_in(messages), "dbt build") from exc
        raise _explain_failure(exc, target_dir, building_db) from exc
    console.step(f"dbt build done in {prepared.timings['dbt build']:.1f}s:")
    for layer in layer_summaries(target_dir):
        built = (f"{layer.models:>3} {'seeds ' if layer.layer == 'seeds' else 'models'} in {layer.seconds:5.1f}s"
                 if layer.models else " " * 20)
        console.detail(f"{layer.layer:<13} {built}   {layer.tests:>4} tests passed")
    if prepared.options.docs:
        with _writing("dbt docs generate"):
            _generate_docs(prepared, common, env, target_dir, building_db, log_file, console)


def _generate_docs(prepared: PreparedBuild, common: list[str], env: dict, target_dir: Path, building_db: Path,
                   log_file: Path, console: Console) -> None:
    """The docs site from the build's own manifest (--no-compile), unless the previous build's site
    shows exactly the same project and columns (retention.outputs.docs)."""
    started = time.monotonic()
    fingerprint = docs_fingerprint(target_dir / "manifest.json", building_db)
    docs_dir = prepared.warehouse_dir / "docs"
    if docs_are_current(docs_dir, fingerprint):
        prepared.docs_fingerprint = None
        prepared.timings["docs (unchanged, kept)"] = time.monotonic() - started
        console.step("dbt docs: the project and the warehouse's columns are those of the previous build's site; kept")
        return
    (target_dir / "static_index.html").unlink(missing_ok=True)
    run_dbt(["docs", "generate", "--static", "--no-compile", *common], env, log_file, console, "dbt docs")
    prepared.docs_fingerprint = fingerprint
    prepared.timings["dbt docs generate"] = time.monotonic() - started


@contextlib.contextmanager
def _writing(what: str):
    """A full disk met while doing `what` becomes DiskFull, wherever the error comes from (Python,
    DuckDB, dbt)."""
    try:
        yield
    except DiskFull as exc:
        exc.stage = exc.stage or what
        raise
    except (OSError, duckdb.Error) as exc:
        if not is_no_space(exc):
            raise
        raise DiskFull(str(exc).splitlines()[0], getattr(exc, "filename", None) or path_in(str(exc)), what) from exc


def _staged(warehouse_dir: Path) -> dict[str, Path]:
    """Where the outputs are written before they are published: {final path name: staged path}."""
    return {"exports": warehouse_dir / "exports.building",
            "docs/index.html": warehouse_dir / "docs" / "index.html.building",
            "report.html": warehouse_dir / "report.html.building"}


def _stage_outputs(prepared: PreparedBuild, building_db: Path, target_dir: Path) -> dict[str, int]:
    """The docs site, exports (Parquet marts, CRM CSV lists) and the HTML report of the finished
    build, written beside their places; returns the rows of each export."""
    warehouse_dir, staged = prepared.warehouse_dir, _staged(prepared.warehouse_dir)
    if prepared.options.docs and prepared.docs_fingerprint:  # regenerated (None: the previous site is exact)
        with _writing("the docs site"):
            staged["docs/index.html"].parent.mkdir(exist_ok=True)
            shutil.copyfile(target_dir / "static_index.html", staged["docs/index.html"])
    started = time.monotonic()
    with _writing("the exports"):
        _, written = stage_exports(building_db, warehouse_dir / "exports",
                                   build_info=build_info(prepared.files + prepared.campaign_files, prepared.dbt_vars))
    prepared.timings["exports"] = time.monotonic() - started
    if prepared.options.report:
        from retention.outputs.report import render_report

        started = time.monotonic()
        with _writing("the report"):
            render_report(building_db, staged["report.html"])
        prepared.timings["report"] = time.monotonic() - started
    return written


def _publish_outputs(prepared: PreparedBuild, written: dict[str, int]) -> dict[str, Path]:
    """Put the staged outputs in place (after the warehouse itself); returns them by label."""
    warehouse_dir, staged = prepared.warehouse_dir, _staged(prepared.warehouse_dir)
    outputs: dict[str, Path] = {}
    if prepared.options.docs:
        docs_dir = warehouse_dir / "docs"
        if prepared.docs_fingerprint:
            (docs_dir / FINGERPRINT_NAME).unlink(missing_ok=True)
            os.replace(staged["docs/index.html"], docs_dir / "index.html")
            write_fingerprint(docs_dir, prepared.docs_fingerprint)
        outputs["docs site"] = docs_dir / "index.html"
    swap_exports(staged["exports"], warehouse_dir / "exports")
    outputs["exports"] = warehouse_dir / "exports"
    for name in crm_files(written):
        outputs[f"CRM list ({written[name]:,} customers)"] = warehouse_dir / "exports" / name
    if ASSIGNMENTS_FILE in written:
        outputs[f"campaign assignments ({written[ASSIGNMENTS_FILE]:,} rows, both groups; read back with "
                "--campaigns)"] = warehouse_dir / "exports" / ASSIGNMENTS_FILE
    if prepared.options.report:
        os.replace(staged["report.html"], warehouse_dir / "report.html")
        outputs["report"] = warehouse_dir / "report.html"
    return outputs


def _partial(prepared: PreparedBuild, building_db: Path) -> list[Path]:
    """What an unfinished build leaves: the new file, its log and temporary files, staged outputs."""
    spill = temp_dir(prepared, building_db)
    return [building_db, Path(f"{building_db}.wal"), *([spill] if spill == Path(f"{building_db}.tmp") else []),
            *_staged(prepared.warehouse_dir).values()]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _no_space(exc: DiskFull, prepared: PreparedBuild, building_db: Path, log_file: Path) -> UsageError:
    """The one message of a full disk: where, how much was free, what the build had written (now
    removed), that the previous warehouse is untouched, and the fix."""
    warehouse_dir, spill = prepared.warehouse_dir, temp_dir(prepared, building_db)
    if exc.path is not None:
        path = exc.path
    elif "max_temp_directory_size" in exc.detail:
        path = spill
    else:  # dbt's own files or its log: the fullest of the places a build writes to (the folder on a tie)
        path = min((warehouse_dir, spill, log_file.parent, warehouse_dir / "dbt_target"), key=free_bytes)
    usage = shutil.disk_usage(existing(path))
    partial = _partial(prepared, building_db)
    written = sum(size_of(p) for p in partial) + size_of(log_file)
    _remove(partial)
    final_db = warehouse_dir / DB_NAME
    previous = (f"The previous warehouse '{final_db}' is untouched" if final_db.exists()
                else "No warehouse was published")
    fix = ("free space there, or give DuckDB's temporary files another place with --temp-dir DIR"
           if path == spill else
           f"free space there (a build of {prepared.checked.total_rows:,} rows needs about "
           f"{human(space_needed(prepared.checked.total_rows, warehouse_dir))}), or build into a folder on "
           "another filesystem with --warehouse-dir DIR (DuckDB's temporary files: --temp-dir DIR)")
    return UsageError(
        f"no space left on the filesystem of '{path}' during {exc.stage or 'the build'} "
        f"({human(usage.free)} free of {human(usage.total)}; {exc.detail.strip()[:200]}). The build had written "
        f"{human(written)}; that partial build is removed. {previous}. Fix: {fix}.")


def _check_space(prepared: PreparedBuild, console: Console) -> None:
    """The space rule of retention.disk: a warning, or with --strict a stop, before any SQL runs."""
    warning = space_warning(prepared.checked.total_rows, prepared.warehouse_dir)
    if warning and prepared.options.strict:
        raise UsageError(f"{warning} (--strict: stopped before the build; the previous warehouse is untouched)")
    if warning:
        console.warn(f"{warning} The build goes on (--strict stops here).")


def _print_rows_and_reasons(console: Console, files: list, reasons: list, rejected: str) -> None:
    """Rows of each file (raw -> kept), then the rejected rows by reason with an example."""
    for name, raw, kept in files:
        console.detail(f"{name:<48} {raw:>12,} -> {kept:,}")
    if reasons:
        console.step(f"{rejected}, by reason:")
        for reason, count, example in reasons:
            console.detail(f"{reason:<24} {count:>12,}   {example}".rstrip())


def _print_inputs(prepared: PreparedBuild, final_db: Path, console: Console) -> None:
    report = input_report(final_db, len(prepared.checked.rows) > 1, prepared.dbt_vars.get("as_of_date") or None)
    console.step("input rows (file: raw -> clean):")
    _print_rows_and_reasons(console, report.files, report.reasons, "rejected rows (staging.stg_transactions_rejected)")
    if report.campaign_files:
        console.step("campaign rows (file: raw -> usable):")
    _print_rows_and_reasons(console, report.campaign_files, report.campaign_reasons,
                            "rejected campaign rows (staging.stg_campaign_assignments_rejected)")
    for later, earlier, count in report.overlaps:
        console.step(f"overlap: {count:,} rows of {later} repeat rows of {earlier}; kept once (rejected as duplicate)")
    for note in report.notes:
        console.step(f"note: {note}")
    for warning in report.warnings:  # staging.input_warnings: shown with the closing warnings
        console.warn(warning, now=False)


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


def _plan_staging(prepared: PreparedBuild, final_db: Path, building_db: Path,
                  console: Console) -> tuple[StagingPlan, dict[str, str]]:
    """Refresh staging from the previous build, or build it in full (retention.targets.refresh);
    says which, and why not a refresh when one was possible in principle."""
    started = time.monotonic()
    dbt_vars, files = prepared.dbt_vars, prepared.read_files or prepared.files
    config = staging_config(dbt_vars, files, prepared.options.storage_version, dbt_vars.get("csv_encoding"),
                            dbt_vars.get("csv_delimiter"))
    plan = plan_staging(final_db, files, prepared.checked.rows, config, prepared.options.full_refresh)
    if plan.refresh:
        with _writing("the copy of the previous warehouse"):
            start_from_previous(final_db, building_db)
        dbt_vars["staging_refresh"] = plan.dbt_var()
        new = ", ".join(Path(p).name for p in plan.new_files[:3]) + (" ..." if len(plan.new_files) > 3 else "")
        console.step(f"staging: refresh: {plan.reused_rows:,} rows of {plan.reused_files} unchanged file"
                     f"{'s' if plan.reused_files != 1 else ''} reused from the previous build, {plan.new_rows:,} rows "
                     f"of {len(plan.new_files)} new file{'s' if len(plan.new_files) != 1 else ''} staged"
                     + (f" ({new})" if new else ""))
    else:
        dbt_vars.pop("staging_refresh", None)
        console.step(f"staging: full build of {prepared.checked.total_rows:,} rows"
                     + (f" (note: {plan.reason})" if plan.reason else ""))
    prepared.timings["staging plan"] = time.monotonic() - started
    return plan, config


def _record_inputs(prepared: PreparedBuild, building_db: Path, watch: InputWatch, plan: StagingPlan,
                   config: dict[str, str]) -> None:
    """staging.input_files and staging.staging_config of the finished build, for the next one. A
    reused file must still be what the plan checked (else its rows are not this build's)."""
    files = prepared.read_files or prepared.files
    identities = [watch.identity(path) or identify(path) for path in files]
    for before, now in zip(plan.checked, identities):
        if (before.size, before.sha256) != (now.size, now.sha256):
            raise InputChanged(f"transactions file '{before.path}' changed after the build checked it for the "
                               "refresh: nothing was published, the previous warehouse is untouched. Fix: run the "
                               "build again.")
    with _writing("the record of the input files"):
        record_inputs(building_db, identities, [prepared.checked.rows[path] for path in files], config)


def build_duckdb(prepared: PreparedBuild, console: Console) -> BuildResult:
    """dbt build into a new file, docs, exports and report beside their places, atomic publish;
    returns what was made."""
    warehouse_dir = prepared.warehouse_dir
    final_db = warehouse_dir / DB_NAME
    building_db = warehouse_dir / f"{DB_NAME}.building"
    # left by a build that failed or was killed (the lock says no build is running now)
    _remove(_partial(prepared, building_db))
    _check_space(prepared, console)
    target_dir = warehouse_dir / "dbt_target"
    (target_dir / "run_results.json").unlink(missing_ok=True)
    log_file = warehouse_dir / "logs" / "build.log"
    previous_id = published_build_id(final_db)
    build_id = new_build_id()
    env = dbt_env(prepared, building_db, target_dir, build_id)
    if prepared.options.temp_dir:
        Path(prepared.options.temp_dir).mkdir(parents=True, exist_ok=True)
    try:
        try:
            plan, config = _plan_staging(prepared, final_db, building_db, console)
            watch = InputWatch(prepared.files)
            with _writing("the build log"):
                log_file.parent.mkdir(exist_ok=True)
                log_file.write_text("")
            _run_dbt_build(prepared, env, target_dir, building_db, log_file, console, watch)
            _record_inputs(prepared, building_db, watch, plan, config)
            written = _stage_outputs(prepared, building_db, target_dir)
            with _writing(f"the publishing of '{final_db}'"):
                writer = publish_atomically(building_db, final_db)
        except DiskFull as exc:
            raise _no_space(exc, prepared, building_db, log_file) from exc
        except InputChanged as exc:
            kept = (f" The partial build is kept for inspection in '{building_db}' (the next build removes it)."
                    if building_db.exists() else "")
            raise InputChanged(f"{exc}{kept}") from exc
    except BaseException:  # this build's models are of no use unpublished
        shutil.rmtree(model_folder(warehouse_dir, build_id), ignore_errors=True)
        raise
    # a server may still be moving from the previous build to this one: keep both folders
    prune_model_folders(warehouse_dir, keep={build_id, previous_id})
    result = BuildResult(final_db, timings=prepared.timings)
    result.outputs.update(_publish_outputs(prepared, written))
    result.outputs["build log"] = log_file
    if writer:
        console.warn(f"pid {writer} had the previous warehouse '{final_db}' open read-write (a DuckDB write "
                     "connection); the new build is published all the same. That process keeps seeing the previous "
                     "build, and what it writes from now on is lost when it disconnects; until then, a write of its "
                     f"leaves '{final_db.name}.wal' beside the new file, which stops other connections from opening "
                     "it. Fix: disconnect it (and reconnect to see the new build).")
    _print_inputs(prepared, final_db, console)
    _print_built(prepared, result, console)
    return result
