"""Faults a nightly job meets, each reproduced for real (issue 18):

- the disk is too small, or fills up during the build (a small tmpfs; its logs on a full one;
  filled by another writer while the docs site is made);
- an input file that an exporter appends to while staging reads it;
- a warehouse folder the build cannot use (a read-only mount, an immutable folder, a file);
- a build lock left by a process that died, and one held by a live build;
- another process holding the published file read-write.

Every case asserts the message and the exit code, that the previous warehouse is untouched (the
same bytes, the same answers) and that no dbt process of the build is left. Mounting needs root
on Linux; elsewhere those cases are skipped with the reason.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from helpers import CANONICAL_HEADER, HAND_ROWS, REPO, run_build, write_csv

MORE_ROWS = HAND_ROWS + [["1012", "A1", "MUG", "3", "2024-03-07 08:00:00", "3.50", "300", "Spain"]]
ANSWERS = {
    "clean rows": "select count(*) from staging.stg_transactions",
    "rejected rows": "select count(*) from staging.stg_transactions_rejected",
    "customers": "select string_agg(customer_id::varchar, ',' order by customer_id) from features.customer_rfm",
    "revenue": "select round(sum(monetary), 2) from features.customer_rfm",
}
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc, mounts and flock (Linux)")


def answers(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.execute(sql).fetchone()[0] for name, sql in ANSWERS.items()}
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def previous(hand_shop_db):
    """The warehouse every case starts from: the hand-worked shop (7 clean rows), SQL layers only
    (tests/conftest.py). Every case works on a copy of it (place_previous)."""
    db = hand_shop_db
    found = answers(db)
    assert found["clean rows"] == 7
    return {"db": db, "answers": found, "digest": digest(db)}


@pytest.fixture
def more_rows(tmp_path) -> Path:
    """The next night's input: one more order, so a published rebuild is visibly different."""
    return write_csv(tmp_path / "more.csv", CANONICAL_HEADER, MORE_ROWS)


