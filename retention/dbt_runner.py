"""Running dbt: one subprocess per command, its structured log read line by line.

dbt runs with ``--log-format json``: every event is one JSON line. Its human message goes to the
log file (so ``logs/build.log`` reads as dbt's usual output) and, with ``--verbose``, to the
console; errors and warnings always reach the console; a terminal gets a live progress line, and
any step slower than ``SLOW_STEP_SECONDS`` gets a line of its own when it finishes. The layer
summary (one line per model folder with counts and elapsed time) is read from run_results.json
afterwards.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retention.config import REPO, UsageError
from retention.console import Console
from retention.disk import DiskFull, is_no_space, path_in

SLOW_STEP_SECONDS = 10.0
LAYERS = ("staging", "intermediate", "features", "ml", "marts")
_RESULT_EVENTS = ("LogModelResult", "LogTestResult", "LogSeedResult", "LogNodeResult", "LogHookEndLine")
# Events in dbt's JSON shape that a process of the runner's own prints among dbt's (spark_job).
STEP_EVENT = "RetentionStep"
FAILING_ROWS_SHOWN = 5


def _die_with_parent() -> None:
    """In the dbt child: get SIGTERM when the runner dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, other systems have no prctl
        pass


def dbt_executable() -> str:
    dbt = Path(sys.executable).parent / "dbt"
    return str(dbt) if dbt.exists() else "dbt"


@dataclass
class _Progress:
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int = 0
    running: dict[str, float] = field(default_factory=dict)

    def line(self, label: str) -> str:
        current = min(self.running.items(), key=lambda kv: kv[1])[0] if self.running else ""
        return (f"[{label}] {self.done}/{self.total or '?'} nodes · {time.monotonic() - self.started:.0f}s"
                + (f" · {current}" if current else ""))


def _handle_event(event: dict, progress: _Progress, console: Console, label: str) -> str:
    """Update the progress from one event; returns its human message for the log file."""
    info, data = event.get("info", {}), event.get("data", {})
    name, message, level = info.get("name"), info.get("msg") or "", info.get("level")
    node = data.get("node_info") or {}
    if name == "MainReportVersion":  # a new invocation (a job may run several): count its nodes afresh
        progress.done, progress.total = 0, 0
    elif name == "LogStartLine":
        progress.total = int(data.get("total") or progress.total)
        progress.running[node.get("unique_id", "")] = time.monotonic()
    elif name in _RESULT_EVENTS and node.get("unique_id"):
        progress.running.pop(node["unique_id"], None)
        progress.done += 1
        seconds = float(data.get("execution_time") or 0.0)
        if seconds >= SLOW_STEP_SECONDS and node.get("resource_type") == "model":
            relation = (node.get("node_relation") or {})
            where = f"{relation.get('schema')}.{relation.get('alias')}" if relation else node["unique_id"]
            console.detail(f"{where:<44} {seconds:7.1f}s  ({progress.done}/{progress.total} nodes)")
    if name == STEP_EVENT and level == "info":  # a line of the runner's own (the Spark target's Python steps)
        console.detail(message)
    elif level == "error" and message.strip() and name not in _RESULT_EVENTS:
        console.detail(_plain(message))
    elif level == "warn" and message.strip():
        console.warn(f"dbt: {_plain(message)}")
    console.progress(progress.line(label))
    return message


def _plain(text: str) -> str:
    """dbt's message without terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()


def _end(proc: subprocess.Popen) -> None:
    """Stop the dbt child (SIGTERM, then SIGKILL if it has not gone within 30 s) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _node_result(event: dict | None) -> tuple[str, str] | None:
    """(unique_id, status) when the event is a node's result."""
    if not event or event.get("info", {}).get("name") not in _RESULT_EVENTS:
        return None
    node = event.get("data", {}).get("node_info") or {}
    return (node["unique_id"], str(node.get("node_status") or "")) if node.get("unique_id") else None


def run_dbt(args: list[str], env: dict[str, str], log_file: Path, console: Console, label: str = "dbt",
            on_result: Callable[[str, str], None] | None = None, command: list[str] | None = None) -> float:
    """Run one dbt command; returns seconds taken. A failure raises UsageError (the log has it all);
    a full disk (dbt's or DuckDB's "No space left on device", or writing the log) raises DiskFull at
    once and ends dbt. `on_result(unique_id, status)` is called as each node finishes; what it raises
    ends dbt too. ``command``: a process that runs dbt itself and prints its JSON log (default: the
    dbt CLI; the Spark target's job)."""
    command = command or [dbt_executable(), "--log-format", "json", *args]
    started = time.monotonic()
    progress = _Progress()
    proc = None
    try:
        with open(log_file, "a", encoding="utf-8") as sink:
            sink.write(f"\n$ {' '.join(command)}\n")
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True,
                                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                    message = _handle_event(event, progress, console, label)
                except (ValueError, AttributeError):
                    event, message = None, line.rstrip("\n")  # not an event (a library printing directly)
                if is_no_space(message):
                    raise DiskFull(_plain(message).splitlines()[-1], path_in(message))
                sink.write(_plain(message) + "\n")
                console.raw(message)
                result = _node_result(event)
                if on_result is not None and result is not None:
                    on_result(*result)
            code = proc.wait()
    except OSError as exc:  # writing the log (or starting dbt)
        if is_no_space(exc):
            raise DiskFull(f"{exc.strerror or exc}", log_file) from exc
        raise
    finally:
        if proc is not None:
            _end(proc)
        console.clear_progress()
    if code != 0:
        raise UsageError(f"dbt {args[0]} failed (exit {code}); the previous warehouse is untouched. "
                         f"Full log: {log_file}")
    return time.monotonic() - started


