"""Benchmark the whole job at one size, next to a pandas implementation of the same logic.

    retention bench --rows 10000000 --runs 3
    retention bench --rows 100000000 --runs 1 --skip-pandas

For each run: the full build (staging -> features -> models -> marts -> exports) in a
subprocess under /usr/bin/time -v (wall time, peak RSS of the whole process tree), and
dbt's per-model timings from run_results.json summed per layer. The pandas comparison runs
the same staging, RFM, cohort and per-cutoff feature logic written in idiomatic pandas (the
test oracle, tests/oracle.py, which the tests prove equal to the SQL) on the same file.
Medians over the runs go into BENCHMARKS.md, replacing that size's section, with the
machine and the command to reproduce.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from retention.config import REPO

BENCHMARKS = REPO / "BENCHMARKS.md"
LAYERS = ("staging", "intermediate", "features", "ml", "marts")

PANDAS_JOB = r"""
import sys, time
import pandas as pd
sys.path.insert(0, sys.argv[2])
import oracle
started = time.perf_counter()
frame = pd.read_parquet(sys.argv[1])
frame["InvoiceDate"] = frame["InvoiceDate"].dt.strftime("%Y-%m-%d %H:%M:%S")
raw = frame.astype("string").astype(object).where(frame.notna(), None)
clean, rejected = oracle.stage(raw)
as_of = oracle.default_as_of_date(clean)
oracle.rfm(clean, as_of)
oracle.cohort_retention(clean, as_of)
oracle.btyd_summary(clean, as_of)
for cutoff in oracle.cutoffs(clean, as_of)["cutoff_date"]:
    oracle.features_at(clean, cutoff, as_of)
print(f"PANDAS_SECONDS {time.perf_counter() - started:.3f}")
"""


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = model.group(1).strip() if model else ""
    memory = f"{int(total.group(1)) / 1024 / 1024:.0f} GiB" if total else "?"
    return f"{os.cpu_count()} cores ({cpu or platform.processor()}), {memory} memory, Python {platform.python_version()}"


def swap_note() -> str:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"SwapTotal:\s+(\d+) kB", meminfo)
    free = re.search(r"SwapFree:\s+(\d+) kB", meminfo)
    if not total:
        return "unknown"
    if int(total.group(1)) == 0:
        return "none configured on this machine, so none used"
    return f"{(int(total.group(1)) - int(free.group(1))) / 1024:.0f} MiB in use after the runs"


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run under /usr/bin/time -v; returns (seconds, peak RSS in GiB, stdout)."""
    started = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-v", *command], cwd=REPO, env=env,
                          capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"benchmark step failed: {' '.join(command)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return seconds, (int(rss.group(1)) / 1024 / 1024 if rss else float("nan")), proc.stdout


def node_layers(target: Path) -> dict[str, str]:
    """model unique_id -> its folder (layer), from the manifest."""
    manifest = json.loads((target / "manifest.json").read_text())
    layers = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] in ("model", "seed"):
            path = node.get("original_file_path", "")
            layer = next((name for name in LAYERS if f"/{name}/" in path), "seeds")
            layers[uid] = layer
    return layers


def build_once(data: Path, threads: int, memory_limit: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="retention_bench_") as tmp:
        wh = Path(tmp) / "wh"
        seconds, rss, _ = timed([sys.executable, "-m", "retention", "build", "--transactions", str(data),
                                 "--warehouse-dir", str(wh), "--no-docs", "--no-report",
                                 "--threads", str(threads), "--memory-limit", memory_limit])
        target = wh / "dbt_target"
        layers = node_layers(target)
        per_layer = {layer: 0.0 for layer in (*LAYERS, "seeds", "tests")}
        slowest = []
        for result in json.loads((target / "run_results.json").read_text())["results"]:
            uid = result["unique_id"]
            layer = layers.get(uid, "tests")
            per_layer[layer] += result["execution_time"]
            if layer != "tests":
                slowest.append((result["execution_time"], uid.split(".")[-1]))
        import duckdb

        con = duckdb.connect(str(wh / "retention.duckdb"), read_only=True)
        rows = con.execute("select count(*) from staging.base_transactions").fetchone()[0]
        customers = con.execute("select count(*) from features.customer_rfm").fetchone()[0]
        con.close()
    return {"seconds": seconds, "rss_gib": rss, "layers": per_layer, "rows": rows,
            "customers": customers, "slowest": sorted(slowest, reverse=True)[:5]}


