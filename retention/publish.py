"""One build at a time per warehouse folder, and the atomic swap that publishes a finished one."""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
import socket
from pathlib import Path

from retention.config import DB_NAME, UsageError
from retention.disk import existing, free_bytes, human, is_no_space
from retention.inputs.files import duckdb_connect


_PROBE = ".retention-write-test"


def _folder_error(folder: Path, exc: OSError) -> UsageError:
    if exc.errno == errno.EROFS:
        mount = existing(folder)
        while mount != mount.parent and mount.parent.stat().st_dev == mount.stat().st_dev:
            mount = mount.parent
        return UsageError(f"the warehouse folder '{folder}' is on a read-only filesystem (mounted at '{mount}'); "
                          "the warehouse there, if any, is untouched and can still be read. Fix: remount it "
                          "read-write, or build into a writable folder with --warehouse-dir DIR.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        why = ("its permissions, or it is immutable (lsattr -d shows i; chattr -i clears it)"
               if exc.errno == errno.EPERM else "its owner or permissions")
        return UsageError(f"the warehouse folder '{folder}' is not writable ({exc.strerror}: {why}); the warehouse "
                          "there, if any, is untouched. Fix: make it writable, or build into another folder with "
                          "--warehouse-dir DIR.")
    if is_no_space(exc):
        return UsageError(f"no space left on the filesystem of the warehouse folder '{folder}' "
                          f"({human(free_bytes(folder))} free); the warehouse there, if any, is untouched. Fix: free "
                          "space there, or build into a folder on another filesystem with --warehouse-dir DIR.")
    return UsageError(f"cannot use the warehouse folder '{folder}': {exc.strerror or exc}. Fix: give "
                      "--warehouse-dir a folder this user can write, or create it first.")


def check_folder(folder: Path) -> None:
    """Create the warehouse folder if needed and make sure a build can write there; raise
    UsageError naming the folder, what is wrong and the fix."""
    folder = Path(folder)
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        what = "is a file" if blocker == folder else f"is inside '{blocker}', which is a file"
        raise UsageError(f"the warehouse folder '{folder}' {what}, not a folder. Fix: give --warehouse-dir a "
                         "folder (it is created if missing), or move the file away.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f"{_PROBE}-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _folder_error(folder, exc) from None
    for name in (DB_NAME, "logs", "dbt_target", "exports", ".build.lock"):
        path = folder / name
        if path.exists() and not os.access(path, os.W_OK):
            raise UsageError(f"'{path}' in the warehouse folder is not writable (its permissions, or it is "
                             "immutable: lsattr shows i, chattr -i clears it). Fix: make it writable, or build "
                             "into another folder with --warehouse-dir DIR.")


def process_started(pid: int) -> dt.datetime | None:
    """When process `pid` started (Linux /proc), or None."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"))


def _lock_holder(handle) -> int | None:
    """The pid holding the flock on `handle`'s file, from /proc/locks (Linux), or None."""
    stat = os.fstat(handle.fileno())
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == device and fields[4].isdigit():
                return int(fields[4]) or None
    except OSError:
        pass
    return None


def _recorded(text: str) -> tuple[int | None, str | None]:
    """(pid, start time) of a lock file's line `pid 123 started 2026-12-01 10:15:00 ...`."""
    pid = re.search(r"pid (\d+)", text)
    started = re.search(r"started (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text)
    return (int(pid.group(1)) if pid else None), (started.group(1) if started else None)


def _since(started: dt.datetime) -> str:
    minutes = max(0, int((dt.datetime.now() - started).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@contextlib.contextmanager
def build_lock(warehouse_dir: Path):
    """One build at a time per warehouse folder (a second one would clobber the first's file).

    The lock is a flock on `.build.lock`, which the holder fills with its pid and start time and
    empties when it is done; the kernel releases the flock when the holder dies, so a line left in
    the file means a build was killed or crashed: the next build takes the lock over and yields a
    note saying so (else None). A live holder is reported with its pid and start time."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield None
        return
    handle = open(warehouse_dir / ".build.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        recorded_pid, recorded_start = _recorded(handle.read())
        pid = _lock_holder(handle) or recorded_pid
        handle.close()
        started = process_started(pid) if pid else None
        when = (f", started {started:%Y-%m-%d %H:%M:%S}, {_since(started)} ago" if started
                else f", started {recorded_start}" if recorded_start else "")
        holder = f"pid {pid}{when}" if pid else "its pid unknown"
        stop = f": kill {pid}" if pid else ""
        raise UsageError(f"another build ({holder}) is writing to '{warehouse_dir}'. Fix: wait for it to finish "
                         f"(or stop it{stop}), or build into another --warehouse-dir.") from None
    handle.seek(0)
    left = handle.read().strip()  # read under the lock: a finished build has emptied it
    note = None
    pid, started = _recorded(left)
    if started:  # the line of a build that never reached its end (earlier versions left "pid N" always)
        note = (f"the build lock of '{warehouse_dir}' was left by pid {pid} (started {started}), which no "
                "longer holds it (killed or crashed): taken over.")
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} started {dt.datetime.now():%Y-%m-%d %H:%M:%S} on {socket.gethostname()}\n")
    handle.flush()
    try:
        yield note
    finally:
        handle.seek(0)
        handle.truncate()  # a clean end: the next build finds the file empty
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def writer_of(db: Path) -> int | None:
    """The pid of a process holding `db` open read-write (a DuckDB write connection holds a write
    lock on the file; read-only ones a read lock), or None."""
    try:
        import fcntl
        import struct
    except ImportError:
        return None
    try:
        fd = os.open(db, os.O_RDONLY)
    except OSError:
        return None
    try:  # F_GETLK: who would stop us taking a read lock? Only a writer.
        query = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        kind, _, _, _, pid = struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, query))
    except OSError:
        return None
    finally:
        os.close(fd)
    return pid if kind != fcntl.F_UNLCK and pid > 0 else None


def publish_atomically(building_db: Path, final_db: Path) -> int | None:
    """Make the finished build the warehouse in one rename; returns the pid of a process that held
    the previous warehouse open read-write (it was replaced all the same), or None.

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
    writer = writer_of(final_db)
    try:
        Path(f"{final_db}.wal").unlink(missing_ok=True)
        os.replace(building_db, final_db)
    except OSError as exc:
        if is_no_space(exc):
            raise
        raise UsageError(f"cannot replace '{final_db}' with the new build '{building_db}': {exc.strerror or exc} "
                         "(is the file immutable? lsattr shows i, chattr -i clears it). The previous warehouse is "
                         "untouched; the new build is kept there. Fix: make the file replaceable, then build "
                         "again.") from exc
    with contextlib.suppress(OSError):
        folder = os.open(final_db.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return writer
