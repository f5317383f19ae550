"""The Python steps on Spark: fit on the driver, score every customer on the executors.

The same ``models_py`` functions as the DuckDB build's dbt Python models (``models/ml/*.py``),
with the same arguments (:mod:`models_py.steps`); only where the data lives differs:

- **Driver** (this process): reads the bounded inputs of the fits into pandas and fits, exactly as
  a dbt Python model does on DuckDB. ``features.training_sample`` (churn and value: at most var
  ``ml_max_snapshot_rows`` rows, a hash sample of customers past it; every fit then samples at most
  100,000 of them), the numeric columns of ``customer_btyd_summary`` and ``clv_holdout_summary``
  (CLV: BG/NBD and Gamma-Gamma are fitted by maximum likelihood on every customer, as on DuckDB),
  at most 50,000 customers' features (the value model's BG/NBD candidate, when chosen), and the
  eight behaviour columns of every customer (segments: k-means is fitted on every customer, so
  its labels are the assignments). The small result tables (metrics, calibration, backtest,
  parameters, profiles) are written from here.
- **Executors**: every customer's churn score and drivers, the previous cutoff's scores, the CLV
  and the value if retained: ``mapInPandas`` over the Spark tables, the fitted model travelling
  with the function (Spark ships one serialized copy per stage to every executor) and applied
  batch by batch (``models_py.churn.score``, ``models_py.value.score``, ``models_py.clv.score``:
  a customer's row depends on the fit and that customer alone).

Every result table is written to schema ``ml_steps`` (:data:`RESULT_SCHEMA`); the dbt models of
``models/ml/on_spark/`` copy them into schema ``ml`` under the DuckDB build's names, with the same
descriptions and tests, and the marts read them as usual.
"""
from __future__ import annotations

import functools
import resource
import time
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from models_py import churn, clv, value
from models_py.clv import SUMMARY_COLUMNS
from models_py.segmentation import SEGMENT_FEATURES, segment_customers
from models_py.steps import (churn_arguments, clv_fit_arguments, clv_score_arguments, segment_arguments,
                             value_arguments)

RESULT_SCHEMA = "ml_steps"
# The tables each step writes (the names of schema ml on both targets).
TABLES = {
    "churn": ("churn_scores", "churn_scores_previous", "churn_model_metrics", "churn_feature_importance",
              "churn_calibration", "churn_backtest"),
    "clv": ("customer_clv", "clv_parameters", "clv_holdout_check"),
    "value": ("customer_value", "value_model_metrics"),
    "segments": ("customer_segments", "segment_profiles", "segment_k_selection"),
}


@dataclass
class StepRecord:
    """What one Python step did: seconds on the driver fitting (reads included), seconds of the
    Spark jobs that scored and wrote, the driver's peak resident memory during the step (MiB),
    and the rows written per table."""

    name: str
    fit_seconds: float = 0.0
    score_seconds: float = 0.0
    driver_peak_mib: float | None = None
    rows: dict[str, int] = field(default_factory=dict)


