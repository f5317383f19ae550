"""The web application: the dashboard at `/`, the JSON API under `/api`, OpenAPI docs at `/docs`.

`create_app(warehouse_dir)` loads the published warehouse (a `ServedWarehouse`), starts the
watcher that swaps in a rebuild, and returns the FastAPI app. Every route takes the current
generation once and reads only from it. Errors are JSON `{"error": {"status", "message",
"field"?}}` without a stack trace; request bodies over `MAX_BODY_BYTES` are refused (413); every
response carries a Content-Security-Policy and no-sniff headers.
"""
from __future__ import annotations

import json
import logging
import math
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from models_py.snapshots import FEATURES
from retention.serve.generation import Generation, WarehouseError
from retention.serve.queries import (
    DEFAULT_SORT, MAX_LIMIT, MAX_OFFSET, SORTABLE, FilterError, Filters, customer_csv, selection_summary,
)
from retention.serve.scoring import ScoreRequest, score_records, stored_features_body
from retention.serve.warehouse import ServedWarehouse

log = logging.getLogger("retention.serve")
HERE = Path(__file__).resolve().parent
MAX_BODY_BYTES = 1_048_576
CUSTOMER_ID = r"^[^\x00-\x1f\x7f/\\]{1,64}$"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI starts with an inline script (FastAPI's page); its assets ship with fastapi-offline.
DOCS_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "message": message}
    if field:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413), by Content-Length or while streaming."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    return await _error(413, f"request body over {self.limit:,} bytes")(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _error(413, f"request body over {self.limit:,} bytes")(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        policy = DOCS_CSP if scope.get("path", "").startswith("/docs") else CSP

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                if scope.get("path", "").startswith("/api"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _filters(quadrant, segment, cluster, risk_band, country, min_probability, max_probability, targeted, q,
             generation: Generation) -> Filters:
    return Filters(list(quadrant or []), list(segment or []), list(cluster or []), list(risk_band or []),
                   list(country or []), min_probability, max_probability, targeted, q).check(generation.known)


_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                         default=lambda value: value.isoformat() if hasattr(value, "isoformat") else _unknown(value))


def _unknown(value):
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(body: dict) -> Response:
    """The body encoded as FastAPI's JSONResponse would (dates as ISO strings), without its
    per-value conversion (jsonable_encoder): the hot routes' answer."""
    return Response(_JSON.encode(body).encode("utf-8"), media_type="application/json")


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _table(generation: Generation, key: str) -> list[dict]:
    rows = generation.tables.get(key)
    if rows is None:
        raise HTTPException(404, f"this warehouse has no {key} table")
    return rows


