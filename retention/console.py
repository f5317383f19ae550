"""What a person reads while a build runs: one line per step, warnings collected and repeated
at the end, a live progress line on a terminal. Imports nothing from the rest of the package."""
from __future__ import annotations

import sys
import time


class Console:
    """Prints to ``stream``; ``warnings`` keeps every warning for the closing summary."""

    def __init__(self, verbose: bool = False, stream=None):
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.warnings: list[str] = []
        self._progress_shown = False
        self._last_progress = 0.0

    @property
    def is_terminal(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def _print(self, text: str) -> None:
        self.clear_progress()
        print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self._print(f"[retention] {text}")

    def detail(self, text: str) -> None:
        self._print(f"    {text}")

    def warn(self, text: str, now: bool = True) -> None:
        """A warning, printed now (unless it comes at the very end anyway) and again at the end."""
        self.warnings.append(text)
        if now:
            self._print(f"WARNING: {text}")

    def raw(self, text: str) -> None:
        """A line of dbt's own output (shown with --verbose only)."""
        if self.verbose:
            self._print(text.rstrip("\n"))

    def progress(self, text: str) -> None:
        """A live status line on a terminal (rewritten in place, at most 4 times a second)."""
        if self.verbose or not self.is_terminal:
            return
        now = time.monotonic()
        if now - self._last_progress < 0.25:
            return
        self._last_progress = now
        self.stream.write("\r\x1b[2K" + text[:118])
        self.stream.flush()
        self._progress_shown = True

    def clear_progress(self) -> None:
        if self._progress_shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._progress_shown = False

    def repeat_warnings(self) -> None:
        """Every warning of the build again, at the end, where it cannot scroll away."""
        for text in self.warnings:
            self._print(f"WARNING: {text}")