def place_previous(previous, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(previous["db"], folder / "retention.duckdb")
    return folder / "retention.duckdb"


def assert_untouched(previous, db: Path) -> None:
    assert digest(db) == previous["digest"]
    assert answers(db) == previous["answers"]


def dbt_processes(folder: Path) -> list[int]:
    """Live processes whose environment builds into `folder` (the dbt children of a build)."""
    marker = f"RETENTION_DUCKDB_PATH={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(item.startswith(marker) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def assert_no_dbt_left(folder: Path) -> None:
    deadline = time.monotonic() + 10
    while dbt_processes(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dbt_processes(folder) == []


def build_command(source: Path, folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "retention", "build", "--transactions", str(source), "--warehouse-dir",
            str(folder), "--skip-ml", "--no-report", *args]


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- small filesystems -------------------------------------------------------------------------

def _cannot_mount() -> str | None:
    if os.geteuid() != 0:
        return f"mounting a small tmpfs needs root (running as uid {os.geteuid()})"
    return None


@contextlib.contextmanager
def small_filesystem(where: Path, size: str, *options: str):
    """A tmpfs of `size` mounted at `where` for the duration (skips the test if it cannot be)."""
    reason = _cannot_mount()
    if reason:
        pytest.skip(reason)
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs",
                              str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {where}: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(mount: Path, leave: int = 0) -> Path:
    """Take the filesystem's free space, all but `leave` bytes, with one file."""
    filler = mount / "filler"
    with open(filler, "ab", buffering=0) as handle:
        free = shutil.disk_usage(mount).free - leave
        if free > 0:
            os.posix_fallocate(handle.fileno(), handle.seek(0, os.SEEK_END), free)
        with contextlib.suppress(OSError):
            while leave == 0:
                handle.write(b"\0" * 4096)
    return filler


def assert_no_space_message(stderr: str, where: Path, previous_db: Path | None) -> str:
    print(stderr)                                                # shown with pytest -rA
    message = one_line(stderr)
    assert "Traceback" not in stderr
    assert message.startswith("error: no space left on the filesystem of '"), message
    assert f"'{where}" in message                                   # the path that ran out
    assert re.search(r"\(\d[\d,.]* (B|KB|MB) free of \d[\d,.]* (KB|MB)", message), message
    assert re.search(r"The build had written \d[\d,.]* (B|KB|MB); that partial build is removed", message), message
    if previous_db is not None:
        assert f"The previous warehouse '{previous_db}' is untouched" in message
    assert "Fix: free space there" in message and "--warehouse-dir DIR" in message
    return message


def test_too_little_space_warns_stops_with_strict_and_otherwise_ends_in_one_message(previous, more_rows, tmp_path):
    with small_filesystem(tmp_path / "small", "48m") as mount:
        folder = mount / "wh"
        db = place_previous(previous, folder)
        fill(mount, leave=20_000_000)                              # below the rule's 40 MB
        strict = subprocess.run(build_command(more_rows, folder, "--strict"), cwd=REPO, capture_output=True, text=True)
        assert strict.returncode == 2, strict.stdout + strict.stderr
        print(strict.stderr)
        assert one_line(strict.stderr) == one_line(
            f"error: only 20.0 MB free on the filesystem of '{folder}', and a build of 16 rows needs about 40.0 MB "
            "(40 MB + 80 bytes per input row, or 1.25 x the previous build's outputs, whichever is larger). Fix: "
            "free space there, or build into a folder on another filesystem with --warehouse-dir DIR. (--strict: "
            "stopped before the build; the previous warehouse is untouched)")
        assert not (folder / "retention.duckdb.building").exists() and not (folder / "dbt_target").exists()

        went_on = subprocess.run(build_command(more_rows, folder), cwd=REPO, capture_output=True, text=True)
        assert went_on.returncode == 2, went_on.stdout + went_on.stderr
        assert "WARNING: only 20.0 MB free" in went_on.stdout
        assert "The build goes on (--strict stops here)." in went_on.stdout
        assert_no_space_message(went_on.stderr, mount, db)
        assert [p.name for p in folder.glob("retention.duckdb*")] == ["retention.duckdb"]  # no .building, no .wal
        assert_no_dbt_left(folder)
        assert_untouched(previous, db)


def test_a_full_log_filesystem_ends_the_build_with_one_message(previous, more_rows, tmp_path):
    folder = tmp_path / "wh"
    db = place_previous(previous, folder)
    with small_filesystem(folder / "logs", "64k") as logs:
        fill(logs)
        proc = subprocess.run(build_command(more_rows, folder, "--no-docs"), cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert_no_space_message(proc.stderr, logs, db)
        assert "during dbt build" in one_line(proc.stderr)
        assert not (folder / "retention.duckdb.building").exists()
        assert_no_dbt_left(folder)
    assert_untouched(previous, db)


def test_a_disk_filled_by_another_writer_after_dbt_leaves_the_previous_warehouse_whole(previous, more_rows,
                                                                                        tmp_path):
    """The disk fills once the dbt build is done, while the docs site is made: nothing is published."""
    with small_filesystem(tmp_path / "small", "96m") as mount:
        folder = mount / "wh"
        db = place_previous(previous, folder)
        build = subprocess.Popen(build_command(more_rows, folder), cwd=REPO, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        out = []
        for line in build.stdout:
            out.append(line)
            if "dbt build done in" in line:                      # hold the build, fill the disk, go on
                os.kill(build.pid, signal.SIGSTOP)
                try:
                    fill(mount)
                finally:
                    os.kill(build.pid, signal.SIGCONT)
        stderr = build.stderr.read()
        assert build.wait() == 2, "".join(out) + stderr
        message = assert_no_space_message(stderr, mount, db)
        assert "during dbt docs generate" in message or "during the docs site" in message
        assert not (folder / "retention.duckdb.building").exists() and not (folder / "docs" / "index.html").exists()
        assert_no_dbt_left(folder)
        assert_untouched(previous, db)


def test_exports_on_a_full_disk_stop_with_the_path_of_the_export(tmp_path):
    """DuckDB's COPY into a full filesystem: the error the build turns into its message."""
    from retention.disk import DiskFull
    from retention.outputs.exports import stage_exports
    from retention.targets.duckdb import _writing

    db = tmp_path / "finished.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute("create table marts.big as select range as id, md5(range::varchar) as text from range(200000)")
    con.close()
    with small_filesystem(tmp_path / "small", "1m") as mount:
        with pytest.raises(DiskFull) as raised, _writing("the exports"):
            stage_exports(db, mount / "exports")
    assert raised.value.stage == "the exports"
    assert str(raised.value.path).startswith(str(mount / "exports.building"))


# --- an input that changes while it is read ---------------------------------------------------

def test_an_input_appended_to_while_staging_reads_it_stops_the_build_before_publishing(previous, tmp_path):
    folder = tmp_path / "wh"
    db = place_previous(previous, folder)
    source = write_csv(tmp_path / "export.csv", CANONICAL_HEADER, MORE_ROWS)
    stop = threading.Event()

    def exporter_still_writing():                                # one whole line at a time
        number = 2000
        handle = os.open(source, os.O_WRONLY | os.O_APPEND)
        try:
            while not stop.wait(0.05):
                number += 1
                os.write(handle, f"{number},A1,MUG,1,2024-03-07 09:00:00,3.50,300,Spain\r\n".encode())
        finally:
            os.close(handle)

    writer = threading.Thread(target=exporter_still_writing)
    writer.start()
    try:
        proc = subprocess.run(build_command(source, folder, "--no-docs"), cwd=REPO, capture_output=True, text=True)
    finally:
        stop.set()
        writer.join()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    print(proc.stderr)
    message = one_line(proc.stderr)
    assert message.startswith(f"error: transactions file '{source}' (size "), message
    assert "modified" in message and "changed while the build was reading it" in message
    assert "nothing was published, the previous warehouse is untouched. Fix: build once the file is complete" in message
    assert f"The partial build is kept for inspection in '{folder / 'retention.duckdb.building'}'" in message
    assert "Traceback" not in proc.stderr
    assert_no_dbt_left(folder)
    assert_untouched(previous, db)


# --- a warehouse folder the build cannot use ----------------------------------------------------

@contextlib.contextmanager
def read_only_mount(folder: Path, previous):
    with small_filesystem(folder.parent / "ro", "16m") as mount:
        db = place_previous(previous, mount / "wh")
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True, text=True)
        if remounted.returncode != 0:
            pytest.skip(f"cannot remount {mount} read-only: {remounted.stderr.strip()}")
        yield mount / "wh", db, (f"error: the warehouse folder '{mount / 'wh'}' is on a read-only filesystem "
                                 f"(mounted at '{mount}'); the warehouse there, if any, is untouched and can still "
                                 "be read. Fix: remount it read-write, or build into a writable folder with "
                                 "--warehouse-dir DIR.")


@contextlib.contextmanager
def immutable_folder(folder: Path, previous):
    """chattr +i: not even root may create a file in the folder."""
    db = place_previous(previous, folder)
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make {folder} immutable: {made.stderr.strip() or 'chattr failed'}")
    try:
        yield folder, db, (f"error: the warehouse folder '{folder}' is not writable (Operation not permitted: its "
                           "permissions, or it is immutable (lsattr -d shows i; chattr -i clears it)); the warehouse "
                           "there, if any, is untouched. Fix: make it writable, or build into another folder with "
                           "--warehouse-dir DIR.")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


@contextlib.contextmanager
def a_file(folder: Path, previous):
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(previous["db"], folder)                      # the warehouse file given as the folder
    yield folder, folder, (f"error: the warehouse folder '{folder}' is a file, not a folder. Fix: give "
                           "--warehouse-dir a folder (it is created if missing), or move the file away.")


@pytest.mark.parametrize("unusable", [read_only_mount, immutable_folder, a_file])
def test_a_warehouse_folder_the_build_cannot_use_is_refused_with_the_reason(unusable, previous, more_rows, tmp_path):
    with unusable(tmp_path / "wh", previous) as (folder, db, expected):
        proc = run_build(more_rows, folder, "--skip-ml", check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        print(proc.stderr)
        assert one_line(proc.stderr) == one_line(expected)
        assert_no_dbt_left(folder)
        assert_untouched(previous, db)


# --- the build lock -----------------------------------------------------------------------------

HOLD_THE_LOCK = """
import os, signal, sys
from pathlib import Path
from retention.publish import build_lock
lock = build_lock(Path(sys.argv[1]))
lock.__enter__()
print("holding", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.readline()
"""


def test_a_lock_left_by_a_build_that_died_is_taken_over_with_a_note(previous, more_rows, tmp_path):
    folder = tmp_path / "wh"
    place_previous(previous, folder)
    holder = subprocess.run([sys.executable, "-c", HOLD_THE_LOCK, str(folder), "die"], cwd=REPO,
                            capture_output=True, text=True)
    assert holder.returncode == -signal.SIGKILL and holder.stdout.strip() == "holding"
    left = (folder / ".build.lock").read_text()
    pid, started = re.match(r"pid (\d+) started (\S+ \S+)", left).groups()
    proc = run_build(more_rows, folder, "--skip-ml", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(proc.stdout)
    assert (f"[retention] note: the build lock of '{folder}' was left by pid {pid} (started {started}), which no "
            "longer holds it (killed or crashed): taken over.") in proc.stdout
    assert answers(folder / "retention.duckdb")["clean rows"] == 8      # the new build is published
    assert (folder / ".build.lock").read_text() == ""                # emptied at a clean end
    assert_no_dbt_left(folder)


def test_a_live_build_holding_the_lock_is_reported_with_its_pid_and_start_time(previous, more_rows, tmp_path):
    from retention.publish import process_started

    folder = tmp_path / "wh"
    db = place_previous(previous, folder)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(folder), "live"], cwd=REPO,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        proc = run_build(more_rows, folder, "--skip-ml", check=False)
        started = process_started(holder.pid)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    print(proc.stderr)
    assert started is not None
    assert one_line(proc.stderr) == (
        f"error: another build (pid {holder.pid}, started {started:%Y-%m-%d %H:%M:%S}, 0 min ago) is writing to "
        f"'{folder}'. Fix: wait for it to finish (or stop it: kill {holder.pid}), or build into another "
        "--warehouse-dir.")
    assert_no_dbt_left(folder)
    assert_untouched(previous, db)


# --- another process holding the published file read-write ------------------------------------

ANALYST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])                               # read-write, as the DuckDB CLI opens it
for line in sys.stdin:
    command = line.strip()
    if command == "count":
        print(con.execute("select count(*) from staging.stg_transactions").fetchone()[0], flush=True)
    elif command == "write":
        con.execute("create table main.analyst_notes as select 1 as note")
        print("written", flush=True)
    elif command == "close":
        con.close()
        print("closed", flush=True)
        break
"""


def ask(process: subprocess.Popen, command: str) -> str:
    process.stdin.write(command + "\n")
    process.stdin.flush()
    return process.stdout.readline().strip()


def fresh_count(db: Path) -> subprocess.CompletedProcess:
    """A new connection from another process (a BI tool reconnecting)."""
    return subprocess.run([sys.executable, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                           ".execute('select count(*) from staging.stg_transactions').fetchone()[0])", str(db)],
                          capture_output=True, text=True)


def test_a_process_holding_the_warehouse_read_write_does_not_stop_the_publish(previous, more_rows, tmp_path):
    folder = tmp_path / "wh"
    db = place_previous(previous, folder)
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(db)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert ask(analyst, "count") == "7"
        proc = run_build(more_rows, folder, "--skip-ml", check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(proc.stdout)
        warning = one_line(proc.stdout)
        assert (f"WARNING: pid {analyst.pid} had the previous warehouse '{db}' open read-write (a DuckDB write "
                "connection); the new build is published all the same.") in warning
        assert fresh_count(db).stdout.strip() == "8"               # a new connection sees the new build
        assert ask(analyst, "count") == "7"                        # the analyst keeps the previous one
        assert_no_dbt_left(folder)
        # what the README says: a write after the swap leaves a log that blocks the new file until
        # that process disconnects; then the new build opens as published
        assert ask(analyst, "write") == "written"
        blocked = fresh_count(db)
        assert blocked.returncode != 0 and "WAL does not match database file" in blocked.stderr
        assert ask(analyst, "close") == "closed"
    finally:
        analyst.kill()
        analyst.wait()
    assert fresh_count(db).stdout.strip() == "8"                   # its write went to the replaced file
    assert not Path(f"{db}.wal").exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select count(*) from information_schema.tables where table_name = 'analyst_notes'"
                           ).fetchone()[0] == 0
    finally:
        con.close()
