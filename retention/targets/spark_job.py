"""The spark target's build in one process and one Spark session (started by
:func:`retention.targets.spark.build_spark`, which reads its output like dbt's):

    python -m retention.targets.spark_job --vars JSON [--skip-ml] [--count-rows]

1. ``dbt build --exclude tag:ml``: seeds, staging -> features and their tests. dbt runs in this
   process (dbtRunner) and dbt-spark's ``method: session`` finds the session opened here.
2. The Python steps (:mod:`retention.targets.spark_ml`) on the same session: results in schema
   ``ml_steps``.
3. ``dbt build --select tag:ml``: the ml tables (``models/ml/on_spark/``: copies of ml_steps,
   with the tests of ``_ml.yml``) and the marts, with their tests.

One JVM for the whole build. Output on stdout: dbt's JSON log lines, and this job's own in the
same shape (event name ``RetentionStep``, or level ``error``). Written beside dbt's target folder:
``run_results.sql_layers.json`` (step 1's run_results.json), and in the Spark folder
``python_steps.json`` (each step's timings, driver memory and rows, or the error) and
``relations.json`` (every table and view the build made). Exit 1 when a step fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from retention.config import DBT_PROJECT
from retention.dbt_runner import STEP_EVENT


def emit(message: str, level: str = "info") -> None:
    """One log line in the shape of dbt's JSON events (the runner prints and logs it)."""
    print(json.dumps({"info": {"name": STEP_EVENT, "level": level, "msg": message}, "data": {}}), flush=True)


def run_dbt_in_process(args: list[str]) -> bool:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["--log-format", "json", *args])
    if result.exception is not None:
        emit(f"dbt: {result.exception}", "error")
    return bool(result.success)


def spark_dir() -> Path:
    return Path(os.environ["RETENTION_SPARK_DIR"])


def relations(session, count_rows: bool) -> list[tuple[str, str, int | None, bool]]:
    from retention.targets.spark import spark_relations

    return [(schema, name, session.table(f"{schema}.{name}").count() if count_rows else None, is_view)
            for schema, name, is_view in spark_relations(session)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retention.targets.spark_job")
    parser.add_argument("--vars", required=True, help="the build's dbt vars (JSON)")
    parser.add_argument("--skip-ml", action="store_true", help="staging -> features only")
    parser.add_argument("--count-rows", action="store_true", help="count the rows of every relation at the end")
    args = parser.parse_args(argv)
    # the executors' Python (local mode) is this one, with models_py and the same libraries
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    target_dir = Path(os.environ["DBT_TARGET_PATH"])
    steps_file, relations_file = spark_dir() / "python_steps.json", spark_dir() / "relations.json"
    for stale in (steps_file, relations_file, target_dir / "run_results.sql_layers.json"):
        stale.unlink(missing_ok=True)

    from retention.targets.spark import spark_session

    session = spark_session(spark_dir())
    common = ["--target", "spark", "--project-dir", str(DBT_PROJECT), "--vars", args.vars]
    if not run_dbt_in_process(["build", *common, "--exclude", "tag:ml"]):
        return 1
    if not args.skip_ml:
        shutil.copyfile(target_dir / "run_results.json", target_dir / "run_results.sql_layers.json")
        from retention.targets.spark_ml import PythonSteps

        emit("Python steps: fit on the driver, score on the Spark executors ...")
        started = time.monotonic()
        try:
            records = PythonSteps(session, report=emit).run()
        except Exception as exc:  # noqa: BLE001 - the step's own message is the one to show
            message = f"{type(exc).__name__}: {exc}"
            steps_file.write_text(json.dumps({"error": message, "traceback": traceback.format_exc()}, indent=1))
            emit(f"a Python step failed on Spark: {message}", "error")
            return 1
        steps_file.write_text(json.dumps({"seconds": time.monotonic() - started,
                                          "steps": [vars(r) for r in records]}, indent=1))
        if not run_dbt_in_process(["build", *common, "--select", "tag:ml"]):
            return 1
    relations_file.write_text(json.dumps(relations(session, args.count_rows)))
    session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
