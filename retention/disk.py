"""Disk space: what a build needs, what is free, and the message a full disk gets.

The space rule (the README's "Disk space"): a build needs, free on the filesystem of the warehouse
folder, the larger of

- 40 MB + 80 bytes per input row (measured: the new DuckDB file takes 49 bytes per row at 10M
  rows and had reached 60 at 100M, the exports 6, the write-ahead log and the ML steps' temporary
  files some more; dbt's artifacts, logs and the docs site about 35 MB at any size), and
- 1.25 x what the previous build's outputs take (retention.duckdb, exports/, docs/,
  report.html), since the previous warehouse stays in place until the new one replaces it.

DuckDB's temporary files (spilling past --memory-limit) come on top and are not estimated.
Imports nothing from the rest of the package but the config.
"""
from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

from retention.config import UsageError

FIXED_BYTES = 40_000_000
BYTES_PER_ROW = 80
PREVIOUS_MARGIN = 1.25
OUTPUTS = ("retention.duckdb", "exports", "docs", "report.html")
_NO_SPACE_TEXT = ("no space left on device", "disk quota exceeded", "max_temp_directory_size")


class DiskFull(UsageError):
    """A write failed for want of space: `path` is what was being written (when known), `stage`
    what the build was doing."""

    def __init__(self, detail: str, path: str | Path | None = None, stage: str | None = None):
        super().__init__(f"no space left on device{f' writing {path}' if path else ''}: {detail}")
        self.detail = detail
        self.path = Path(path) if path else None
        self.stage = stage


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return ""


def existing(path: Path) -> Path:
    """`path`, or its nearest ancestor that exists (whose filesystem a new path would be on)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(existing(path)).free


def size_of(path: Path) -> int:
    """Bytes taken by a file or everything below a folder (0 when absent)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    total = 0
    for item in path.rglob("*"):
        try:
            total += item.stat().st_size if item.is_file() else 0
        except OSError:
            continue
    return total


def is_no_space(error: BaseException | str) -> bool:
    """Whether an exception (or an error text, as dbt prints it) says a disk or quota is full."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "[errno 28]" in text or any(marker in text for marker in _NO_SPACE_TEXT)


def path_in(text: str) -> str | None:
    """The file an error text names (DuckDB: `Could not write file "/x/y": No space left ...`)."""
    match = re.search(r'"(/[^"]+)"', text) or re.search(r"'(/[^']+)'", text)
    return match.group(1) if match else None


def space_needed(input_rows: int, warehouse_dir: Path) -> int:
    """The space rule above, in bytes."""
    previous = sum(size_of(Path(warehouse_dir) / name) for name in OUTPUTS)
    return int(max(FIXED_BYTES + BYTES_PER_ROW * input_rows, PREVIOUS_MARGIN * previous))


def space_warning(input_rows: int, warehouse_dir: Path) -> str | None:
    """A sentence when the warehouse folder's filesystem has less free space than the rule
    asks for, else None."""
    needed, free = space_needed(input_rows, warehouse_dir), free_bytes(warehouse_dir)
    if free >= needed:
        return None
    return (f"only {human(free)} free on the filesystem of '{warehouse_dir}', and a build of {input_rows:,} rows "
            f"needs about {human(needed)} (40 MB + 80 bytes per input row, or 1.25 x the previous build's outputs, "
            "whichever is larger). Fix: free space there, or build into a folder on another filesystem with "
            "--warehouse-dir DIR.")
