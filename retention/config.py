"""Paths, the project's own rules (read from dbt_project.yml, their one owner) and the options of
a build. Imports nothing from the rest of the package."""
from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
SEEDS = REPO / "seeds"
DEFAULT_WAREHOUSE = REPO / "warehouse"
DB_NAME = "retention.duckdb"
DEFAULT_DEMO_ROWS = 300_000
# The oldest DuckDB that can read a built file (storage_compatibility_version).
STORAGE_VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0")
# DuckDB may otherwise download an extension it decides it needs: nothing is fetched from the
# network at build time (profiles.yml sets the same for dbt's connections).
DUCKDB_CONFIG = {"autoinstall_known_extensions": False}


class UsageError(Exception):
    """A problem the user can fix; the command prints it without a traceback (exit 2)."""


@functools.lru_cache(maxsize=1)
def project_vars() -> dict:
    """The vars of dbt_project.yml: defaults, column aliases, reader options and var_rules."""
    return yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def canonical_columns() -> tuple[str, ...]:
    """The eight input columns, in order (the keys of var column_aliases)."""
    return tuple(project_vars()["column_aliases"])


def date_text(value) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value).strip()


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked a build for (the CLI parses arguments into this, nothing else
    travels down)."""

    transactions: tuple[str, ...] = ()
    warehouse_dir: Path = DEFAULT_WAREHOUSE
    as_of_date: str | None = None
    churn_horizon_days: int | None = None
    snapshot_cadence_days: int | None = None
    snapshot_count: int | None = None
    column_map: tuple[str, ...] = ()
    preset: str | None = None
    date_format: str | None = None
    decimal_separator: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    vars_text: str | None = None
    demo_rows: int = DEFAULT_DEMO_ROWS
    docs: bool = True
    report: bool = True
    skip_ml: bool = False
    threads: int = field(default_factory=lambda: int(os.environ.get("RETENTION_THREADS", os.cpu_count() or 2)))
    memory_limit: str = field(default_factory=lambda: os.environ.get("RETENTION_MEMORY_LIMIT", "8GB"))
    storage_version: str = "v1.4.0"
    temp_dir: Path | None = None
    strict: bool = False
    verbose: bool = False
