"""Refreshing staging: when a build's input files are the previous build's files, unchanged and
in the same order, plus new ones, staging keeps the previous build's staged rows and reads only
the new files.

Every build records, in its warehouse, what it read and how it read it:

- `staging.input_files`: each input file in build order (path, size, modification time, SHA-256,
  rows), as identified before dbt read it (retention.inputs.identity);
- `staging.staging_config`: a SHA-256 of each thing that decides how a raw row is staged: every
  dbt var except those the staging tables never read (STAGING_IGNORES_VARS), the staging
  models and their YAML, the macros, the data tests, the seeds staging reads, dbt_project.yml, the columns and types of the
  files read together, the storage version and the DuckDB, dbt-core and dbt-duckdb versions.

The next build into the same folder refreshes when the recorded files are a prefix of its own
(same path, size and SHA-256, in order) and every recorded configuration item is unchanged;
otherwise it builds in full and says why (the file and what changed, or the items). A refresh
copies the published warehouse to the `.building` file, keeps only the two staging tables
(`base_transaction_lines`, `base_transaction_copies`: dbt incremental models, see
dbt_project/macros/staging_refresh.sql) and lets dbt append the new files' rows; every other
model is rebuilt as in a full build, so the result equals a full build of the same files.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import duckdb
import yaml

from retention.config import DBT_PROJECT, SEEDS, project_vars
from retention.inputs.files import duckdb_connect, reader_sql
from retention.inputs.identity import FileIdentity, identify

# The tables a refresh keeps (dbt incremental models); everything else is rebuilt.
KEPT_TABLES = ("base_transaction_lines", "base_transaction_copies")
STAGING_SCHEMA = "staging"
# Vars that neither staging table reads (tests/unit/test_staging_config.py checks it against the SQL):
# the analysis date, the model, plan and warning parameters, and the refresh's own var. The
# file list (transactions_path) is compared file by file instead.
STAGING_IGNORES_VARS = frozenset({
    "as_of_date", "churn_horizon_days", "snapshot_cadence_days", "snapshot_count", "ml_max_snapshot_rows",
    "churn_recall_target", "segment_count", "gross_margin", "clv_horizon_days", "clv_annual_discount_rate",
    "clv_holdout_days", "high_value_percentile", "plan_scenario", "campaign_max_contacts", "campaign_budget",
    "sensitivity_discounts", "sensitivity_save_rates", "engagement_min_rows", "input_warning_share",
    "input_warning_exempt_reasons", "preflight_warnings", "transactions_path",
    "staging_refresh",
})


@dataclass
class StagingPlan:
    """How this build stages its rows: in full (with the reason, when a refresh was possible in
    principle) or by refreshing (reusing the rows of the first `reused_files` files)."""

    refresh: bool
    reason: str = ""
    reused_files: int = 0
    reused_rows: int = 0
    new_files: list[str] = field(default_factory=list)
    new_rows: int = 0
    # the identities of the reused files as this plan saw them (compared again before publishing)
    checked: list[FileIdentity] = field(default_factory=list)

    def dbt_var(self) -> dict:
        """The var staging_refresh ({} for a full build)."""
        return {"reused_rows": self.reused_rows, "new_files": self.new_files} if self.refresh else {}


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _staging_seeds() -> list[Path]:
    """The seeds the staging models read (ref('name') with seeds/name.csv)."""
    names = set()
    for sql in (DBT_PROJECT / "models" / "staging").rglob("*.sql"):
        names.update(re.findall(r"ref\(\s*'([a-z0-9_]+)'\s*\)", sql.read_text(encoding="utf-8")))
    return sorted(SEEDS / f"{name}.csv" for name in names if (SEEDS / f"{name}.csv").exists())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def staging_config(dbt_vars: dict, read_files: list[Path], storage_version: str,
                   encoding: str | None = None, delimiter: str | None = None) -> dict[str, str]:
    """{item: SHA-256} of everything that decides how a raw row is staged (see the module)."""
    items: dict[str, str] = {}
    merged = {**project_vars(), **dbt_vars}
    for name in sorted(merged):
        if name not in STAGING_IGNORES_VARS:
            items[f"var {name}"] = _sha(json.dumps(merged[name], sort_keys=True, default=str))
    files = [*(path for folder in ("models/staging", "macros", "tests") for path in sorted((DBT_PROJECT / folder).rglob("*"))),
             *_staging_seeds()]
    for path in files:
        if path.is_file():
            items[f"file {path.relative_to(DBT_PROJECT.parent)}"] = _sha(path.read_bytes())
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    project.pop("vars", None)  # the vars are items of their own
    items["file dbt_project/dbt_project.yml (without vars)"] = _sha(json.dumps(project, sort_keys=True, default=str))
    con = duckdb_connect()
    try:
        columns = con.execute(f"describe select * from {reader_sql(read_files, encoding, delimiter)}").fetchall()
    finally:
        con.close()
    items["the input files' columns and types, read together"] = _sha(json.dumps([c[:2] for c in columns]))
    items["storage version"] = _sha(storage_version)
    for package in ("duckdb", "dbt-core", "dbt-duckdb"):
        items[f"{package} version"] = _sha(_version(package))
    return items


@dataclass
class Previous:
    """What the previous build recorded: its files in order and its staging configuration."""

    files: list[tuple[FileIdentity, int]]
    config: dict[str, str]


def read_previous(final_db: Path) -> Previous | str:
    """The previous build's record, or why there is none to refresh from."""
    if not final_db.exists():
        return "no previous warehouse in this folder"
    if Path(f"{final_db}.wal").exists():
        return f"the previous warehouse has a write-ahead log ('{final_db.name}.wal': a process wrote to it)"
    try:
        con = duckdb_connect(str(final_db), read_only=True)
    except duckdb.Error as exc:
        return f"the previous warehouse cannot be opened ({str(exc).splitlines()[0][:200]})"
    try:
        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [STAGING_SCHEMA]).fetchall()}
        if not {"input_files", "staging_config", *KEPT_TABLES} <= tables:
            return "the previous warehouse has no record of its input files (built before refreshes existed)"
        files = [(FileIdentity(path, size, mtime_ns, sha256), rows) for path, size, mtime_ns, sha256, rows in con.execute(
            "select path, size, mtime_ns, sha256, rows from staging.input_files order by file_order").fetchall()]
        config = dict(con.execute("select item, sha256 from staging.staging_config").fetchall())
        lines = con.execute("select count(*), coalesce(max(raw_row_id), 0) from staging.base_transaction_lines").fetchone()
    finally:
        con.close()
    if lines != (sum(rows for _, rows in files),) * 2:
        return (f"the previous warehouse's staged rows ({lines[0]:,}, numbered to {lines[1]:,}) are not the "
                f"{sum(rows for _, rows in files):,} rows its input files had")
    return Previous(files, config)


