"""`retention serve` on a real demo build: the API through FastAPI's TestClient, checked against
the warehouse's own tables; scoring with the persisted model against the stored scores; hostile
inputs; the hot swap of a rebuild (in process, and under load on the real server).

The served folder is a copy of the session's demo build (file and models), with hostile text in a
customer's country; a "rebuild" is published into it the way a build publishes (a finished file
swapped in by `publish_atomically`) with its own build id and model folder.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import numpy as np
import pytest
from fastapi.testclient import TestClient

from helpers import copy_warehouse, query, start_server
from models_py.snapshots import FEATURES
from retention.publish import new_build_id, publish_atomically
from retention.serve.app import create_app
from retention.serve.queries import LIST_COLUMNS
from retention.serve.scoring import MAX_RECORDS, stored_features_body

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def served_dir(demo_db, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("served")
    db = copy_warehouse(demo_db, folder)
    con = duckdb.connect(str(db))
    try:
        victim = con.execute("select customer_id from marts.customer_decisions order by customer_id limit 1").fetchone()[0]
        con.execute("update marts.customer_decisions set country = ? where customer_id = ?", [HOSTILE, victim])
    finally:
        con.close()
    return folder


@pytest.fixture(scope="module")
def client(served_dir):
    app = create_app(served_dir, poll_seconds=0)  # swaps only when a test asks (check())
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def db(served_dir) -> Path:
    return served_dir / "retention.duckdb"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body["error"]


def publish_rebuild(folder: Path, customer_id: str, probability: float) -> str:
    """Publish a finished 'rebuild' into the folder as a build does: a new file (here the served one
    with one customer's churn probability changed), its own build id and model folder, one atomic
    rename. Returns the new build id."""
    final = folder / "retention.duckdb"
    building = folder / "retention.duckdb.building"
    shutil.copy(final, building)
    build_id = new_build_id()
    con = duckdb.connect(str(building))
    try:
        old = con.execute("select any_value(build_id) from ml.model_artifacts").fetchone()[0]
        con.execute("update ml.model_artifacts set build_id = ?", [build_id])
        con.execute("update marts.customer_decisions set churn_probability = ? where customer_id = ?",
                    [probability, customer_id])
    finally:
        con.close()
    shutil.copytree(folder / "models" / old, folder / "models" / build_id)
    publish_atomically(building, final)
    return build_id


# --------------------------------------------------------------------------- service, lookups


def test_health_names_the_served_build_and_counts_its_tables(client, db):
    body = client.get("/health").json()
    build_id = query(db, "select any_value(build_id) as b from ml.model_artifacts").b[0]
    assert body["status"] == "ok" and body["build_id"] == build_id and body["scoring"] == "available"
    assert body["as_of_date"] == str(query(db, "select as_of_date from intermediate.int_analysis_parameters").as_of_date[0].date())
    for table, count in body["table_counts"].items():
        assert count == query(db, f"select count(*) as n from {table}").n[0], table


def test_a_customer_is_everything_the_warehouse_knows(client, db):
    row = query(db, """select d.*, p.plan_rank, p.reason, p.is_targeted from marts.customer_decisions d
                       join marts.retention_plan p using (customer_id) where p.is_targeted
                       order by p.plan_rank limit 1""").iloc[0]
    body = client.get(f"/api/customers/{row.customer_id}").json()
    assert body["churn"]["probability"] == row.churn_probability
    assert body["churn"]["risk_band"] == row.risk_band
    assert "; ".join(body["churn"]["drivers"]) == row.top_drivers
    assert body["value"]["value_if_retained"] == row.value_if_retained and body["value"]["clv"] == row.clv
    assert body["decision"]["quadrant_key"] == row.quadrant_key and body["decision"]["action"] == row.action
    assert body["plan"] == {**body["plan"], "rank": row.plan_rank, "is_targeted": True, "reason": row.reason,
                            "expected_incremental_profit": row.expected_incremental_profit}
    assert body["rfm"]["rfm_segment"] == row.rfm_segment and body["rfm"]["frequency"] == row.frequency
    assert body["cluster"] == {"id": row.cluster_id, "name": row.cluster_name}
    orders = query(db, """select invoice_no, cast(order_value as double) as v from intermediate.int_orders
                          where customer_id = ? order by order_at desc, invoice_no desc limit 20""", [row.customer_id])
    assert [o["invoice_no"] for o in body["recent_orders"]] == orders.invoice_no.tolist()
    assert [o["order_value"] for o in body["recent_orders"]] == pytest.approx(orders.v.tolist(), rel=1e-12)
    assert body["orders_shown"] == min(20, row.frequency)


def test_an_unknown_customer_is_a_404_that_says_so(client):
    response = client.get("/api/customers/NOPE-404")
    assert response.status_code == 404
    assert "no customer 'NOPE-404'" in error_of(response)["message"]


# --------------------------------------------------------------------------- lists


def test_a_filtered_page_is_the_sql_of_the_same_filters(client, db):
    quadrant, band = query(db, """select quadrant_key, risk_band from marts.customer_decisions
                                  group by 1, 2 order by count(*) desc limit 1""").iloc[0]
    expected = query(db, """select customer_id from marts.customer_decisions
                            where quadrant_key = ? and risk_band = ? and churn_probability >= 0.3
                            order by churn_probability desc, customer_id""", [quadrant, band]).customer_id.tolist()
    assert len(expected) > 12
    page = client.get("/api/customers", params={"quadrant": quadrant, "risk_band": band, "min_probability": 0.3,
                                                "sort": "-churn_probability", "limit": 10, "offset": 2}).json()
    assert page["total"] == len(expected)
    assert [c["customer_id"] for c in page["customers"]] == expected[2:12]


@pytest.fixture(scope="module")
def odd_dir(served_dir, tmp_path_factory) -> Path:
    """The served warehouse with the cases a sort or a filter can get wrong: NULL and NaN
    probabilities and profits, a NULL country, and long runs of ties."""
    folder = tmp_path_factory.mktemp("odd")
    db = copy_warehouse(served_dir / "retention.duckdb", folder)
    con = duckdb.connect(str(db))
    try:
        ids = [r[0] for r in con.execute("select customer_id from marts.customer_decisions order by customer_id").fetchall()]
        con.execute("update marts.customer_decisions set churn_probability = null where customer_id in (?, ?)", ids[3:5])
        con.execute("update marts.customer_decisions set churn_probability = 'nan'::double where customer_id = ?", [ids[6]])
        con.execute("update marts.customer_decisions set expected_incremental_profit = 'nan'::double, clv = null "
                    "where customer_id in (?, ?)", ids[7:9])
        con.execute("update marts.customer_decisions set country = null, value_if_retained = 0 where customer_id = ?",
                    [ids[10]])
        con.execute("update marts.customer_decisions set value_if_retained = 12.5, churn_probability = 0.5 "
                    "where customer_id in (select customer_id from marts.customer_decisions order by hash(customer_id) "
                    "limit 40)")
    finally:
        con.close()
    return folder


# The customers table of a generation, written out again as the oracle reads it.
ORACLE_CUSTOMERS = """
    select d.*, p.plan_rank, coalesce(p.is_targeted, false) as is_targeted, cast(d.monetary as double) as monetary_d
    from marts.customer_decisions as d left join marts.retention_plan as p using (customer_id)
"""


def oracle_page(db: Path, params: dict) -> tuple[int, list[dict]]:
    """The page as plain SQL: where, order by ... nulls last, customer_id, limit, offset."""
    clauses, values = [], []
    for name, column in (("quadrant", "quadrant_key"), ("segment", "rfm_segment"), ("cluster", "cluster_id"),
                         ("risk_band", "risk_band"), ("country", "country")):
        if params.get(name):
            clauses.append(f"{column} in ({', '.join('?' * len(params[name]))})")
            values += params[name]
    for name, op in (("min_probability", ">="), ("max_probability", "<=")):
        if name in params:
            clauses.append(f"churn_probability {op} ?")
            values.append(params[name])
    if "targeted" in params:
        clauses.append("is_targeted = ?")
        values.append(params["targeted"] == "true")
    if "q" in params:
        clauses.append("starts_with(customer_id, ?)")
        values.append(params["q"])
    where = (" where " + " and ".join(clauses)) if clauses else ""
    sort = params["sort"]
    column, direction = (sort[1:], "desc") if sort.startswith("-") else (sort, "asc")
    tie = "" if column == "customer_id" else ", customer_id"
    columns = ", ".join("monetary_d as monetary" if c == "monetary" else c for c in LIST_COLUMNS)
    sql = f"from ({ORACLE_CUSTOMERS}){where}"
    con = duckdb.connect(str(db), read_only=True)
    try:
        total = con.execute(f"select count(*) {sql}", values).fetchone()[0]
        result = con.execute(f"select {columns} {sql} order by {column} {direction} nulls last{tie} limit ? offset ?",
                             [*values, params["limit"], params["offset"]])
        names = [d[0] for d in result.description]
        rows = [{k: _plain(v) for k, v in zip(names, row)} for row in result.fetchall()]
    finally:
        con.close()
    return int(total), rows


def _plain(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value.isoformat() if hasattr(value, "isoformat") else value


def test_every_sort_and_many_filters_page_exactly_as_sql_does(odd_dir):
    """Every sort key both ways, with random filters, offsets and limits (including the NULL, NaN
    and tied rows of odd_dir, pages past the end and a customer-id prefix): the same count, rows,
    values and order as the SQL."""
    import random

    from retention.serve.queries import SORTABLE

    db = odd_dir / "retention.duckdb"
    known = query(db, "select distinct quadrant_key, rfm_segment, cluster_id, risk_band, country "
                      "from marts.customer_decisions")
    choices = {"quadrant": sorted(known.quadrant_key.dropna().unique()), "segment": sorted(known.rfm_segment.dropna().unique()),
               "cluster": sorted(int(c) for c in known.cluster_id.dropna().unique()),
               "risk_band": ["low", "medium", "high"], "country": sorted(known.country.dropna().unique())}
    first_id = query(db, "select min(customer_id) as c from marts.customer_decisions").c[0]
    rng = random.Random(13)
    app = create_app(odd_dir, poll_seconds=0)
    checked = 0
    with TestClient(app) as c:
        for sort in [s for column in SORTABLE for s in (column, "-" + column)]:
            for k in range(8):
                params = {"sort": sort, "limit": rng.choice([1, 13, 50, 500]), "offset": rng.choice([0, 0, 7, 50, 3000])}
                for name, values in choices.items():
                    if rng.random() < 0.35:
                        params[name] = rng.sample(values, min(len(values), rng.choice([1, 1, 2, 3])))
                if rng.random() < 0.3:
                    params["min_probability"] = rng.choice([0.0, 0.3, 0.5, 0.9])
                if rng.random() < 0.2:
                    params["max_probability"] = rng.choice([p for p in (0.5, 0.7, 1.0)
                                                            if p >= params.get("min_probability", 0)])
                if rng.random() < 0.2:
                    params["targeted"] = rng.choice(["true", "false"])
                if k == 7:
                    params["q"] = first_id[:max(1, len(first_id) - 2)]
                total, rows = oracle_page(db, params)
                body = c.get("/api/customers", params=params).json()
                assert body.get("total") == total, (params, body)
                assert body["customers"] == rows, params
                checked += len(rows)
        # the first and the last rows of each sort: where SQL puts the NaN and the NULL ones
        everyone = oracle_page(db, {"sort": "customer_id", "limit": 1, "offset": 0})[0]
        for sort in ("churn_probability", "-churn_probability", "-expected_incremental_profit", "clv", "country"):
            for offset in (0, everyone - 20):
                params = {"sort": sort, "limit": 50, "offset": offset}
                assert c.get("/api/customers", params=params).json()["customers"] == oracle_page(db, params)[1], params
    assert checked > 1000


def test_the_csv_download_is_the_whole_filtered_list_in_order(client, db):
    country = query(db, "select country from marts.customer_decisions group by 1 order by count(*) desc limit 1").country[0]
    expected = query(db, """select d.customer_id, p.plan_rank from marts.customer_decisions d
                            join marts.retention_plan p using (customer_id)
                            where d.country = ? and p.is_targeted order by p.plan_rank""", [country])
    response = client.get("/api/customers", params={"country": country, "targeted": "true", "sort": "plan_rank",
                                                    "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["customer_id"] for r in rows] == expected.customer_id.tolist()
    assert [int(r["plan_rank"]) for r in rows] == expected.plan_rank.tolist()


def test_the_selection_summary_adds_up_as_sql_does(client, db):
    segment = query(db, "select rfm_segment from marts.customer_decisions group by 1 order by count(*) desc limit 1").rfm_segment[0]
    body = client.get("/api/customers/summary", params={"segment": segment}).json()
    sql = query(db, """select count(*) as n, sum(churn_probability * revenue_if_retained) as risk
                       from marts.customer_decisions where rfm_segment = ?""", [segment]).iloc[0]
    assert body["customers"] == sql.n and body["revenue_at_risk"] == pytest.approx(sql.risk, rel=1e-9)
    by_quadrant = query(db, """select quadrant_key, count(*) as n from marts.customer_decisions
                               where rfm_segment = ? group by 1""", [segment])
    assert {q["key"]: q["customers"] for q in body["by_quadrant"]} == dict(zip(by_quadrant.quadrant_key, by_quadrant.n))
    assert sum(b["customers"] for b in body["probability_histogram"]) == sql.n


def test_the_marts_endpoints_return_the_marts(client, db):
    kpis = client.get("/api/kpis").json()["kpis"]
    assert kpis["total_customers"] == query(db, "select total_customers from marts.retention_kpis").total_customers[0]
    assert len(client.get("/api/segments").json()["summary"]) == query(db, "select count(*) as n from marts.segment_summary").n[0]
    assert len(client.get("/api/cohorts").json()["cohorts"]) == query(db, "select count(*) as n from features.cohort_retention").n[0]
    plan = client.get("/api/plan", params={"limit": 5}).json()
    targeted = query(db, "select customer_id from marts.retention_plan where is_targeted order by plan_rank")
    assert plan["targeted"] == len(targeted) and [c["customer_id"] for c in plan["customers"]] == targeted.customer_id[:5].tolist()
    roi = client.get("/api/campaigns").json()["roi"]
    assert len(roi) == query(db, "select count(*) as n from marts.campaign_roi").n[0]


# --------------------------------------------------------------------------- scoring


def test_the_model_endpoint_names_the_served_model_and_its_inputs(client, db):
    body = client.get("/api/model").json()
    feature_columns = set(query(db, "select * from features.customer_features limit 0").columns)
    assert body["features"] == list(FEATURES) and set(body["features"]) <= feature_columns
    metrics = query(db, """select metric, value from ml.churn_model_metrics
                           where model = (select model_name from ml.model_artifacts where model_kind = 'churn') || '_calibrated'""")
    stored = dict(zip(metrics.metric, metrics.value))
    assert body["metrics"]["roc_auc"] == stored["roc_auc"] and body["threshold"] == stored["threshold"]
    assert body["name"] == query(db, "select model_name from ml.model_artifacts where model_kind = 'churn'").model_name[0]


def test_scoring_the_stored_features_gives_exactly_the_stored_scores(client, db):
    """The persisted model is the one that scored the warehouse: same features in, same
    probability and drivers out, one by one and as a batch (customers with NULL inputs included)."""
    features = query(db, "select * from features.customer_features order by customer_id")
    stored = query(db, "select * from ml.churn_scores order by customer_id")
    picks = sorted(set(np.linspace(0, len(features) - 1, 15).astype(int))
                   | set(np.flatnonzero(features.mean_days_between_orders.isna().to_numpy())[:3])
                   | set(np.flatnonzero(features.orders_same_window_last_year.isna().to_numpy())[:3]))
    bodies = [stored_features_body(features.iloc[i].to_dict()) for i in picks]
    assert any(b["mean_days_between_orders"] is None for b in bodies)
    for i, record in zip(picks, bodies):
        result = client.post("/api/score", json={"features": record}).json()
        assert result["churn_probability"] == stored.churn_probability[i], stored.customer_id[i]
        assert result["risk_band"] == stored.risk_band[i]
        assert "; ".join(result["top_drivers"]) == stored.top_drivers[i]
    batch = client.post("/api/score", json={"records": bodies}).json()["results"]
    assert [r["churn_probability"] for r in batch] == stored.churn_probability[picks].tolist()
    segments = query(db, "select cluster_id from ml.customer_segments order by customer_id").cluster_id
    assert [r["cluster_id"] for r in batch] == segments[picks].tolist()
    served = client.get(f"/api/customers/{features.customer_id[picks[0]]}/features").json()["features"]
    assert served == bodies[0]


def _typical(client) -> dict:
    return {k: v for k, v in client.get("/api/model").json()["typical_customer"].items()}


@pytest.mark.parametrize("change, field", [
    (lambda r: r.pop("recency_days"), "features.recency_days"),
    (lambda r: r.update(loyalty_points=3), "features.loyalty_points"),
    (lambda r: r.update(frequency="seven"), "features.frequency"),
    (lambda r: r.update(frequency=True), "features.frequency"),
    (lambda r: r.update(recency_days=-5), "features.recency_days"),
    (lambda r: r.update(monetary=1e300), "features.monetary"),
    (lambda r: r.update(r_score=7), "features.r_score"),
    (lambda r: r.update(country=""), "features.country"),
    (lambda r: r.update(tenure_days=None), "features.tenure_days"),
])
def test_a_bad_record_is_a_422_naming_the_field(client, change, field):
    record = _typical(client)
    change(record)
    response = client.post("/api/score", json={"features": record})
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == field and field in error["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinite_values_are_refused(client, literal):
    body = json.dumps({"features": {**_typical(client), "revenue_30d": 1.5}})
    assert '"revenue_30d": 1.5' in body
    response = client.post("/api/score", content=body.replace('"revenue_30d": 1.5', f'"revenue_30d": {literal}'),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and error_of(response)["field"] == "features.revenue_30d"


def test_a_request_must_hold_one_record_or_a_bounded_batch(client):
    record = _typical(client)
    for body in ({"features": record, "records": [record]}, {}, {"records": []},
                 {"records": [record] * (MAX_RECORDS + 1)}):
        assert client.post("/api/score", json=body).status_code == 422
    too_big = client.post("/api/score", content=b'{"records": [' + b" " * 1_100_000 + b"]}",
                          headers={"content-type": "application/json"})
    assert too_big.status_code == 413 and "bytes" in error_of(too_big)["message"]


def test_a_model_saved_with_other_library_versions_is_refused(served_dir, tmp_path):
    folder = tmp_path / "old_versions"
    db = copy_warehouse(served_dir / "retention.duckdb", folder)
    con = duckdb.connect(str(db))
    try:
        con.execute("""update ml.model_artifacts set library_versions =
                       json_merge_patch(library_versions, '{"scikit-learn": "0.24.2"}')""")
    finally:
        con.close()
    with TestClient(create_app(folder, poll_seconds=0)) as c:
        health = c.get("/health").json()
        assert "scikit-learn 0.24.2 (model)" in health["scoring"] and "Fix:" in health["scoring"]
        record = {name: 1.0 for name in FEATURES if name != "country"} | {"country": "France", "r_score": 3,
                                                                          "f_score": 3, "m_score": 3}
        refused = c.post("/api/score", json={"features": record})
        assert refused.status_code == 503 and "scikit-learn 0.24.2" in error_of(refused)["message"]
        assert c.get("/api/customers", params={"limit": 1}).status_code == 200  # the rest is served


# --------------------------------------------------------------------------- hostile input, pages


@pytest.mark.parametrize("path, params", [
    ("/api/customers", {"country": "France' or '1'='1"}),
    ("/api/customers", {"quadrant": "x; drop table customers; --"}),
    ("/api/customers", {"sort": "churn_probability; drop table customers"}),
    ("/api/customers", {"sort": "(select 1)"}),
    ("/api/customers", {"limit": 10**9}),
    ("/api/customers", {"limit": 0}),
    ("/api/customers", {"offset": -1}),
    ("/api/customers", {"offset": 10**12}),
    ("/api/customers", {"min_probability": "nan"}),
    ("/api/customers", {"min_probability": 1.5}),
    ("/api/customers", {"min_probability": 0.9, "max_probability": 0.1}),
    ("/api/customers", {"cluster": "zero"}),
    ("/api/customers", {"segment": "Champions\u202e\U0001f600"}),
    ("/api/customers", {"q": "12\x00"}),
    ("/api/customers", {"format": "xlsx"}),
    ("/api/customers/%27%20or%201%3D1%20--", {}),
    ("/api/customers/\u00e9\u6f22\U0001f600", {}),
    ("/api/customers/" + "9" * 65, {}),
    ("/api/customers/a%00b", {}),
    ("/api/customers/..%2F..%2Fetc%2Fpasswd", {}),
    ("/static/..%2F..%2Fpyproject.toml", {}),
    ("/static/%2e%2e/%2e%2e/app.py", {}),
    ("/static/report/../../serve/app.py", {}),
    ("/api/plan", {"limit": 100000}),
    ("/etc/passwd", {}),
])
def test_hostile_inputs_are_refused_with_a_4xx(client, path, params):
    response = client.get(path, params=params)
    assert 400 <= response.status_code < 500, (path, params, response.status_code, response.text[:300])
    assert "Traceback" not in response.text and "duckdb" not in response.text.lower()
    if response.headers.get("content-type", "").startswith("application/json"):
        assert error_of(response)["message"]


def test_an_internal_error_is_a_500_without_a_stack_trace(client, monkeypatch):
    generation = client.app.state.warehouse.current

    def broken(*args):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(generation, "customer_row", broken)
    customer_id = generation.ids[0]
    response = client.get(f"/api/customers/{customer_id}")
    assert response.status_code == 500
    assert error_of(response)["message"] == "internal error (the details are in the server log)"
    assert "secret detail" not in response.text


def test_the_dashboard_escapes_customer_text_sets_a_csp_and_ships_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert "http://" not in html and "https://" not in html and "<script>alert" not in html
    for src in ("/static/dashboard.js", "/static/dashboard.css", "/static/report/report.js", "/static/report/report.css"):
        assert src in html and client.get(src).status_code == 200, src
    # the report's views, live: its section templates rendered from the served build
    for section in ("overview", "explore", "customer", "score", "trend", "cohorts", "segments", "decisions", "plan",
                    "campaigns", "model"):
        assert f'<section id="{section}"' in html, section
    customers = client.get("/api/customers", params={"q": client.app.state.warehouse.current.ids[0]}).json()
    assert customers["customers"][0]["country"] == HOSTILE  # data, as JSON; the page writes it as text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200
    assert "/api/score" in client.get("/openapi.json").json()["paths"]


# --------------------------------------------------------------------------- hot swap


def test_a_rebuild_is_swapped_in_and_requests_in_flight_stay_on_their_build(served_dir, tmp_path):
    folder = tmp_path / "swap"
    copy_warehouse(served_dir / "retention.duckdb", folder)
    app = create_app(folder, poll_seconds=0)
    served = app.state.warehouse
    with TestClient(app) as c:
        first = c.get("/health").json()["build_id"]
        customer_id = served.current.ids[1]
        before = c.get(f"/api/customers/{customer_id}").json()["churn"]["probability"]
        with served.use() as in_flight:
            assert not served.check()  # nothing new yet
            second = publish_rebuild(folder, customer_id, 0.123)
            assert served.check()  # swapped while a request holds the first build
            assert in_flight.build_id == first and not in_flight.closed
            assert in_flight.customer_row(in_flight.position(customer_id))["churn_probability"] == before
            assert c.get("/health").json()["build_id"] == second
        assert in_flight.closed  # closed once its last request finished
        assert c.get(f"/api/customers/{customer_id}").json()["churn"]["probability"] == 0.123
        assert c.get("/health").json()["swaps"] == 1
        # a half-built file is never read: only the published name is
        (folder / "retention.duckdb.building").write_bytes(b"not a database")
        assert not served.check() and c.get("/health").json()["build_id"] == second


def test_the_server_swaps_a_rebuild_under_load_without_losing_a_request(served_dir, tmp_path):
    """The real command: requests from 8 threads for a few seconds while a rebuild is published;
    every request answers 200, both builds are seen, and Ctrl-C stops the server cleanly."""
    folder = tmp_path / "live"
    copy_warehouse(served_dir / "retention.duckdb", folder)
    proc, url = start_server(folder)
    try:
        ids = query(folder / "retention.duckdb", "select customer_id from marts.customer_decisions limit 50").customer_id.tolist()
        results, stop = [], threading.Event()

        def client_loop(k: int):
            n = 0
            while not stop.is_set() and n < 2000:
                path = f"/api/customers/{ids[n % len(ids)]}" if k % 2 else "/api/customers?limit=20&risk_band=high"
                try:
                    with urllib.request.urlopen(url + path, timeout=10) as r:
                        results.append((r.status, json.loads(r.read())["build_id"]))
                except urllib.error.HTTPError as e:
                    results.append((e.code, None))
                except OSError as e:
                    results.append((str(e), None))
                n += 1

        threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        second = publish_rebuild(folder, ids[0], 0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(b == second for _, b in results[-50:]):
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        statuses = {s for s, _ in results}
        builds = {b for _, b in results}
        assert statuses == {200}, [r for r in results if r[0] != 200][:5]
        assert second in builds and len(builds) == 2 and len(results) > 100
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    assert "now serving build " + second in out and "Traceback" not in out