def _reset_peak_memory() -> bool:
    """Reset this process's peak RSS (Linux: /proc/self/clear_refs, "5"); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_memory_mib() -> float:
    """The peak resident memory of this process: since the last reset where that works
    (VmHWM), else since it started (ru_maxrss)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PythonSteps:
    """The four Python steps on one Spark session, in dependency order (churn before segments,
    CLV before value). ``report(text)`` is told what happens."""

    def __init__(self, session, report: Callable[[str], None] = print):
        self.session = session
        self.report = report
        self.records: list[StepRecord] = []
        self._set_up_session()

    def _set_up_session(self) -> None:
        conf = self.session.conf
        conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
        conf.set("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
        self.session.sql(f"create database if not exists {RESULT_SCHEMA}")
        master = conf.get("spark.master", "local") if not _is_remote(self.session) else "remote"
        if not master.startswith("local"):
            _ship_models_py(self.session)

    # ---------------------------------------------------------------- reading and writing
    def table(self, name: str):
        return self.session.table(name)

    def to_pandas(self, frame) -> pd.DataFrame:
        """A Spark DataFrame on the driver, decimals as doubles (as DuckDB hands them to pandas)."""
        return _doubles(frame).toPandas()

    def write(self, name: str, frame, record: StepRecord) -> None:
        """A pandas frame (driver) or a Spark DataFrame (executors) as table ml_steps.<name>."""
        data = self.session.createDataFrame(frame) if isinstance(frame, pd.DataFrame) else frame
        data.write.mode("overwrite").saveAsTable(f"{RESULT_SCHEMA}.{name}")
        record.rows[name] = self.session.table(f"{RESULT_SCHEMA}.{name}").count()

    def score(self, frame, score_batch: Callable[[pd.DataFrame], pd.DataFrame]):
        """Every row of a Spark DataFrame through ``score_batch`` (pandas in, pandas out), on the
        executors; the output schema is that of ``score_batch`` on the first rows, run here."""
        frame = _doubles(frame)
        example = score_batch(frame.limit(50).toPandas())
        schema = spark_schema(example)

        def score_partition(batches):
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):  # one task per core already
                for batch in batches:
                    if len(batch):
                        yield score_batch(batch)[list(example.columns)]

        return frame.mapInPandas(score_partition, schema)

    # ---------------------------------------------------------------- the steps
    def run(self) -> list[StepRecord]:
        params = self.to_pandas(self.table("intermediate.int_analysis_parameters")).iloc[0]
        training = None
        for name in ("churn", "clv", "value", "segments"):
            record = StepRecord(name)
            _reset_peak_memory()
            started = time.monotonic()
            if name in ("churn", "value") and training is None:
                training = self.to_pandas(self.table("features.training_sample"))
            getattr(self, f"_{name}")(params, training, record, started)
            record.driver_peak_mib = peak_memory_mib()
            self.records.append(record)
            self.report(f"{name}: fitted on the driver in {record.fit_seconds:.1f}s, scored and written on Spark "
                        f"in {record.score_seconds:.1f}s (driver peak {record.driver_peak_mib:,.0f} MiB): "
                        + ", ".join(f"{RESULT_SCHEMA}.{t} {n:,}" for t, n in record.rows.items()))
        return self.records

    def _churn(self, params, training, record: StepRecord, started: float) -> None:
        from pyspark.sql import functions as F

        features = self.table("features.customer_features")
        previous = self.table("features.training_snapshots").where("snapshot_index = 1")
        previous_cutoff = previous.agg(F.max("cutoff_date")).first()[0]
        fitted = churn.fit(training, previous_cutoff=previous_cutoff, **churn_arguments(params))
        record.fit_seconds = time.monotonic() - started
        started = time.monotonic()
        self.write("churn_scores", self.score(features, functools.partial(churn.score, fitted)), record)
        self.write("churn_scores_previous", self.score(previous, functools.partial(churn.score_previous, fitted)),
                   record)
        expected = self.table(f"{RESULT_SCHEMA}.churn_scores").agg(F.avg("churn_probability")).first()[0]
        self.write("churn_model_metrics", fitted.metrics(float(expected)), record)
        self.write("churn_feature_importance", fitted.feature_importance, record)
        self.write("churn_calibration", fitted.calibration, record)
        self.write("churn_backtest", fitted.backtest, record)
        record.score_seconds = time.monotonic() - started

    def _clv(self, params, training, record: StepRecord, started: float) -> None:
        summary_table = self.table("features.customer_btyd_summary")
        summary = self.to_pandas(summary_table.select(*SUMMARY_COLUMNS))
        holdout = self.to_pandas(self.table("features.clv_holdout_summary").select(*SUMMARY_COLUMNS,
                                                                                    "holdout_purchases"))
        fitted = clv.fit(summary, holdout, **clv_fit_arguments(params))
        del summary, holdout
        record.fit_seconds = time.monotonic() - started
        started = time.monotonic()
        scoring = functools.partial(clv.score, fitted, **clv_score_arguments(params))
        self.write("customer_clv", self.score(summary_table.select(*SUMMARY_COLUMNS), scoring), record)
        self.write("clv_parameters", fitted.parameters, record)
        self.write("clv_holdout_check", fitted.holdout_check, record)
        record.score_seconds = time.monotonic() - started

    def _value(self, params, training, record: StepRecord, started: float) -> None:
        order_values = self.table(f"{RESULT_SCHEMA}.customer_clv").select("customer_id", "expected_order_value")
        customers = self.table("features.customer_features").join(order_values, "customer_id", "left")

        def customers_at(positions):
            return self.to_pandas(customers if positions is None else
                                  rows_at_positions(self.session, customers, positions))

        fitted = value.fit(training, n_customers=customers.count(), customers_at=customers_at,
                           **value_arguments(params))
        record.fit_seconds = time.monotonic() - started
        started = time.monotonic()
        self.write("customer_value", self.score(customers, functools.partial(value.score, fitted)), record)
        self.write("value_model_metrics", fitted.metrics, record)
        record.score_seconds = time.monotonic() - started

    def _segments(self, params, training, record: StepRecord, started: float) -> None:
        behaviour = self.to_pandas(self.table("features.customer_features").select("customer_id", *SEGMENT_FEATURES))
        churn_scores = self.to_pandas(self.table(f"{RESULT_SCHEMA}.churn_scores")
                                      .select("customer_id", "churn_probability"))
        result = segment_customers(behaviour, churn=churn_scores, **segment_arguments(params))
        del behaviour, churn_scores
        record.fit_seconds = time.monotonic() - started
        started = time.monotonic()
        self.write("customer_segments", result.assignments, record)
        self.write("segment_profiles", result.profiles, record)
        self.write("segment_k_selection", result.k_selection, record)
        record.score_seconds = time.monotonic() - started