def _failed(run_results: Path) -> list[dict]:
    if not run_results.exists():
        return []
    return [r for r in json.loads(run_results.read_text()).get("results", []) if r.get("status") in ("error", "fail")]


def failed_nodes(run_results: Path) -> list[str]:
    """unique_ids of the nodes that errored or failed in the last dbt invocation."""
    return [r["unique_id"] for r in _failed(run_results)]


def failure_messages(run_results: Path, limit: int = 5,
                     failing_rows: Callable[[str], list[dict]] | None = None) -> str:
    """The messages of the failed nodes, one line each (the input checks put the fix in theirs).
    ``failing_rows(sql)``: the first rows a failed test's query returns (e.g. column_checks' column,
    rule and count of rows breaking it), listed under its message; none when it cannot say."""
    lines = []
    for result in _failed(run_results)[:limit]:
        message = " ".join((result.get("message") or "").split())
        message = re.sub(r"^Runtime Error in \S+ \S+ \([^)]*\) ", "", message)
        if "Traceback" in message:  # a Python step: its exception, not the stack
            errors = list(re.finditer(r"\b\w+(Error|Exception): ", message))
            if errors:
                message = message[errors[-1].start():]
        lines.append(f"  - {result['unique_id']}: {message[:700]}")
        sql = result.get("compiled_code")
        if failing_rows is not None and result.get("status") == "fail" and sql:
            for row in failing_rows(sql)[:FAILING_ROWS_SHOWN]:
                lines.append("      " + ", ".join(f"{name} = {value!r}" for name, value in row.items())[:300])
    return "\n".join(lines)


@dataclass
class LayerSummary:
    """One model folder of a finished build: what ran there and how long it took (wall clock)."""

    layer: str
    models: int = 0
    tests: int = 0
    failed: int = 0
    first_start: dt.datetime | None = None
    last_end: dt.datetime | None = None

    @property
    def seconds(self) -> float:
        if self.first_start is None or self.last_end is None:
            return 0.0
        return (self.last_end - self.first_start).total_seconds()

    def add(self, result: dict, is_test: bool) -> None:
        self.tests += is_test
        self.models += not is_test
        self.failed += result.get("status") in ("error", "fail")
        if is_test:  # the elapsed time is the layer's own models, not the tests run between them
            return
        for timing in result.get("timing") or []:
            start, end = _when(timing.get("started_at")), _when(timing.get("completed_at"))
            if start and (self.first_start is None or start < self.first_start):
                self.first_start = start
            if end and (self.last_end is None or end > self.last_end):
                self.last_end = end


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def layer_summaries(target_dir: Path) -> list[LayerSummary]:
    """Per model folder (seeds, staging, ..., marts): models, tests and the wall time from the
    first of its models starting to the last finishing, from the manifest and run_results.json
    of the last invocation. A test counts in the layer of the model it is attached to."""
    manifest = json.loads((target_dir / "manifest.json").read_text())
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}

    def layer_of(uid: str) -> str:
        node = nodes.get(uid, {})
        if node.get("resource_type") == "seed":
            return "seeds"
        path = node.get("original_file_path", "")
        return next((name for name in LAYERS if f"models/{name}/" in path), "other")

    summaries = {name: LayerSummary(name) for name in ("seeds", *LAYERS, "other")}
    summaries["other"].layer = "checks"  # singular tests across layers (dbt_project/tests/)
    for result in results:
        uid = result.get("unique_id", "")
        node = nodes.get(uid, {})
        is_test = node.get("resource_type") in ("test", "unit_test") or uid.startswith(("test.", "unit_test."))
        owner = uid
        if is_test:
            depends = (node.get("depends_on") or {}).get("nodes") or []
            owner = node.get("attached_node") or next((d for d in depends if d.startswith(("model.", "seed."))), uid)
            if uid.startswith("unit_test."):
                owner = f"model.{uid.split('.')[1]}.{node.get('model', '')}"
        if uid.startswith(("operation.", "exposure.")):
            continue
        summaries[layer_of(owner) if owner != uid or not is_test else "other"].add(result, is_test)
    return [s for s in summaries.values() if s.models or s.tests]