def _config_changes(before: dict[str, str], now: dict[str, str]) -> list[str]:
    changed = [item for item in now if item in before and before[item] != now[item]]
    changed += [f"{item} (new)" for item in now if item not in before]
    changed += [f"{item} (gone)" for item in before if item not in now]
    return changed


def _file_changes(previous: list[tuple[FileIdentity, int]], paths: list[Path]) -> tuple[str, list[FileIdentity]]:
    """Why the previous files are not an unchanged prefix of `paths` ('' when they are), and the
    identities of the prefix files now."""
    names = [str(p) for p in paths]
    checked: list[FileIdentity] = []
    for order, (old, _) in enumerate(previous):
        if old.path not in names:
            return f"'{old.path}', an input of the previous build, is not among this build's files", checked
        if names.index(old.path) != order:
            return (f"the files are in another order ('{old.path}' was file {order + 1} of the previous build, "
                    f"now {names.index(old.path) + 1})"), checked
        try:
            now = identify(old.path)
        except OSError as exc:
            return f"'{old.path}' cannot be read ({exc.strerror or exc})", checked
        found = []
        if now.size != old.size:
            found.append(f"size {old.size:,} -> {now.size:,} bytes")
        if now.sha256 != old.sha256:
            found.append(f"content (SHA-256) {old.sha256[:12]}... -> {now.sha256[:12]}...")
        if found:
            return f"'{old.path}' changed since the previous build ({'; '.join(found)})", checked
        checked.append(now)
    return "", checked


