"""The `spark` target: the same dbt project, and the same Python steps, on a Spark session.

    retention build --target spark [--transactions FILE ...] [options]

What runs where: staging, intermediate, features (BTYD summary, training snapshots, ...) and the
marts build on Spark (dbt-spark, `method: session`, profile target `spark`); the Python steps
(churn, CLV, value, segments, uplift) fit on the driver with the models_py functions the DuckDB build's
Python models call and score every customer on the executors (retention.targets.spark_ml). The
whole build runs in one process on one session (retention.targets.spark_job): no DuckDB build
of the input is needed. Spark writes its tables, the Derby metastore and its log below
`<warehouse-dir>/spark/`, and the fitted models as the DuckDB build saves them (joblib + JSON,
named in ml.model_artifacts) in `<warehouse-dir>/spark/models/<build_id>/`.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from retention.config import REPO, UsageError
from retention.console import Console
from retention.dbt_runner import failure_messages, run_dbt
from retention.inputs.files import detect_delimiter, is_parquet
from retention.publish import model_folder, new_build_id, prune_model_folders
from retention.targets import PreparedBuild

SETUP_HINT = "Fix: run `make spark-setup` (installs requirements-spark.txt into .venv)."
# the schemas a build writes (generate_schema_name): databases on Spark
SCHEMAS = ("staging", "intermediate", "features", "ml_steps", "ml", "marts", "reference")


def check_prerequisites() -> None:
    """dbt-spark with pyspark, and a Java runtime of version 17 or later."""
    missing = [name for name, module in (("pyspark", "pyspark"), ("dbt-spark", "dbt.adapters.spark"))
               if not _has_module(module)]
    if missing:
        raise UsageError(f"the spark target needs {' and '.join(missing)}, which the default set-up does not "
                         f"install. {SETUP_HINT}")
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=os.pathsep.join(
        ([os.path.join(java_home, "bin")] if java_home else []) + [os.environ.get("PATH", "")]))
    if java is None:
        raise UsageError("the spark target needs a Java runtime (17 or later) and none was found on PATH "
                         "or in JAVA_HOME. Fix: install one, e.g. `apt-get install openjdk-17-jre-headless`.")
    version = java_major_version(java)
    if version is not None and version < 17:
        raise UsageError(f"the spark target needs Java 17 or later (Spark 4); '{java}' is Java {version}. "
                         "Fix: install Java 17 and put it first on PATH (or set JAVA_HOME).")


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def java_major_version(java: str) -> int | None:
    try:
        text = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def spark_settings(spark_dir: Path) -> dict[str, str]:
    """The Spark settings of the profile's `spark` target (server_side_parameters), with the
    environment variables it reads set as a build sets them: a session opened with these sees
    the tables and views the build made."""
    import jinja2

    env = {**os.environ, "RETENTION_SPARK_DIR": str(spark_dir)}

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(name)
        return default

    text = jinja2.Environment().from_string((REPO / "profiles.yml").read_text()).render(env_var=env_var)
    settings = yaml.safe_load(text)["retention"]["outputs"]["spark"]["server_side_parameters"]
    # dbt-spark's session method sets this itself (and cannot be told otherwise)
    return {**{str(k): str(v) for k, v in settings.items()}, "spark.sql.ansi.enabled": "false"}


def spark_session(spark_dir: Path):
    """A pyspark session on the metastore and warehouse of a finished local Spark build."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_settings(spark_dir).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_relations(session) -> list[tuple[str, str, bool]]:
    """(schema, name, is_view) of every table and view of the build's schemas."""
    found = []
    for schema in SCHEMAS:
        if not session.catalog.databaseExists(schema):
            continue
        for table in session.catalog.listTables(schema):
            if not table.isTemporary:
                found.append((schema, table.name, table.tableType == "VIEW"))
    return sorted(found)