def rows_at_positions(session, frame, positions):
    """The rows of a Spark DataFrame at ``positions`` (0-based) of its rows ordered by customer_id,
    in that order: what ``frame.iloc[positions]`` is to the same rows in pandas, sorted. The
    numbering is one sort of the customers (a single task: fine for millions of customers)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    numbered = frame.withColumn("_position", F.row_number().over(Window.orderBy("customer_id")) - 1)
    wanted = session.createDataFrame(pd.DataFrame({"_position": pd.Series(positions, dtype="int64")}))
    return numbered.join(F.broadcast(wanted), "_position").drop("_position").orderBy("customer_id")


def _doubles(frame):
    """Decimal columns cast to double: DuckDB hands decimals to pandas as float64, and the fits
    must see the same numbers (both conversions round correctly)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    if not any(isinstance(f.dataType, DecimalType) for f in frame.schema.fields):
        return frame
    return frame.select([F.col(f.name).cast("double").alias(f.name) if isinstance(f.dataType, DecimalType)
                         else F.col(f.name) for f in frame.schema.fields])


def spark_schema(frame: pd.DataFrame):
    """The Spark schema of a scored pandas frame: strings, doubles, 64-bit integers, booleans
    (the types the DuckDB build gives the same columns)."""
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField, StructType

    def spark_type(dtype):
        if pd.api.types.is_bool_dtype(dtype):
            return BooleanType()
        if pd.api.types.is_integer_dtype(dtype):
            return LongType()
        if pd.api.types.is_float_dtype(dtype):
            return DoubleType()
        if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            return StringType()
        raise TypeError(f"no Spark type for a scored column of dtype {dtype}")

    return StructType([StructField(str(c), spark_type(t), True) for c, t in frame.dtypes.items()])


def _is_remote(session) -> bool:
    return type(session).__module__.startswith("pyspark.sql.connect")


def _ship_models_py(session) -> None:
    """On a cluster, the executors import models_py from a zip this session sends them (the
    same code as the driver's; scikit-learn, scipy and pandas must be installed there)."""
    import shutil
    import tempfile
    from pathlib import Path

    import models_py

    folder = Path(tempfile.mkdtemp(prefix="retention-models-py-"))
    archive = shutil.make_archive(str(folder / "models_py"), "zip", root_dir=Path(models_py.__file__).parents[1],
                                  base_dir="models_py")
    if _is_remote(session):
        session.addArtifacts(archive, pyfile=True)
    else:
        session.sparkContext.addPyFile(archive)