def pandas_once(data: Path) -> dict:
    seconds, rss, out = timed([sys.executable, "-c", PANDAS_JOB, str(data), str(REPO / "tests")])
    inner = re.search(r"PANDAS_SECONDS ([\d.]+)", out)
    return {"seconds": float(inner.group(1)) if inner else seconds, "rss_gib": rss}


def write_section(rows: int, text: str) -> None:
    marker = f"<!-- size:{rows} -->"
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else (
        "# Benchmarks\n\nMeasured by `scripts/benchmark.py`; each section is replaced when that size "
        "is measured again. Times are medians over the runs.\n")
    pattern = re.compile(re.escape(marker) + r".*?(?=<!-- size:|\Z)", re.S)
    section = f"{marker}\n{text.rstrip()}\n\n"
    current = pattern.sub(lambda _: section, current) if marker in current else current.rstrip() + "\n\n" + section
    BENCHMARKS.write_text(current.rstrip() + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="retention bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "retention_bench"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--memory-limit", default="8GB",
                        help="DuckDB memory_limit (default 8GB, as the runner; the Python steps need the rest)")
    args = parser.parse_args(argv)

    data = Path(args.data_dir) / f"transactions_{args.rows}.parquet"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.rows:,} rows -> {data}", flush=True)
        seconds, rss, _ = timed([sys.executable, "-m", "retention", "demo-data", "--rows", str(args.rows),
                                 "--output", str(data)])
        print(f"generated in {seconds:.1f}s (peak RSS {rss:.2f} GiB)", flush=True)

    builds = []
    for run in range(args.runs):
        print(f"build run {run + 1}/{args.runs} ...", flush=True)
        builds.append(build_once(data, args.threads, args.memory_limit))
        print(f"  {builds[-1]['seconds']:.1f}s, peak RSS {builds[-1]['rss_gib']:.2f} GiB", flush=True)
    pandas_runs = []
    if not args.skip_pandas:
        for run in range(args.runs):
            print(f"pandas run {run + 1}/{args.runs} ...", flush=True)
            pandas_runs.append(pandas_once(data))
            print(f"  {pandas_runs[-1]['seconds']:.1f}s, peak RSS {pandas_runs[-1]['rss_gib']:.2f} GiB", flush=True)

    med = statistics.median
    layer_rows = "\n".join(
        f"| {layer} | {med([b['layers'][layer] for b in builds]):.1f} |"
        for layer in ("seeds", *LAYERS, "tests"))
    sql_features = [b["layers"]["staging"] + b["layers"]["intermediate"] + b["layers"]["features"] for b in builds]
    lines = [
        f"## {args.rows:,} transaction rows",
        "",
        f"Measured {date.today().isoformat()} on {machine()}; DuckDB threads {args.threads}, "
        f"memory_limit {args.memory_limit}; {len(builds)} run(s), medians.",
        f"Reproduce: `.venv/bin/retention bench --rows {args.rows} --runs {args.runs} "
        f"--threads {args.threads} --memory-limit {args.memory_limit}"
        f"{' --skip-pandas' if args.skip_pandas else ''}`",
        f"Swap: {swap_note()}.",
        "",
        f"- rows {builds[0]['rows']:,}, customers {builds[0]['customers']:,}",
        f"- **whole job** (staging → features → models → marts → exports, dbt tests included): "
        f"**{med([b['seconds'] for b in builds]):.1f} s** wall, peak RSS "
        f"**{max(b['rss_gib'] for b in builds):.2f} GiB**",
        f"- SQL feature layer (staging + intermediate + features models): {med(sql_features):.1f} s",
    ]
    if pandas_runs:
        pandas_seconds = med([p["seconds"] for p in pandas_runs])
        lines.append(f"- pandas, same staging/RFM/cohort/BTYD/feature logic on the same file: "
                     f"{pandas_seconds:.1f} s (peak RSS {max(p['rss_gib'] for p in pandas_runs):.2f} GiB) → "
                     f"SQL is **{pandas_seconds / med(sql_features):.1f}×** faster")
    lines += ["", "| stage (dbt execution time, s) | median |", "| --- | --- |", layer_rows, "",
              "Slowest nodes (last run): " + ", ".join(f"{name} {sec:.1f}s" for sec, name in builds[-1]["slowest"])]
    write_section(args.rows, "\n".join(lines))
    print(f"written to {BENCHMARKS}")

