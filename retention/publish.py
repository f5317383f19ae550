"""One build at a time per warehouse folder, and the atomic swap that publishes a finished one."""
from __future__ import annotations

import contextlib
import os
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
