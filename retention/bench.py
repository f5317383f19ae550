"""Benchmark the warehouse against the efficient pandas peer, on the same file, in the same run.

    scripts/benchmark.py --input /work/bench/stacked10m.parquet --runs 3
    scripts/benchmark.py --stacked 10000000 --runs 3          # makes the file with the peer's scaler
    scripts/benchmark.py --stacked 100000000 --runs 1 --no-peer

Each run measures, one after the other on the same file, under /usr/bin/time -v (wall time and
peak RSS of the whole process tree):

* the peer: `../shared/peers/peer_pandas.py` (read, clean, orders, RFM, cohorts, features) -- what a
  user would write instead of the warehouse's SQL layers;
* the SQL layers alone: `retention build --skip-ml --no-docs --no-report` (staging -> features,
  every data and unit test) into a new folder;
* the whole job: `retention build` (models, marts, exports, docs site, report) into a new folder.

The three alternate within a run so a busy spell hits all of them; the machine's load average
before each step is recorded and a step started at a load above the core count is flagged. The
peer and the warehouse use the same as_of_date (the day after the file's last transaction).
Medians over the runs go into BENCHMARKS.md, replacing that file's section, with the machine, the
command to reproduce, per-layer dbt times, the runner's own step times and the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from retention.config import REPO

BENCHMARKS = REPO / "BENCHMARKS.md"
PEERS = REPO.parent / "shared" / "peers"
LAYERS = ("seeds", "staging", "intermediate", "features", "ml", "marts")


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = model.group(1).strip() if model else ""
    memory = f"{int(total.group(1)) / 1024 / 1024:.0f} GiB" if total else "?"
    return f"{os.cpu_count()} cores ({cpu or platform.processor()}), {memory} memory, Python {platform.python_version()}"


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def timed(command: list[str], env: dict | None = None) -> dict:
    """Run under /usr/bin/time -v; wall seconds, peak RSS (GiB) of the tree, stdout, load before."""
    load = load_average()
    started = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-v", *command], cwd=REPO, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"benchmark step failed: {' '.join(command)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return {"seconds": seconds, "rss_gib": int(rss.group(1)) / 1024 / 1024 if rss else float("nan"),
            "stdout": proc.stdout, "load": load}


def file_facts(data: Path) -> tuple[int, str]:
    """Rows, and the warehouse's default as_of_date (the day after the file's last InvoiceDate)."""
    import duckdb

    con = duckdb.connect()
    try:
        reader = "read_parquet" if data.suffix == ".parquet" else "read_csv"
        rows, latest = con.execute(f"select count(*), max(cast(InvoiceDate as timestamp)) from {reader}(?)",
                                   [str(data)]).fetchall()[0]
    finally:
        con.close()
    return rows, (latest.date() + timedelta(days=1)).isoformat()


def run_peer(data: Path, as_of: str, out: Path) -> dict:
    result = timed([sys.executable, str(PEERS / "peer_pandas.py"), "--input", str(data), "--as-of", as_of,
                    "--out", str(out)])
    stages = dict((m.group(1), float(m.group(2))) for m in re.finditer(r"^(\w+)\s+([\d.]+) s", result["stdout"], re.M))
    customers = re.search(r"customers ([\d,]+)", result["stdout"])
    result.update(stages=stages, customers=int(customers.group(1).replace(",", "")) if customers else None)
    return result


def _runner_timings(stdout: str) -> dict[str, float]:
    line = next((l for l in stdout.splitlines() if "timings:" in l), "")
    return {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"([^,:]+?) ([\d.]+)s", line.split("timings:")[-1])}


def _layers(target: Path) -> tuple[dict[str, float], list[tuple[float, str]]]:
    """dbt execution seconds per layer (tests apart) and the slowest nodes, from run_results."""
    manifest = json.loads((target / "manifest.json").read_text())
    layer_of = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] in ("model", "seed"):
            path = node.get("original_file_path", "")
            layer_of[uid] = next((name for name in LAYERS if f"/{name}/" in path), "seeds")
    per_layer = {layer: 0.0 for layer in (*LAYERS, "tests")}
    nodes = []
    for result in json.loads((target / "run_results.json").read_text())["results"]:
        layer = layer_of.get(result["unique_id"], "tests")
        per_layer[layer] += result["execution_time"]
        nodes.append((result["execution_time"], result["unique_id"].split(".")[-1]))
    return per_layer, sorted(nodes, reverse=True)[:6]


def run_warehouse(data: Path, as_of: str, folder: Path, threads: int, memory_limit: str, sql_only: bool) -> dict:
    extra = ["--skip-ml", "--no-docs", "--no-report"] if sql_only else []
    result = timed([sys.executable, "-m", "retention", "build", "--transactions", str(data), "--as-of-date", as_of,
                    "--warehouse-dir", str(folder), "--threads", str(threads), "--memory-limit", memory_limit,
                    *extra])
    result["layers"], result["slowest"] = _layers(folder / "dbt_target")
    result["steps"] = _runner_timings(result["stdout"])
    return result


def make_stacked(rows: int, folder: Path) -> Path:
    data = folder / f"stacked_{rows}.parquet"
    if not data.exists():
        source = REPO.parent / "shared" / "data" / "online_retail.csv.gz"
        print(f"stacking {source.name} to {rows:,} rows -> {data} (peers/scale_data.py)", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        timed([sys.executable, str(PEERS / "scale_data.py"), "--input", str(source), "--rows", str(rows),
               "--out", str(data)])
    return data


def write_section(key: str, text: str) -> None:
    marker = f"<!-- bench:{key} -->"
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(marker) + r".*?(?=<!-- bench:|<!-- size:|\Z)", re.S)
    section = f"{marker}\n{text.rstrip()}\n\n"
    current = pattern.sub(lambda _: section, current) if marker in current else current.rstrip() + "\n\n" + section
    BENCHMARKS.write_text(current.rstrip() + "\n")


def _flag(run: dict) -> str:
    return " (busy: load %.1f)" % run["load"] if run["load"] > (os.cpu_count() or 1) else ""


def report(data: Path, rows: int, args, peers: list[dict], sqls: list[dict], wholes: list[dict]) -> str:
    med = statistics.median
    lines = [
        f"## {data.name}: {rows:,} rows",
        "",
        f"Measured {date.today().isoformat()} on {machine()}; threads {args.threads}, memory_limit "
        f"{args.memory_limit}; {args.runs} run(s), medians; each run measures the peer, the SQL layers and the "
        "whole job one after the other on the same file.",
        f"Reproduce: `{' '.join(['.venv/bin/python', 'scripts/benchmark.py', *args.argv])}`",
        "",
        "| step | wall (s) | peak RSS (GiB) | vs peer | runs (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    peer_seconds = med([p["seconds"] for p in peers]) if peers else None

    def row(label: str, runs: list[dict]) -> str:
        seconds = med([r["seconds"] for r in runs])
        ratio = f"{seconds / peer_seconds:.1f}×" if peer_seconds else "–"
        each = ", ".join(f"{r['seconds']:.1f}{_flag(r)}" for r in runs)
        return f"| {label} | **{seconds:.1f}** | {max(r['rss_gib'] for r in runs):.2f} | {ratio} | {each} |"

    if peers:
        lines.append(row("peer (`../shared/peers/peer_pandas.py`)", peers))
    if sqls:
        lines.append(row("warehouse, SQL layers (`--skip-ml --no-docs --no-report`)", sqls))
    if wholes:
        lines.append(row("warehouse, whole job (models, marts, exports, docs, report)", wholes))
    if peers:
        stages = peers[0]["stages"]
        lines += ["", "Peer stages (run 1, s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if k != "total")
                  + f"; {peers[0]['customers']:,} customers."]
    for label, runs in (("SQL layers", sqls), ("whole job", wholes)):
        if not runs:
            continue
        layers = "; ".join(f"{layer} {med([r['layers'][layer] for r in runs]):.1f}" for layer in (*LAYERS, "tests")
                           if any(r["layers"][layer] for r in runs))
        steps = "; ".join(f"{step} {med([r['steps'].get(step, 0.0) for r in runs]):.1f}"
                          for step in runs[0]["steps"])
        lines += ["", f"{label}: runner steps (s, median) {steps}.",
                  f"dbt execution time per layer (s, summed over nodes; {args.threads} threads run nodes side by "
                  f"side): {layers}.",
                  "Slowest nodes (last run): " + ", ".join(f"{name} {sec:.1f}s" for sec, name in runs[-1]["slowest"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/benchmark.py", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="a transactions file with Online Retail columns (CSV or Parquet)")
    source.add_argument("--stacked", type=int, metavar="ROWS",
                        help="make (once) a file of ROWS rows from ../shared/data/online_retail.csv.gz with the "
                             "peer's scaler and use it")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip the peer (e.g. at 100M rows it needs >24 GB)")
    parser.add_argument("--no-sql-only", action="store_true", help="skip the SQL-layers-only build")
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-job build")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "retention_bench"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit (default 8GB, as the runner)")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if not args.no_peer and not (PEERS / "peer_pandas.py").exists():
        sys.exit(f"the peer is not at {PEERS / 'peer_pandas.py'}; pass --no-peer to measure the warehouse alone")

    data = Path(args.input).resolve() if args.input else make_stacked(args.stacked, Path(args.data_dir))
    rows, as_of = file_facts(data)
    print(f"{data}: {rows:,} rows, as_of_date {as_of}", flush=True)
    peers, sqls, wholes = [], [], []
    with tempfile.TemporaryDirectory(prefix="retention_bench_", dir=args.data_dir if Path(args.data_dir).exists() else None) as tmp:
        for run in range(1, args.runs + 1):
            steps = ([("peer", peers, lambda f: run_peer(data, as_of, f))] if not args.no_peer else []) + \
                ([("SQL layers", sqls, lambda f: run_warehouse(data, as_of, f, args.threads, args.memory_limit, True))]
                 if not args.no_sql_only else []) + \
                ([("whole job", wholes, lambda f: run_warehouse(data, as_of, f, args.threads, args.memory_limit, False))]
                 if not args.no_whole else [])
            for label, runs, step in steps:
                folder = Path(tmp) / f"{label.replace(' ', '_')}_{run}"
                runs.append(step(folder))
                print(f"run {run}/{args.runs} {label:<11} {runs[-1]['seconds']:7.1f}s  peak RSS "
                      f"{runs[-1]['rss_gib']:.2f} GiB  (load before {runs[-1]['load']:.1f})", flush=True)
                shutil.rmtree(folder, ignore_errors=True)
    text = report(data, rows, args, peers, sqls, wholes)
    write_section(f"{data.name}", text)
    print(text)
    print(f"written to {BENCHMARKS}")
