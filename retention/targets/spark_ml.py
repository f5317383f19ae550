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
  its labels are the assignments); the features at the contact days of past campaigns (the value
  of the campaign customers at contact: BG/NBD is refitted on each contact day's history, as on
  DuckDB) and the past campaigns' snapshots (the uplift model). The small result tables
  (metrics, calibration, backtest, parameters, profiles, Qini curves) are written from here, and
  the fitted churn, value and segment models are saved as on DuckDB (``models_py.persistence``:
  joblib + JSON in the build's model folder, ``RETENTION_MODELS_DIR``, rows of
  ``ml.model_artifacts``).
- **Executors**: every customer's churn score and drivers, the previous cutoff's scores, the churn
  scores at the contact days of past campaigns, the CLV, the value if retained and the uplift: ``mapInPandas`` over the Spark tables, the fitted model travelling
  with the function (Spark ships one serialized copy per stage to every executor) and applied
  batch by batch (``models_py.churn.score``, ``models_py.value.score``, ``models_py.clv.score``, ``models_py.uplift.score``:
  a customer's row depends on the fit and that customer alone).

Every result table is written to schema ``ml_steps`` (:data:`RESULT_SCHEMA`); the dbt models of
``models/ml/on_spark/`` copy them into schema ``ml`` under the DuckDB build's names, with the same
descriptions and tests, and the marts read them as usual.
"""
from __future__ import annotations

import functools
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from models_py import churn, clv, snapshots, uplift, value
from models_py.clv import SUMMARY_COLUMNS
from models_py.persistence import save_model
from models_py.segmentation import SEGMENT_FEATURES, segment_customers
from models_py.steps import (churn_arguments, clv_fit_arguments, clv_score_arguments, segment_arguments,
                             uplift_arguments, value_arguments)

RESULT_SCHEMA = "ml_steps"
# The tables each step writes (the names of schema ml on both targets).
TABLES = {
    "churn": ("churn_scores", "churn_scores_previous", "churn_scores_at_contact", "churn_model_metrics",
              "churn_feature_importance", "churn_calibration", "churn_backtest"),
    "clv": ("customer_clv", "clv_parameters", "clv_holdout_check"),
    "value": ("customer_value", "customer_value_at_contact", "value_model_metrics"),
    "segments": ("customer_segments", "segment_profiles", "segment_k_selection"),
    "uplift": ("customer_uplift", "uplift_qini", "uplift_holdout_scores", "uplift_model_metrics"),
    "artifacts": ("model_artifacts",),
}
# The models saved (models_py.persistence), in the order of ml.model_artifacts on DuckDB.
PERSISTED = ("churn", "value", "segments")


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
    """The five Python steps on one Spark session, in dependency order (churn before segments and
    uplift, CLV before value), then ``ml_steps.model_artifacts``. The fitted models are saved to
    ``models_dir`` under ``build_id`` (by default the environment variables RETENTION_MODELS_DIR
    and RETENTION_BUILD_ID, as for the DuckDB build's Python models; without them nothing is
    saved and the artifact rows have no file). ``report(text)`` is told what happens."""

    def __init__(self, session, report: Callable[[str], None] = print, *, models_dir: str | None = None,
                 build_id: str | None = None):
        self.session = session
        self.report = report
        self.models_dir = models_dir if models_dir is not None else os.environ.get("RETENTION_MODELS_DIR")
        self.build_id = build_id if build_id is not None else os.environ.get("RETENTION_BUILD_ID")
        self.records: list[StepRecord] = []
        self.artifacts: dict[str, pd.DataFrame] = {}
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
        if isinstance(frame, pd.DataFrame):  # an empty one typed by its dtypes (nothing to infer from)
            data = self.session.createDataFrame(_spark_ready(frame), schema=spark_schema(frame) if frame.empty else None)
        else:
            data = frame
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
                        yield _spark_ready(score_batch(batch)[list(example.columns)])

        return frame.mapInPandas(score_partition, schema)

    # ---------------------------------------------------------------- the steps
    def run(self) -> list[StepRecord]:
        params = self.to_pandas(self.table("intermediate.int_analysis_parameters")).iloc[0]
        training = None
        for name in ("churn", "clv", "value", "segments", "uplift"):
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
        record = StepRecord("artifacts")
        self.write("model_artifacts", pd.concat([self.artifacts[kind] for kind in PERSISTED], ignore_index=True),
                   record)
        self.records.append(record)
        return self.records

    def _save(self, kind: str, model, *, name: str, features, metrics: dict) -> None:
        """The fitted model saved as the DuckDB build's Python models save it; its artifact row kept."""
        self.artifacts[kind] = save_model(kind, model, name=name, features=features, metrics=metrics,
                                          folder=self.models_dir, build_id=self.build_id)

    def _churn(self, params, training, record: StepRecord, started: float) -> None:
        from pyspark.sql import functions as F

        features = self.table("features.customer_features")
        previous = self.table("features.training_snapshots").where("snapshot_index = 1")
        previous_cutoff = previous.agg(F.max("cutoff_date")).first()[0]
        contact = self.table("intermediate.int_customer_features_at_contact")
        contact_days = [row[0] for row in contact.select("cutoff_date").distinct().collect()]
        fitted = churn.fit(training, previous_cutoff=previous_cutoff,
                           contact_cutoffs=churn.contact_cutoffs(pd.DataFrame({"cutoff_date": contact_days})),
                           **churn_arguments(params))
        record.fit_seconds = time.monotonic() - started
        started = time.monotonic()
        self.write("churn_scores", self.score(features, functools.partial(churn.score, fitted)), record)
        self.write("churn_scores_previous", self.score(previous, functools.partial(churn.score_previous, fitted)),
                   record)
        self.write("churn_scores_at_contact", self.score(contact, functools.partial(churn.score_at_contact, fitted)),
                   record)
        expected = self.table(f"{RESULT_SCHEMA}.churn_scores").agg(F.avg("churn_probability")).first()[0]
        self.write("churn_model_metrics", fitted.metrics(float(expected)), record)
        self.write("churn_feature_importance", fitted.feature_importance, record)
        self.write("churn_calibration", fitted.calibration, record)
        self.write("churn_backtest", fitted.backtest, record)
        self._save("churn", fitted.scorer, name=fitted.model_name, features=churn.FEATURES, metrics=fitted.summary())
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
        contact = self.to_pandas(self.table("intermediate.int_customer_features_at_contact"))
        self.write("customer_value_at_contact", value.contact_values(fitted, contact), record)
        self.write("value_model_metrics", fitted.metrics, record)
        self._save("value", fitted.model, name=fitted.method,
                   features=(*snapshots.FEATURES, "mean_repeat_order_value", "expected_order_value"),
                   metrics=fitted.summary())
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
        self._save("segments", result.model, name=result.algorithm, features=SEGMENT_FEATURES,
                   metrics=result.summary())
        record.score_seconds = time.monotonic() - started

    def _uplift(self, params, training, record: StepRecord, started: float) -> None:
        campaigns = self.to_pandas(self.table("features.campaign_snapshots"))
        contact_scores = self.to_pandas(self.table(f"{RESULT_SCHEMA}.churn_scores_at_contact"))
        fitted = uplift.fit(campaigns, contact_scores, **uplift_arguments(params))
        del campaigns, contact_scores
        record.fit_seconds = time.monotonic() - started
        started = time.monotonic()
        features = self.table("features.customer_features")
        self.write("customer_uplift", self.score(features, functools.partial(uplift.score, fitted)), record)
        self.write("uplift_qini", fitted.qini, record)
        self.write("uplift_holdout_scores", fitted.holdout, record)
        self.write("uplift_model_metrics", fitted.metrics, record)
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


def _is_date(dtype) -> bool:
    import pyarrow as pa

    return isinstance(dtype, pd.ArrowDtype) and pa.types.is_date(dtype.pyarrow_dtype)


def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow date columns (models_py.artifacts.date_values) as Python dates, which pyspark takes."""
    dates = [c for c, t in frame.dtypes.items() if _is_date(t)]
    return frame.astype({c: object for c in dates}) if dates else frame


def spark_schema(frame: pd.DataFrame):
    """The Spark schema of a pandas result frame: strings, doubles, 64-bit integers, booleans,
    dates and timestamps (the types the DuckDB build gives the same columns)."""
    from pyspark.sql.types import (BooleanType, DateType, DoubleType, LongType, StringType, StructField, StructType,
                                   TimestampType)

    def spark_type(dtype):
        if _is_date(dtype):
            return DateType()
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return TimestampType()
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
