"""The dbt docs site of a build, regenerated only when what it shows has changed.

`dbt docs generate --static --no-compile` reuses the SQL the build just compiled (the build's
manifest) and adds the catalog (every relation's columns and types). The site shows nothing
else, so a fingerprint of the two -- the manifest without its timestamps and invocation ids, and
the warehouse's columns from `information_schema` -- tells whether the previous build's site is
still exact. When it is, the site is kept and dbt is not started; the fingerprint sits beside it
in `docs/.fingerprint`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from retention.inputs.files import duckdb_connect

# keys of manifest.json that change from run to run without changing what the site shows
_VOLATILE_KEYS = frozenset({"created_at", "generated_at", "invocation_id", "invocation_started_at"})
FINGERPRINT_NAME = ".fingerprint"


def _without_volatile(value):
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def docs_fingerprint(manifest_path: Path, database: Path) -> str:
    """SHA-256 of the manifest (volatile keys removed) and of every column of ``database``."""
    digest = hashlib.sha256()
    manifest = _without_volatile(json.loads(Path(manifest_path).read_text()))
    digest.update(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    with duckdb_connect(database, read_only=True) as con:
        columns = con.execute(
            "select schema_name, table_name, column_name, column_index, data_type, coalesce(comment, '') "
            "from duckdb_columns() where not internal and database_name = current_database() "
            "order by all").fetchall()
        relations = con.execute(
            "select schema_name, table_name, 'table', coalesce(comment, '') from duckdb_tables() "
            "where not internal and database_name = current_database() union all "
            "select schema_name, view_name, 'view', coalesce(comment, '') from duckdb_views() "
            "where not internal and database_name = current_database() order by all").fetchall()
    digest.update(json.dumps([columns, relations], default=str).encode())
    return digest.hexdigest()


def docs_are_current(docs_dir: Path, fingerprint: str) -> bool:
    """True when ``docs_dir`` holds a site generated from the same fingerprint."""
    stamp = Path(docs_dir) / FINGERPRINT_NAME
    return (Path(docs_dir) / "index.html").is_file() and stamp.is_file() and stamp.read_text().strip() == fingerprint


def write_fingerprint(docs_dir: Path, fingerprint: str) -> None:
    (Path(docs_dir) / FINGERPRINT_NAME).write_text(fingerprint + "\n")