def plan_staging(final_db: Path, read_files: list[Path], rows: dict[Path, int], config: dict[str, str],
                 full_refresh: bool) -> StagingPlan:
    """Refresh or full build, and why (a full build of a folder without a previous warehouse has
    no reason to give)."""
    if full_refresh:
        return StagingPlan(False, "--full-refresh")
    previous = read_previous(final_db)
    if isinstance(previous, str):
        return StagingPlan(False, "" if previous.startswith("no previous warehouse") else previous)
    changes = _config_changes(previous.config, config)
    if changes:
        shown = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4 else "")
        return StagingPlan(False, f"the staging configuration changed since the previous build: {shown}")
    reason, checked = _file_changes(previous.files, read_files)
    if reason:
        return StagingPlan(False, reason)
    kept = len(previous.files)
    new = read_files[kept:]
    return StagingPlan(True, reused_files=kept, reused_rows=sum(r for _, r in previous.files),
                       new_files=[str(p) for p in new], new_rows=sum(rows[p] for p in new), checked=checked)


def start_from_previous(final_db: Path, building_db: Path) -> None:
    """The new build's file: a copy of the published warehouse with only the kept staging tables."""
    shutil.copyfile(final_db, building_db)
    con = duckdb_connect(str(building_db))
    try:
        relations = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_catalog = current_database()").fetchall()
        for schema, name, kind in relations:
            if schema == STAGING_SCHEMA and name in KEPT_TABLES:
                continue
            what = "view" if kind == "VIEW" else "table"
            con.execute(f'drop {what} if exists "{schema}"."{name}" cascade')
        for (schema,) in con.execute(
                "select schema_name from information_schema.schemata where catalog_name = current_database() "
                "and schema_name not in ('main', 'information_schema', 'pg_catalog', ?)", [STAGING_SCHEMA]).fetchall():
            con.execute(f'drop schema if exists "{schema}" cascade')
        con.execute("checkpoint")
    finally:
        con.close()


def record_inputs(building_db: Path, identities: list[FileIdentity], rows: list[int], config: dict[str, str]) -> None:
    """Write staging.input_files and staging.staging_config into the new build's file."""
    con = duckdb_connect(str(building_db))
    try:
        con.execute(f"create schema if not exists {STAGING_SCHEMA}")
        con.execute("create or replace table staging.input_files (file_order integer, path varchar, size bigint, "
                    "mtime_ns bigint, sha256 varchar, rows bigint)")
        con.executemany("insert into staging.input_files values (?, ?, ?, ?, ?, ?)",
                        [[order, i.path, i.size, i.mtime_ns, i.sha256, r]
                         for order, (i, r) in enumerate(zip(identities, rows), start=1)])
        con.execute("create or replace table staging.staging_config (item varchar, sha256 varchar)")
        con.executemany("insert into staging.staging_config values (?, ?)", sorted(config.items()))
        con.execute("comment on table staging.input_files is 'The input files of this build in order, as identified "
                    "before dbt read them; the next build refreshes staging when these are an unchanged prefix of "
                    "its files (retention/targets/refresh.py).'")
        con.execute("comment on table staging.staging_config is 'A SHA-256 of each thing that decides how a raw row "
                    "is staged; any change makes the next build a full build.'")
        con.execute("checkpoint")
    finally:
        con.close()
