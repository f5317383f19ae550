"""One published build, loaded for serving: a *generation*.

A generation attaches the published `retention.duckdb` read-only once (to an in-memory database of
its own), copies what the hot paths
read into memory (one row per customer with its decision, plan row and order index; each
customer's most recent orders), renders the dashboard's report views, loads the models of the
build id recorded in the file (`ml.model_artifacts`), and keeps the file attached for the rare
queries (a customer's stored features). Everything a request reads comes from one generation, so
a request never mixes two builds; the file it opened stays readable after a rebuild replaces the
directory entry (the old inode lives until the connection closes).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from retention.config import DUCKDB_CONFIG
from retention.outputs.report.formatting import clean
from retention.serve.customer_index import CustomerIndex, column_kind

# The most recent orders of a customer kept for the customer page.
RECENT_ORDERS = 20
RISK_BANDS = ("low", "medium", "high")

# One row per customer: what the customer list, the filters and the customer page read.
CUSTOMERS_SQL = """
with order_index as (
    select customer_id, count(*) as orders_kept
    from kept_orders group by customer_id
)
select
    d.customer_id, d.country, d.rfm_segment, d.rfm_score, d.cluster_id, d.cluster_name, d.risk_band,
    d.value_tier, d.decision_quadrant, d.quadrant_key, d.strategy, d.action, d.top_drivers,
    p.reason as plan_reason, p.scenario as plan_scenario,
    d.recency_days, d.frequency, cast(d.monetary as double) as monetary, d.r_score, d.f_score, d.m_score,
    d.churn_probability, d.value_if_retained, d.revenue_if_retained, d.expected_order_value, d.clv,
    d.expected_incremental_profit, p.expected_cost, p.plan_rank,
    coalesce(p.is_targeted, false) as is_targeted, d.is_high_value, d.is_high_risk, d.is_in_plan,
    d.last_order_date, d.as_of_date,
    coalesce(o.orders_kept, 0) as orders_kept
from wh.marts.customer_decisions as d
left join wh.marts.retention_plan as p using (customer_id)
left join order_index as o using (customer_id)
order by d.customer_id
"""
KEPT_ORDERS_SQL = f"""
create temp table kept_orders as
select * from (
    select customer_id, invoice_no, order_at, order_date, order_value, line_count, item_quantity,
           row_number() over (partition by customer_id order by order_at desc, invoice_no desc) as recent_rank
    from wh.intermediate.int_orders
) where recent_rank <= {RECENT_ORDERS}
"""
ORDERS_SQL = """
select customer_id, invoice_no, order_date, order_at, cast(order_value as double) as order_value, line_count,
       item_quantity
from kept_orders
order by customer_id, recent_rank
"""
# Tables the API returns whole (small marts), by name.
SMALL_TABLES = {
    "kpis": "marts.retention_kpis",
    "monthly": "marts.retention_kpis_monthly",
    "segments": "marts.segment_summary",
    "campaign_roi": "marts.campaign_roi",
    "campaign_inputs": "marts.campaign_inputs",
    "sensitivity": "marts.campaign_sensitivity",
    "campaign_results": "marts.campaign_results",
    "campaign_results_by_segment": "marts.campaign_results_by_segment",
    "plan_scenarios": "marts.plan_scenarios",
    "cohorts": "features.cohort_retention",
    "quadrants": "reference.decision_quadrants",
    "parameters": "intermediate.int_analysis_parameters",
    "churn_metrics": "ml.churn_model_metrics",
    "value_metrics": "ml.value_model_metrics",
    "segment_profiles": "ml.segment_profiles",
    "artifacts": "ml.model_artifacts",
}
COUNTED = ("staging.stg_transactions", "intermediate.int_orders", "marts.customer_decisions",
           "marts.retention_plan", "marts.alerts")


class WarehouseError(Exception):
    """The warehouse file cannot be served (missing, not a retention warehouse, no marts)."""


@dataclass(frozen=True)
class FileSignature:
    """What identifies the directory entry of the published file: a rebuild's atomic rename
    gives a new inode (and mtime)."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileSignature | None":
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class Models:
    """The models of the served build, or why they are not available."""

    churn: Any = None
    value: Any = None
    segments: Any = None
    artifacts: dict = field(default_factory=dict)
    problem: str | None = None

    @property
    def can_score(self) -> bool:
        return self.churn is not None and self.problem is None


