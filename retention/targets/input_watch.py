"""The input files must not change while a build reads them (an exporter still writing, a file
replaced under the same name): nothing is published from a torn read.

The size and modification time of every file are read before dbt starts; their content is hashed
in a background thread while dbt starts up. When staging has read the files (the model
`base_transaction_lines`), they are identified again in the background while the next models
run; a difference ends dbt at the next finished node, and `check()` (before anything is
published) raises it. The hashing overlaps dbt's own work, so it adds next to nothing to the
build's time.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from retention.config import UsageError
from retention.inputs.identity import FileIdentity, differences, identify

STAGING_READS = "model.retention.base_transaction_lines"  # the one model that reads the files


class InputChanged(UsageError):
    """A transactions file differed between the start of the build and the end of staging."""


class _Background:
    """A function run in a daemon thread (an interrupted build does not wait for a hash)."""

    def __init__(self, function, *args):
        self._result, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(function, *args), daemon=True,
                                        name="input-identity")
        self._thread.start()

    def _run(self, function, *args):
        try:
            self._result = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller of result()
            self._error = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def _identities(files: list[Path], first: _Background | None = None) -> dict[Path, FileIdentity | str]:
    """Each file's identity, or why it has none (removed, unreadable); after `first` is done (one
    hash at a time)."""
    if first is not None:
        first.result()
    found: dict[Path, FileIdentity | str] = {}
    for path in files:
        try:
            found[path] = identify(path)
        except OSError as exc:
            found[path] = f"no longer readable ({exc.strerror or exc})"
    return found


class InputWatch:
    """Identities of the input files before the build reads them and after staging has."""

    def __init__(self, files: list[Path]):
        self.files = list(files)
        self._stats = {path: os.stat(path) for path in self.files}  # now, before dbt starts
        self._before = _Background(_identities, self.files)
        self._after: _Background | None = None
        self._compared = False

    def node_done(self, unique_id: str, status: str) -> None:
        """For run_dbt's on_result: start the second look once staging read the files; end the
        build as soon as it finds a change."""
        if self._after is None:
            if unique_id == STAGING_READS and status == "success":
                self._after = _Background(_identities, self.files, self._before)
        elif self._after.done() and not self._compared:
            self._raise_if_changed()

    def check(self) -> None:
        """Raise InputChanged when a file differs between the start of the build and the end of
        staging (or now, if staging never finished)."""
        if self._after is None:
            self._after = _Background(_identities, self.files, self._before)
        self._raise_if_changed()

    def _raise_if_changed(self) -> None:
        before, after = self._before.result(), self._after.result()
        self._compared = True
        changed = []
        for path in self.files:
            start, end = before[path], after[path]
            if isinstance(start, str) or isinstance(end, str):
                changed.append(f"'{path}' ({end if isinstance(end, str) else start})")
                continue
            stat = self._stats[path]
            start = FileIdentity(start.path, stat.st_size, stat.st_mtime_ns, start.sha256)
            found = differences(start, end)
            if found:
                changed.append(f"'{path}' ({'; '.join(found)})")
        if changed:
            raise InputChanged(
                f"transactions file{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed while the build "
                "was reading it, so what was read may be part old, part new: nothing was published, the previous "
                "warehouse is untouched. "
                "Fix: build once the file is complete (have the exporter write to a temporary name and rename "
                "it when done), then run the build again.")