def spark_env(warehouse_dir: Path, spark_dir: Path) -> dict[str, str]:
    """The environment of the Spark build (profiles.yml reads these)."""
    return {
        **os.environ,
        "RETENTION_SPARK_DIR": str(spark_dir),
        "RETENTION_REPO_DIR": str(REPO),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(spark_dir / "dbt_target"),
        "DBT_LOG_PATH": str(warehouse_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # the executors' Python (local mode) is the build's own, with models_py installed
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }


def _explain_failure(exc: UsageError, spark_dir: Path) -> UsageError:
    steps = spark_dir / "python_steps.json"
    error = json.loads(steps.read_text()).get("error") if steps.exists() else None
    if error:
        return UsageError(f"{exc}\nA Python step failed on Spark: {error}\nTo build the SQL layers without the "
                          "models, add --skip-ml.")
    messages = failure_messages(spark_dir / "dbt_target" / "run_results.json")
    return UsageError(f"{exc}" + (f"\nWhat failed:\n{messages}" if messages else ""))


def build_spark(prepared: PreparedBuild, console: Console) -> Path:
    """Build everything on Spark (SQL layers, Python steps, marts); returns the folder Spark wrote to."""
    check_prerequisites()
    options, warehouse_dir, dbt_vars, files = prepared.options, prepared.warehouse_dir, prepared.dbt_vars, prepared.files
    read = prepared.read_files or files
    if not is_parquet(read[0]) and not dbt_vars.get("csv_delimiter"):
        dbt_vars["csv_delimiter"] = detect_delimiter(read[0], dbt_vars.get("csv_encoding"))
    spark_dir = warehouse_dir / "spark"
    spark_dir.mkdir(parents=True, exist_ok=True)
    log_file = warehouse_dir / "logs" / "build-spark.log"
    log_file.parent.mkdir(exist_ok=True)
    log_file.write_text("")
    (spark_dir / "dbt_target" / "run_results.json").unlink(missing_ok=True)
    build_id = new_build_id()
    models = model_folder(spark_dir, build_id)
    env = {**spark_env(warehouse_dir, spark_dir), "RETENTION_BUILD_ID": build_id, "RETENTION_MODELS_DIR": str(models)}
    job = [sys.executable, "-m", "retention.targets.spark_job", "--vars", prepared.vars_json()]
    job += (["--skip-ml"] if options.skip_ml else []) + (["--count-rows"] if console.verbose else [])
    console.step(f"building on Spark from {', '.join(str(p) for p in files)} ({prepared.checked.total_rows:,} rows)"
                 + (": staging -> features, without the models" if options.skip_ml else
                    ": staging -> features, the Python steps, ml -> marts"))
    try:
        seconds = run_dbt(["build"], env, log_file, console, "Spark", command=job)
    except UsageError as exc:
        shutil.rmtree(models, ignore_errors=True)
        raise _explain_failure(exc, spark_dir) from exc
    # ml.model_artifacts now names this build's files only (the Spark tables are replaced)
    prune_model_folders(spark_dir, keep={build_id})
    relations = json.loads((spark_dir / "relations.json").read_text())
    console.step(f"built {len(relations)} tables and views on Spark"
                 + (" (schema.table: rows):" if console.verbose else ""))
    for schema, table, count, is_view in relations:
        if console.verbose and schema != "reference":
            console.detail(f"{schema + '.' + table:<48} {count:>12,}{'  (view)' if is_view else ''}")
    timings = f"build on Spark {seconds:.1f}s"
    steps_file = spark_dir / "python_steps.json"
    if steps_file.exists():
        steps = json.loads(steps_file.read_text())
        timings += f" (of which the Python steps {steps['seconds']:.1f}s)"
    console.step(f"spark warehouse: {spark_dir / 'spark-warehouse'} (Parquet, one folder per table; "
                 f"metastore: {spark_dir / 'metastore_db'})")
    if models.is_dir():
        console.step(f"models: {models} (named in ml.model_artifacts)")
    console.step(f"build log: {log_file}")
    console.step(f"timings: {timings}, total {time.monotonic() - prepared.started:.1f}s")
    return spark_dir
