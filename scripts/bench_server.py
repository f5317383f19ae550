"""Benchmark `retention serve`: customer lookups and filtered pages with N concurrent clients, and a
rebuild swapped in under load.

    .venv/bin/python scripts/bench_server.py --warehouse-dir /work/bench/wh100m --clients 50 --seconds 20

It starts `retention serve` on 127.0.0.1 (a free port) over the folder, then runs, each for
--seconds after a short warm-up, closed-loop clients (each sends its next request when the last
answered, after --think-ms):

  lookup    GET /api/customers/{id} for ids drawn from the warehouse
  page      GET /api/customers?<filters>&sort=..&limit=50&offset=.. with filters drawn from the
            build's own values (quadrant, risk band, country, probability floor, RFM segment)
  swap      both, while a prepared rebuild is published into the folder with
            retention.publish.publish_atomically (a copy of the warehouse with a new build id and
            its model folder, the file a finished build publishes): every request must answer 200,
            and the responses must move from the old build id to the new one.

The clients are asyncio tasks over keep-alive HTTP/1.1 connections (a small client: the responses
of these endpoints carry Content-Length); they talk only to 127.0.0.1 and stop by themselves.
Prints requests/s, p50/p95/p99 latency and errors per scenario, the machine's 1-minute load
average before and after it, and the CPU the server and the clients used (in cores: the clients
run on the same machine and take part of it); --json writes the figures to a file.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb

from retention.publish import new_build_id, publish_atomically

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Connection:
    """One keep-alive HTTP/1.1 connection to the server under test."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                head = await self.reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                length = next(int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:"))
                body = await self.reader.readexactly(length)
                if any(l.lower() == "connection: close" for l in lines[1:]):
                    self.close()
                return status, body
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (the uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def request_sets(db: Path, seed: int) -> dict[str, list[str]]:
    """Lookup paths and filtered-page paths drawn from the warehouse's own values."""
    rng = random.Random(seed)
    con = duckdb.connect(str(db), read_only=True)
    try:
        ids = [r[0] for r in con.execute("select customer_id from marts.customer_decisions using sample 20000 rows "
                                         "(reservoir, 7)").fetchall()]
        quadrants = [r[0] for r in con.execute("select distinct quadrant_key from marts.customer_decisions").fetchall()]
        segments = [r[0] for r in con.execute("select distinct rfm_segment from marts.customer_decisions").fetchall()]
        countries = [r[0] for r in con.execute("select country from marts.customer_decisions group by 1 "
                                               "order by count(*) desc limit 12").fetchall()]
    finally:
        con.close()
    lookups = [f"/api/customers/{urllib.parse.quote(i, safe='')}" for i in ids]
    pages = []
    sorts = ["-expected_incremental_profit", "-churn_probability", "-value_if_retained", "plan_rank", "recency_days"]
    for _ in range(5000):
        params = {"limit": 50, "offset": rng.choice([0, 0, 0, 50, 100, 500]), "sort": rng.choice(sorts)}
        if rng.random() < 0.6:
            params["quadrant"] = rng.choice(quadrants)
        if rng.random() < 0.4:
            params["risk_band"] = rng.choice(["low", "medium", "high"])
        if rng.random() < 0.4:
            params["country"] = rng.choice(countries)
        if rng.random() < 0.3:
            params["min_probability"] = rng.choice([0.3, 0.5, 0.7, 0.9])
        if rng.random() < 0.2:
            params["segment"] = rng.choice(segments)
        pages.append("/api/customers?" + urllib.parse.urlencode(params))
    return {"lookup": lookups, "page": pages, "swap": [p for pair in zip(lookups, pages) for p in pair]}


async def run_load(port: int, paths: list[str], clients: int, seconds: float, warmup: float, think: float,
                   on_start=None) -> dict:
    results: list[tuple[float, float, int, str | None]] = []  # (start, latency, status, build id)
    started = time.monotonic()
    measure_from = started + warmup
    stop_at = measure_from + seconds

    async def client(k: int):
        rng = random.Random(k)
        conn = Connection(port)
        try:
            while time.monotonic() < stop_at:
                path = rng.choice(paths)
                t0 = time.monotonic()
                try:
                    status, body = await conn.get(path)
                except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
                    status, body = -1, str(exc).encode()
                t1 = time.monotonic()
                if t0 >= measure_from:
                    build = None
                    if status == 200:
                        i = body.find(b'"build_id":"')
                        build = body[i + 12:body.find(b'"', i + 12)].decode() if i >= 0 else None
                    results.append((t0, t1 - t0, status, build))
                if think:
                    await asyncio.sleep(think)
        finally:
            conn.close()

    tasks = [asyncio.create_task(client(k)) for k in range(clients)]
    if on_start is not None:
        await on_start(measure_from)
    await asyncio.gather(*tasks)
    latencies = [r[1] * 1000 for r in results]
    statuses: dict[str, int] = {}
    builds: dict[str, int] = {}
    for r in results:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
        if r[3]:
            builds[r[3]] = builds.get(r[3], 0) + 1
    return {"requests": len(results), "requests_per_second": len(results) / seconds,
            "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "p99_ms": percentile(latencies, 0.99), "max_ms": max(latencies) if latencies else None,
            "statuses": statuses, "errors": len(results) - statuses.get("200", 0), "builds": builds,
            "_results": results}


def prepare_rebuild(folder: Path) -> tuple[Path, str]:
    """A finished 'rebuild' beside the warehouse: a copy of the file with a new build id (and the
    model folder of that id), ready to be published."""
    final = folder / "retention.duckdb"
    building = folder / "retention.duckdb.building"
    shutil.copy(final, building)
    build_id = new_build_id()
    con = duckdb.connect(str(building))
    try:
        old = con.execute("select any_value(build_id) from ml.model_artifacts").fetchone()[0]
        con.execute("update ml.model_artifacts set build_id = ?", [build_id])
    finally:
        con.close()
    shutil.copytree(folder / "models" / old, folder / "models" / build_id)
    return building, build_id


def start_server(folder: Path, port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "retention", "serve", "--warehouse-dir", str(folder),
                             "--port", str(port), "--workers", str(workers)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"retention serve exited {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("retention serve did not answer within 600 s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse-dir", required=True, type=Path)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--swap-seconds", type=float, default=90.0,
                        help="length of the swap scenario (the new file is published 5 s in; loading it takes a while "
                             "on a large warehouse)")
    parser.add_argument("--think-ms", type=float, default=0.0, help="pause of each client between requests")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--scenarios", default="lookup,page,swap")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    folder = args.warehouse_dir.resolve()
    db = folder / "retention.duckdb"
    paths = request_sets(db, seed=11)
    port = free_port()
    t0 = time.monotonic()
    server = start_server(folder, port, args.workers)
    startup = time.monotonic() - t0
    report = {"warehouse": str(db), "customers": None, "clients": args.clients, "seconds": args.seconds,
              "think_ms": args.think_ms, "workers": args.workers, "server_startup_s": startup,
              "cpus": os.cpu_count(), "load_before": os.getloadavg(), "scenarios": {}}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
        health = json.loads(r.read())
    report["customers"] = health["table_counts"].get("marts.customer_decisions")
    print(f"server up in {startup:.1f}s: build {health['build_id']}, {report['customers']:,} customers; "
          f"load average {report['load_before'][0]:.2f}")
    try:
        for name in args.scenarios.split(","):
            on_start = None
            if name == "swap":
                building, new_id = prepare_rebuild(folder)

                async def on_start(measure_from, building=building):
                    await asyncio.sleep(max(0.0, measure_from - time.monotonic()) + 5)
                    publish_atomically(building, db)
                    report["swap_published_at"] = time.monotonic()
            seconds = args.swap_seconds if name == "swap" else args.seconds
            load_before = os.getloadavg()
            client_cpu, server_cpu, wall = time.process_time(), process_cpu_seconds(server.pid), time.monotonic()
            result = asyncio.run(run_load(port, paths[name], args.clients, seconds, args.warmup,
                                          args.think_ms / 1000, on_start))
            wall = time.monotonic() - wall
            # CPU over the whole scenario (warm-up included), in cores: the clients share the machine
            result["client_cpu_cores"] = (time.process_time() - client_cpu) / wall
            result["server_cpu_cores"] = (process_cpu_seconds(server.pid) - server_cpu) / wall
            result["load_before"] = load_before
            rows = result.pop("_results")
            if name == "swap":
                result["new_build_id"] = new_id
                first_new = min((r[0] for r in rows if r[3] == new_id), default=None)
                result["new_build_seen"] = first_new is not None
                last_old = max((r[0] for r in rows if r[3] and r[3] != new_id), default=None)
                if first_new is not None:
                    result["seconds_from_publish_to_first_new_answer"] = first_new - report["swap_published_at"]
                    result["old_build_answers_after_first_new"] = sum(
                        1 for r in rows if r[3] and r[3] != new_id and r[0] > first_new)
                    result["last_old_answer_after_publish_s"] = (last_old - report["swap_published_at"]
                                                                 if last_old is not None else None)
                    window = [r[1] * 1000 for r in rows if abs(r[0] - first_new) < 5]
                    result["p99_ms_within_5s_of_swap"] = percentile(window, 0.99)
            result["load_after"] = os.getloadavg()
            report["scenarios"][name] = result
            print(f"{name:<7} {result['requests']:>8,} requests  {result['requests_per_second']:8.1f}/s  "
                  f"p50 {result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
                  f"errors {result['errors']}  builds {result['builds'] if name == 'swap' else len(result['builds'])}"
                  f"  load {result['load_before'][0]:.2f}->{result['load_after'][0]:.2f}  CPU cores: server "
                  f"{result['server_cpu_cores']:.2f}, clients {result['client_cpu_cores']:.2f}")
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