def _records(cur, sql: str, params: list | None = None) -> list[dict]:
    result = cur.execute(sql, params or [])
    names = [d[0] for d in result.description]
    return [{k: clean(v) for k, v in zip(names, row)} for row in result.fetchall()]


def _has(cur, table: str) -> bool:
    """Whether the attached warehouse (database wh) has this schema.table or view."""
    schema, name = table.split(".")
    return bool(cur.execute("select count(*) from duckdb_tables() where database_name = 'wh' and schema_name = ? "
                            "and table_name = ?", [schema, name]).fetchone()[0]
                or cur.execute("select count(*) from duckdb_views() where database_name = 'wh' and "
                               "schema_name = ? and view_name = ?", [schema, name]).fetchone()[0])


class Generation:
    """A loaded build. Use `acquire()` / `release()` (the ServedWarehouse does) around every
    request; `retire()` closes it once the last request using it has finished."""

    def __init__(self, db_path: Path, signature: FileSignature, number: int, load_threads: int | None = None):
        """`load_threads`: DuckDB threads while loading (a swap loads on one, leaving the other
        cores to the requests of the serving generation); queries afterwards use the default."""
        self.db_path, self.signature, self.number = db_path, signature, number
        self.loaded_at = dt.datetime.now(dt.timezone.utc)
        self._lock = threading.Lock()
        self._active = 0
        self._retired = False
        self.closed = False
        self.totals: dict = {}  # customers per filter of the list (CustomerIndex.page)
        # An in-memory database of its own with the file attached read-only (never
        # duckdb.connect(path): a process reuses the cached instance of a path, which after a
        # rebuild would still be the old file).
        config = dict(DUCKDB_CONFIG, **({"threads": load_threads} if load_threads else {}))
        self.mem = duckdb.connect(":memory:", config=config)
        try:
            self.mem.execute(f"attach {_sql_string(str(db_path))} as wh (read_only)")
            self._load()
            if load_threads:
                self.mem.execute("reset threads")
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        cur = self.mem.cursor()
        try:
            if not _has(cur, "marts.customer_decisions"):
                raise WarehouseError(f"'{self.db_path}' has no marts.customer_decisions: it was built with --skip-ml "
                                     "or is not a retention warehouse. Fix: run `retention build` without --skip-ml.")
            self.tables = {key: (_records(cur, f"select * from wh.{table}") if _has(cur, table) else None)
                           for key, table in SMALL_TABLES.items()}
            self.counts = {table: int(cur.execute(f"select count(*) from wh.{table}").fetchone()[0])
                           for table in COUNTED if _has(cur, table)}
        finally:
            cur.close()
        artifacts = {a["model_kind"]: a for a in (self.tables.get("artifacts") or [])}
        self.build_id = next((a["build_id"] for a in artifacts.values() if a.get("build_id")), None)
        parameters = (self.tables.get("parameters") or [{}])[0]
        self.as_of_date = parameters.get("as_of_date")
        self._load_memory()
        self.known = self._known_values()

    def _load_memory(self) -> None:
        """Copy the customers and their recent orders into an in-memory database; keep Arrow copies,
        a sorted id array for O(log n) lookups by id, and the customer list's index (row orders of
        every sort, filter columns as arrays)."""
        self.mem.execute(KEPT_ORDERS_SQL)
        self.mem.execute("create table customers as " + CUSTOMERS_SQL)
        self.customers = self.mem.sql("select * from customers order by rowid").to_arrow_table().combine_chunks()
        self.orders = self.mem.sql(ORDERS_SQL).to_arrow_table().combine_chunks()
        self.mem.execute("drop table kept_orders")
        cur = self.mem.cursor()
        try:
            self.index = CustomerIndex(cur, self.customers)
        finally:
            cur.close()
        self.ids = self.index.ids
        self._customer_columns = _columns(self.customers)
        self._order_columns = [c for c in _columns(self.orders) if c[0] != "customer_id"]
        kept = np.asarray(self.customers.column("orders_kept").to_numpy(), dtype=np.int64)
        self.order_starts = np.concatenate([[0], np.cumsum(kept)[:-1]]) if len(kept) else np.zeros(0, np.int64)
        self.columns = self.customers.column_names

    def _known_values(self) -> dict[str, list]:
        cur = self.mem.cursor()
        try:
            def distinct(column: str) -> list:
                return [r[0] for r in cur.execute(
                    f"select distinct {column} from customers where {column} is not null order by 1").fetchall()]

            quadrants = [q["quadrant_key"] for q in (self.tables.get("quadrants") or [])] or distinct("quadrant_key")
            return {"quadrant": quadrants, "segment": distinct("rfm_segment"), "cluster": distinct("cluster_id"),
                    "risk_band": list(RISK_BANDS), "country": distinct("country")}
        finally:
            cur.close()

    def load_models(self, warehouse_dir: Path) -> None:
        from models_py.persistence import ModelMismatch, load_model
        from retention.publish import is_build_id, model_folder

        artifacts = {a["model_kind"]: a for a in (self.tables.get("artifacts") or [])}
        self.models = Models(artifacts=artifacts)
        if not artifacts:
            self.models.problem = ("this warehouse has no ml.model_artifacts (built before models were saved). "
                                   "Fix: rebuild it with `retention build`.")
            return
        if not self.build_id or not is_build_id(self.build_id):
            self.models.problem = ("the models of this warehouse were not saved (dbt was run by hand). "
                                   "Fix: build with `retention build`.")
            return
        folder = model_folder(warehouse_dir, self.build_id)
        try:
            self.models.churn = load_model(folder, artifacts["churn"])
            self.models.value = load_model(folder, artifacts["value"]) if "value" in artifacts else None
            self.models.segments = load_model(folder, artifacts["segments"]) if "segments" in artifacts else None
        except ModelMismatch as exc:
            self.models = Models(artifacts=artifacts, problem=str(exc))

    # ------------------------------------------------------------------ reading
    def position(self, customer_id: str) -> int | None:
        i = int(np.searchsorted(self.ids, customer_id))
        return i if i < len(self.ids) and self.ids[i] == customer_id else None

    def customer_row(self, i: int) -> dict:
        row = {name: column[i].as_py() for name, column, _ in self._customer_columns}
        for name, _, cleaned in self._customer_columns:
            if cleaned:
                row[name] = clean(row[name])
        return row

    def recent_orders(self, i: int, count: int) -> list[dict]:
        start = int(self.order_starts[i])
        columns = []
        for _, column, cleaned in self._order_columns:
            values = column.slice(start, int(count)).to_pylist()
            columns.append([clean(v) for v in values] if cleaned else values)
        names = [name for name, _, _ in self._order_columns]
        return [dict(zip(names, row)) for row in zip(*columns)]

    def features(self, customer_id: str) -> dict | None:
        """The customer's stored features, converted as the build's Python steps read them (a
        DataFrame from DuckDB), so that scoring them reproduces the stored score exactly."""
        cur = self.mem.cursor()
        try:
            frame = cur.execute("select * from wh.features.customer_features where customer_id = ?",
                                [customer_id]).df()
        finally:
            cur.close()
        return {k: clean(v) for k, v in frame.iloc[0].to_dict().items()} if len(frame) else None

    def report_data(self) -> dict:
        """What the report's sections read, from this build (the dashboard includes them)."""
        from retention.outputs.report.data import load_data

        cur = self.mem.cursor()
        try:
            cur.execute("use wh")
            return load_data(cur)
        finally:
            cur.close()

    def cursor(self):
        return self.mem.cursor()

    def artifact_json(self, kind: str, column: str):
        artifact = (getattr(self, "models", None) or Models()).artifacts.get(kind) or {}
        return json.loads(artifact[column]) if artifact.get(column) else None

    # ------------------------------------------------------------------ lifetime
    def acquire(self) -> bool:
        with self._lock:
            if self.closed:
                return False
            self._active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._active -= 1
            close = self._retired and self._active == 0 and not self.closed
            if close:
                self.closed = True  # under the lock: no request can acquire it any more
        if close:  # off the request (the event loop): closing a large database takes a while
            threading.Thread(target=self._close_connections, name=f"close-generation-{self.number}",
                             daemon=True).start()

    def retire(self) -> None:
        with self._lock:
            self._retired = True
            close = self._active == 0 and not self.closed
            if close:
                self.closed = True
        if close:
            self._close_connections()

    @property
    def active(self) -> int:
        return self._active

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self._close_connections()

    def _close_connections(self) -> None:
        if getattr(self, "mem", None) is not None:
            try:
                self.mem.close()
            except duckdb.Error:
                pass


def _columns(table) -> list[tuple]:
    """(name, Arrow array, whether its values go through `clean`) of a single-chunk table."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        array = column.chunk(0) if column.num_chunks == 1 else column
        columns.append((name, array, column_kind(column.type) != "plain"))
    return columns


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
