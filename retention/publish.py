"""One build at a time per warehouse folder, the atomic swap that publishes a finished one, and
the folders of the models each build saved (models/<build_id>/, named in ml.model_artifacts)."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
from pathlib import Path

from retention.config import UsageError
from retention.inputs.files import duckdb_connect


@contextlib.contextmanager
def build_lock(warehouse_dir: Path):
    """One build at a time per warehouse folder (a second one would clobber the first's file)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    handle = open(warehouse_dir / ".build.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UsageError(f"another build ({holder}) is writing to '{warehouse_dir}'. Fix: wait for it "
                         "to finish, or build into another --warehouse-dir.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def publish_atomically(building_db: Path, final_db: Path) -> None:
    """Make the finished build the warehouse in one rename.

    The build is checkpointed first (no write-ahead log may travel separately from the file), a
    stale log of the old file is removed, then os.replace swaps the directory entry: readers
    holding the old file keep their (old) inode, new readers get the new one.
    """
    con = duckdb_connect(str(building_db))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if Path(f"{building_db}.wal").exists():
        raise UsageError(f"the finished build '{building_db}' still has a write-ahead log; not published. "
                         "Fix: run the build again.")
    Path(f"{final_db}.wal").unlink(missing_ok=True)
    os.replace(building_db, final_db)
    with contextlib.suppress(OSError):
        folder = os.open(final_db.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


MODELS_DIR = "models"
_BUILD_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")


def new_build_id() -> str:
    """UTC time of the build and a random suffix, e.g. 20261201T101500Z-3fa9c2e1."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def is_build_id(text: str) -> bool:
    return bool(_BUILD_ID.fullmatch(text or ""))


def model_folder(warehouse_dir: Path, build_id: str) -> Path:
    """Where build `build_id` saves its models (the server reads them from there)."""
    if not is_build_id(build_id):
        raise UsageError(f"'{build_id}' is not a build id (like 20261201T101500Z-3fa9c2e1).")
    return Path(warehouse_dir) / MODELS_DIR / build_id


def published_build_id(db: Path) -> str | None:
    """The build id recorded in a published warehouse (ml.model_artifacts), or None."""
    if not db.exists():
        return None
    try:
        con = duckdb_connect(str(db), read_only=True)
    except Exception:  # an unreadable old file: nothing to keep
        return None
    try:
        row = con.execute("select any_value(build_id) from ml.model_artifacts").fetchone()
    except Exception:  # built before models were saved, or with --skip-ml
        return None
    finally:
        con.close()
    return row[0] if row and row[0] else None


def prune_model_folders(warehouse_dir: Path, keep: set) -> None:
    """Remove the model folders of builds other than those in `keep`."""
    root = Path(warehouse_dir) / MODELS_DIR
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.is_dir() and is_build_id(folder.name) and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
