"""The Python steps on Spark against the DuckDB path: wall time and memory (BENCHMARKS.md).

    .venv/bin/python scripts/bench_spark_python_steps.py --transactions FILE --work DIR [--skip-builds]

1. Builds FILE twice, as a user does: `retention build` (DuckDB) into DIR/duckdb and
   `retention build --target spark` into DIR/spark (skipped with --skip-builds when both exist).
   From the builds: the whole job's wall time, the dbt execution time of each Python model
   (DuckDB, run_results.json) and each Python step's record on Spark (python_steps.json).
2. Runs the Python steps alone, each path in a fresh process, on what the builds made:
   - duckdb: the dbt Python models' own `model(dbt, session)` functions (dbt_project/models/ml/
     *_fit.py, which do all the work; the models beside them only unpack) on the DuckDB file,
     through a stand-in for dbt's `dbt.ref` (the same DuckDB relations dbt-duckdb hands them);
   - spark: retention.targets.spark_ml.PythonSteps on a session over the Spark build (it
     rewrites schema ml_steps with the same content).
   Per step: wall time and the peak resident memory of the process (Linux VmHWM, reset before
   each step); for Spark also the peak of the JVM (local mode: driver and executors in one JVM)
   and of the executors' Python workers (sampled every 0.2 s, summed over workers).
Prints the measurements as JSON (the BENCHMARKS.md section "The Python steps on local Spark" is
written from them).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIT_MODELS = {"churn": "churn_fit", "clv": "clv_fit", "value": "value_fit", "segments": "segment_fit"}


def _status_kib(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak(pid: int | str = "self") -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _build(args: list[str], log: Path) -> float:
    started = time.monotonic()
    with open(log, "w") as out:
        subprocess.run([sys.executable, "-m", "retention", "build", *args], cwd=REPO, stdout=out,
                       stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - started


# ------------------------------------------------------------------------------ child: duckdb
class _Dbt:
    """What a dbt-duckdb Python model sees as `dbt`: config() and ref() -> a DuckDB relation."""

    def __init__(self, con):
        self.con = con

    def config(self, **_):
        return None

    def ref(self, name: str):
        schema = self.con.execute("select table_schema from information_schema.tables where table_name = ? "
                                  "and table_schema not like 'ml_steps%'", [name]).fetchall()
        if len(schema) != 1:
            raise SystemExit(f"{name}: expected one table of that name in the DuckDB build, found {schema}")
        return self.con.table(f"{schema[0][0]}.{name}")


def run_duckdb_steps(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    steps = {}
    for step, model_name in FIT_MODELS.items():
        path = REPO / "dbt_project" / "models" / "ml" / f"{model_name}.py"
        spec = importlib.util.spec_from_file_location(model_name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _reset_peak()
        started = time.monotonic()
        packed = module.model(_Dbt(con), con)
        steps[step] = {"seconds": time.monotonic() - started, "peak_mib": _status_kib("self", "VmHWM") / 1024,
                       "tables": dict(zip(packed["output_name"], packed["row_count"].astype(int)))}
    return steps


# ------------------------------------------------------------------------------ child: spark
class _WorkerSampler(threading.Thread):
    """The summed RSS of the JVM's Python worker processes (local mode executors), at its peak."""

    def __init__(self, jvm_pid: int):
        super().__init__(daemon=True)
        self.jvm_pid, self.peak_kib, self.running = jvm_pid, 0, True

    def _descendants(self) -> list[int]:
        parents: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                ppid = _status_kib(entry, "PPid")
                parents.setdefault(ppid, []).append(int(entry))
        found, queue = [], [self.jvm_pid]
        while queue:
            for child in parents.get(queue.pop(), []):
                found.append(child)
                queue.append(child)
        return found

    def run(self) -> None:
        while self.running:
            self.peak_kib = max(self.peak_kib, sum(_status_kib(p, "VmRSS") for p in self._descendants()))
            time.sleep(0.2)


def run_spark_steps(spark_dir: Path) -> dict:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["RETENTION_SPARK_DIR"] = str(spark_dir)
    from retention.targets.spark import spark_session
    from retention.targets.spark_ml import PythonSteps

    session = spark_session(spark_dir)
    jvm_pid = int(session.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    sampler = _WorkerSampler(jvm_pid)
    sampler.start()
    _reset_peak(jvm_pid)
    started = time.monotonic()
    records = PythonSteps(session, report=lambda text: print(text, file=sys.stderr, flush=True)).run()
    seconds = time.monotonic() - started
    sampler.running = False
    sampler.join()
    result = {"seconds": seconds, "jvm_peak_mib": _status_kib(jvm_pid, "VmHWM") / 1024,
              "python_workers_peak_mib": sampler.peak_kib / 1024,
              "steps": {r.name: {"seconds": r.fit_seconds + r.score_seconds, "fit_seconds": r.fit_seconds,
                                 "score_seconds": r.score_seconds, "peak_mib": r.driver_peak_mib, "tables": r.rows}
                        for r in records}}
    session.stop()
    return result


# ------------------------------------------------------------------------------ parent
def _child(kind: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], cwd=REPO, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _duckdb_node_seconds(target_dir: Path) -> dict[str, float]:
    """dbt's execution time of every Python model of the DuckDB build (the *_fit models fit)."""
    python_models = {path.stem for path in (REPO / "dbt_project" / "models" / "ml").glob("*.py")}
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results
            if r["unique_id"].startswith("model.") and r["unique_id"].split(".")[-1] in python_models}


def _customers(db: Path) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from features.customer_features").fetchone()[0]


def _rows(db: Path) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from staging.base_transactions").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions")
    parser.add_argument("--work")
    parser.add_argument("--skip-builds", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        steps = run_duckdb_steps(Path(path)) if kind == "duckdb" else run_spark_steps(Path(path))
        print(json.dumps(steps, default=float))
        return
    work = Path(args.work)
    duck_dir, spark_dir = work / "duckdb", work / "spark"
    builds = {}
    if not args.skip_builds:
        work.mkdir(parents=True, exist_ok=True)
        builds["duckdb_seconds"] = _build(["--transactions", args.transactions, "--warehouse-dir", str(duck_dir),
                                           "--no-docs", "--no-report"], work / "duckdb-build.log")
        builds["spark_seconds"] = _build(["--target", "spark", "--transactions", args.transactions,
                                          "--warehouse-dir", str(spark_dir)], work / "spark-build.log")
        (work / "builds.json").write_text(json.dumps(builds))
    builds = json.loads((work / "builds.json").read_text())
    db = duck_dir / "retention.duckdb"
    measured = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
                   f"Python {platform.python_version()}",
        "load_average_at_start": os.getloadavg(),
        "rows": _rows(db), "customers": _customers(db), "builds": builds,
        "duckdb_build_python_models_seconds": _duckdb_node_seconds(duck_dir / "dbt_target"),
        "spark_build_python_steps": json.loads((spark_dir / "spark" / "python_steps.json").read_text()),
        "duckdb_alone": _child("duckdb", db),
        "spark_alone": _child("spark", spark_dir / "spark"),
        "load_average_at_end": os.getloadavg(),
    }
    print(json.dumps(measured, indent=1, default=float))


if __name__ == "__main__":
    main()