def create_app(warehouse_dir: str | os.PathLike, poll_seconds: float = 1.0) -> FastAPI:
    """The app over the warehouse folder's published file (raises WarehouseError when there is
    nothing to serve)."""
    served = ServedWarehouse(Path(warehouse_dir), poll_seconds)
    served.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        served.start()
        try:
            yield
        finally:
            served.stop()

    app = FastAPI(title="Retention warehouse API", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The served build of the retention warehouse: customers, decisions, the retention "
                              "plan, campaigns, and real-time churn scoring with the build's own model.")
    app.state.warehouse = served
    _routes(app, served)
    _handlers(app)
    _static(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory` with several workers: the folder comes from RETENTION_SERVE_DIR."""
    return create_app(os.environ["RETENTION_SERVE_DIR"], float(os.environ.get("RETENTION_SERVE_POLL", "1.0")))


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or endpoint: {request.url.path[:200]}"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path[:200]}"
        return _error(exc.status_code, message, getattr(exc, "field", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        fields = []
        for error in exc.errors():
            location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
            fields.append({"field": location or "body", "message": error.get("msg", "invalid")})
        first = fields[0] if fields else {"field": "body", "message": "invalid request"}
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:10])
        return JSONResponse({"error": {"status": 422, "message": message, "field": first["field"], "fields": fields}},
                            status_code=422)

    @app.exception_handler(FilterError)
    async def bad_filter(request: Request, exc: FilterError):
        return _error(422, str(exc), exc.field)

    @app.exception_handler(WarehouseError)
    async def no_warehouse(request: Request, exc: WarehouseError):
        return _error(503, str(exc))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        log.exception("error in %s %s", request.method, request.url.path)
        return _error(500, "internal error (the details are in the server log)")


def _static(app: FastAPI) -> None:
    import fastapi_offline

    from retention.outputs.report import render as report_render

    app.mount("/static/report", StaticFiles(directory=report_render.HERE / "assets"), name="report-assets")
    app.mount("/static/docs", StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs")
    app.mount("/static", StaticFiles(directory=HERE / "assets"), name="assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Retention warehouse API",
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon.png")


Quadrant = Annotated[list[str] | None, Query(max_length=10, description="quadrant_key, e.g. high_value_high_risk")]
Segment = Annotated[list[str] | None, Query(max_length=20, description="RFM segment, e.g. At Risk")]
Cluster = Annotated[list[int] | None, Query(max_length=20, description="behavioural cluster id")]
RiskBand = Annotated[list[str] | None, Query(max_length=3, description="low, medium or high")]
Country = Annotated[list[str] | None, Query(max_length=50, description="country as in the data")]
MinP = Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False, description="churn probability at least")]
MaxP = Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False, description="churn probability at most")]
Targeted = Annotated[bool | None, Query(description="in the retention plan's contacts (true) or not")]
Search = Annotated[str | None, Query(min_length=1, max_length=64, description="customer id or its beginning")]
# The hot routes answer with pre-encoded JSON (a Response); this documents it in /openapi.json.
_JSON_OBJECT = {200: {"content": {"application/json": {"schema": {"type": "object"}}}}}
CustomerId = Annotated[str, PathParam(pattern=CUSTOMER_ID, description="customer_id")]


def _routes(app: FastAPI, served: ServedWarehouse) -> None:
    """Every route, in the order they are matched."""
    _service_routes(app, served)
    _customer_routes(app, served)
    _customer_page_routes(app, served)  # after /api/customers/summary, which it would shadow
    _mart_routes(app, served)
    _scoring_routes(app, served)


def _service_routes(app: FastAPI, served: ServedWarehouse) -> None:
    @app.get("/", include_in_schema=False)
    def dashboard() -> HTMLResponse:
        from retention.serve.dashboard import dashboard_html

        with served.use() as g:
            return HTMLResponse(dashboard_html(g))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/health", tags=["service"])
    def health() -> dict:
        """Status, build id, as-of date and table counts of the served build."""
        with served.use() as g:
            return {"status": "ok", "build_id": g.build_id, "as_of_date": g.as_of_date, "generation": g.number,
                    "loaded_at": g.loaded_at.isoformat(timespec="seconds"), "swaps": served.swaps,
                    "scoring": "available" if g.models.can_score else f"unavailable: {g.models.problem}",
                    "last_reload_error": served.last_error, "table_counts": g.counts}


def _customer_routes(app: FastAPI, served: ServedWarehouse) -> None:
    @app.get("/api/filters", tags=["customers"])
    def filters() -> dict:
        """The values each filter of /api/customers accepts in the served build, and the sort keys."""
        with served.use() as g:
            quadrants = {q["quadrant_key"]: q["decision_quadrant"] for q in (g.tables.get("quadrants") or [])}
            clusters = {}
            profiles = g.tables.get("segment_profiles") or []
            for p in profiles:
                clusters[int(p["cluster_id"])] = p["cluster_name"]
            return {"quadrant": [{"key": k, "name": quadrants.get(k, k)} for k in g.known["quadrant"]],
                    "segment": g.known["segment"], "risk_band": g.known["risk_band"], "country": g.known["country"],
                    "cluster": [{"id": c, "name": clusters.get(c, str(c))} for c in g.known["cluster"]],
                    "sort": [s for c in SORTABLE for s in (c, "-" + c)], "max_limit": MAX_LIMIT}

    @app.get("/api/customers", tags=["customers"], response_model=None, responses=_JSON_OBJECT)
    async def customers(quadrant: Quadrant = None, segment: Segment = None, cluster: Cluster = None,
                  risk_band: RiskBand = None, country: Country = None, min_probability: MinP = None,
                  max_probability: MaxP = None, targeted: Targeted = None, q: Search = None,
                  sort: Annotated[str, Query(max_length=40)] = DEFAULT_SORT,
                  limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                  format: Annotated[str, Query(pattern="^(json|csv)$")] = "json"):
        """Filtered, sorted pages of customers (limit 1-500, default 50). `format=csv` downloads the
        same filtered, sorted rows as CSV: all of them, or the page when `limit` is given."""
        if format == "csv":
            return _csv_download(served, (quadrant, segment, cluster, risk_band, country, min_probability,
                                          max_probability, targeted, q), sort, limit, offset)
        with served.use() as g:
            chosen = _filters(quadrant, segment, cluster, risk_band, country, min_probability, max_probability,
                              targeted, q, g)
            total, rows = g.index.page(chosen, sort, limit or 50, offset, g.totals)
            return _json({"build_id": g.build_id, "total": total, "offset": offset, "limit": limit or 50,
                          "sort": sort, "customers": rows})

    @app.get("/api/customers/summary", tags=["customers"])
    def summary(quadrant: Quadrant = None, segment: Segment = None, cluster: Cluster = None,
                risk_band: RiskBand = None, country: Country = None, min_probability: MinP = None,
                max_probability: MaxP = None, targeted: Targeted = None, q: Search = None) -> dict:
        """Totals and breakdowns (quadrant, risk band, RFM segment, cluster, probability histogram)
        of the filtered customers: what the dashboard's cards and charts show."""
        with served.use() as g:
            chosen = _filters(quadrant, segment, cluster, risk_band, country, min_probability, max_probability,
                              targeted, q, g)
            cur = g.cursor()
            try:
                return {"build_id": g.build_id, **selection_summary(cur, chosen)}
            finally:
                cur.close()


def _customer_page_routes(app: FastAPI, served: ServedWarehouse) -> None:
    @app.get("/api/customers/{customer_id}", tags=["customers"], response_model=None, responses=_JSON_OBJECT)
    async def customer(customer_id: CustomerId) -> Response:
        """Everything the warehouse knows about one customer: scores, drivers, value, decision,
        plan, RFM, cluster and recent orders."""
        with served.use() as g:
            i = g.position(customer_id)
            if i is None:
                raise HTTPException(404, f"no customer {customer_id[:64]!r} in build {g.build_id}")
            row = g.customer_row(i)
            orders = g.recent_orders(i, row.pop("orders_kept"))
            return _json({
                "build_id": g.build_id, "customer_id": row["customer_id"], "country": row["country"],
                "as_of_date": row["as_of_date"],
                "churn": {"probability": row["churn_probability"], "risk_band": row["risk_band"],
                          "is_high_risk": row["is_high_risk"],
                          "drivers": [d for d in (row["top_drivers"] or "").split("; ") if d]},
                "value": {"value_if_retained": row["value_if_retained"],
                          "revenue_if_retained": row["revenue_if_retained"],
                          "expected_order_value": row["expected_order_value"], "clv": row["clv"],
                          "value_tier": row["value_tier"], "is_high_value": row["is_high_value"]},
                "decision": {"quadrant": row["decision_quadrant"], "quadrant_key": row["quadrant_key"],
                             "strategy": row["strategy"], "action": row["action"], "is_in_plan": row["is_in_plan"]},
                "plan": {"rank": row["plan_rank"], "is_targeted": row["is_targeted"], "scenario": row["plan_scenario"],
                         "expected_incremental_profit": row["expected_incremental_profit"],
                         "expected_cost": row["expected_cost"], "reason": row["plan_reason"]},
                "rfm": {k: row[k] for k in ("rfm_segment", "rfm_score", "recency_days", "frequency", "monetary",
                                            "r_score", "f_score", "m_score", "last_order_date")},
                "cluster": {"id": row["cluster_id"], "name": row["cluster_name"]},
                "recent_orders": orders,
                "orders_shown": len(orders),
            })

    @app.get("/api/customers/{customer_id}/features", tags=["scoring"])
    def customer_features(customer_id: CustomerId) -> dict:
        """The customer's stored model inputs, as a ready /api/score body."""
        with served.use() as g:
            features = g.features(customer_id)
            if features is None:
                raise HTTPException(404, f"no customer {customer_id[:64]!r} in build {g.build_id}")
            return {"build_id": g.build_id, "customer_id": customer_id, "features": stored_features_body(features)}


def _mart_routes(app: FastAPI, served: ServedWarehouse) -> None:
    @app.get("/api/segments", tags=["marts"])
    def segments() -> dict:
        """marts.segment_summary (RFM segments, clusters, quadrants) and ml.segment_profiles."""
        with served.use() as g:
            return {"build_id": g.build_id, "summary": _table(g, "segments"),
                    "clusters": g.tables.get("segment_profiles") or []}

    @app.get("/api/kpis", tags=["marts"])
    def kpis() -> dict:
        """marts.retention_kpis and the monthly trend (marts.retention_kpis_monthly)."""
        with served.use() as g:
            return {"build_id": g.build_id, "kpis": (_table(g, "kpis") or [{}])[0],
                    "monthly": g.tables.get("monthly") or []}

    @app.get("/api/cohorts", tags=["marts"])
    def cohorts() -> dict:
        """features.cohort_retention: cohort month, month offset, customers and retention."""
        with served.use() as g:
            return {"build_id": g.build_id, "cohorts": _table(g, "cohorts")}

    @app.get("/api/plan", tags=["marts"])
    def plan(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
             offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> dict:
        """The retention plan's targeted customers by plan rank, and its totals."""
        with served.use() as g:
            chosen = Filters(targeted=True)
            total, rows = g.index.page(chosen, "plan_rank", limit, offset, g.totals)
            cur = g.cursor()
            try:
                totals = selection_summary(cur, chosen)
            finally:
                cur.close()
            kpis_row = (g.tables.get("kpis") or [{}])[0]
            return {"build_id": g.build_id, "targeted": total, "expected_profit": totals["targeted_expected_profit"],
                    "expected_cost": kpis_row.get("plan_expected_cost"),
                    "scenario": (g.tables.get("parameters") or [{}])[0].get("plan_scenario"),
                    "offset": offset, "limit": limit, "customers": rows}

    @app.get("/api/campaigns", tags=["marts"])
    def campaigns() -> dict:
        """marts.campaign_roi, marts.campaign_inputs (the sums the simulator reads),
        marts.campaign_sensitivity, marts.plan_scenarios, and what past campaigns measured
        (marts.campaign_results and campaign_results_by_segment; empty without campaign files)."""
        with served.use() as g:
            return {"build_id": g.build_id, "roi": _table(g, "campaign_roi"),
                    "inputs": g.tables.get("campaign_inputs") or [], "sensitivity": g.tables.get("sensitivity") or [],
                    "scenarios": g.tables.get("plan_scenarios") or [],
                    "results": g.tables.get("campaign_results") or [],
                    "results_by_segment": g.tables.get("campaign_results_by_segment") or []}


def _scoring_routes(app: FastAPI, served: ServedWarehouse) -> None:
    @app.get("/api/model", tags=["scoring"])
    def model() -> dict:
        """The churn model in use: name, build id, metrics, threshold and its input `features`
        (columns of features.customer_features), plus the value and segment models."""
        with served.use() as g:
            churn = g.models.artifacts.get("churn") or {}
            scorer = g.models.churn
            return {
                "name": churn.get("model_name"), "build_id": g.build_id,
                "features": g.artifact_json("churn", "features") or list(FEATURES),
                "metrics": g.artifact_json("churn", "metrics"),
                "threshold": scorer.threshold if scorer is not None else None,
                "typical_customer": ({k: _finite(v) for k, v in scorer.reference.items()}
                                     if scorer is not None else None),
                "library_versions": g.artifact_json("churn", "library_versions"),
                "scoring": "available" if g.models.can_score else f"unavailable: {g.models.problem}",
                "value_model": {"name": (g.models.artifacts.get("value") or {}).get("model_name"),
                                "metrics": g.artifact_json("value", "metrics")},
                "segment_model": {"name": (g.models.artifacts.get("segments") or {}).get("model_name"),
                                  "metrics": g.artifact_json("segments", "metrics")},
            }

    @app.post("/api/score", tags=["scoring"])
    def score(request: ScoreRequest) -> dict:
        """Churn probability, risk band, drivers and segment of one record (`features`) or of a batch
        (`records`), from the served build's model. The stored features of a customer
        (GET /api/customers/{id}/features) give exactly that customer's stored probability."""
        with served.use() as g:
            if not g.models.can_score:
                raise HTTPException(503, f"scoring is unavailable: {g.models.problem}")
            features = g.artifact_json("churn", "features")
            if features is not None and list(features) != list(FEATURES):
                raise HTTPException(503, "the served model reads other inputs than this server's schema; "
                                         "Fix: serve it with the version of retention that built it.")
            results = score_records(g.models, request.rows(), set(g.known["country"]))
            for r in results:
                if not all(math.isfinite(v) for v in (r["churn_probability"],)):
                    raise HTTPException(500, "the model returned a non-finite probability")
            meta = {"build_id": g.build_id, "model": (g.models.artifacts.get("churn") or {}).get("model_name")}
            if request.features is not None:
                return {**meta, **results[0]}
            return {**meta, "results": results}


def _csv_download(served: ServedWarehouse, filter_args, sort: str, limit: int | None, offset: int):
    """The filtered list as a streamed CSV, read from the generation the request started on."""
    from retention.serve.queries import order_by

    with served.use() as g:
        chosen = _filters(*filter_args, g)  # validated before the response starts: a clean 422
        order_by(sort)
    for _ in range(100):
        generation = served.current
        if generation is not None and generation.acquire():
            break
    else:
        raise WarehouseError("no warehouse is loaded")
    released = False

    def release():
        nonlocal released
        if not released:
            released = True
            generation.release()

    def rows():
        try:
            cur = generation.cursor()
            try:
                yield from customer_csv(cur, chosen, sort, limit, offset)
            finally:
                cur.close()
        finally:
            release()

    name = f"customers_{generation.build_id or 'warehouse'}.csv"
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", background=BackgroundTask(release),
                             headers={"content-disposition": f'attachment; filename="{name}"'})
