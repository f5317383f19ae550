"""The report as one self-contained HTML file: the context the template renders, and the file.

The DuckDB file is opened read-only. The report needs no network when viewed: CSS and the small
simulator script are inlined, the charts are inline SVG. Every value from the warehouse goes
through Jinja's autoescaping (nothing from the data is marked safe); the simulator's inputs are
embedded as JSON with `<`, `>`, `&` and `'` escaped, so no text in the data can close the script
element.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import jinja2

from retention.outputs.report.charts import (
    calibration_chart, cohort_heatmap, gains_chart, importance_chart, share_bars, trend_chart,
)
from retention.outputs.report.data import load_data
from retention.outputs.report.formatting import (
    ensure, fmt_date, fmt_int, fmt_money, fmt_month, fmt_num, fmt_pct, num, to_date,
)
from retention.outputs.report.sections import (
    AT_RISK_KEY, build_insights, campaign_model, clv_card, model_card, quadrant_cards, sensitivity_grid, value_card,
)

HERE = Path(__file__).resolve().parent
TEMPLATE = "templates/report.html.j2"
DIMENSION_TITLES = {"rfm_segment": "RFM segments", "cluster": "Behavioural clusters", "quadrant": "Decision quadrants"}
ALERT_KEYS = ("customer_id", "country", "rfm_segment", "previous_rfm_segment", "churn_probability",
              "previous_churn_probability", "value_if_retained", "expected_incremental_profit", "last_order_date",
              "top_drivers")
PLAN_KEYS = ("plan_rank", "customer_id", "country", "rfm_segment", "decision_quadrant", "churn_probability",
             "value_if_retained", "expected_cost", "expected_incremental_profit", "reason", "top_drivers")
SUMMARY_KEYS = ("dimension", "segment", "customers", "share_of_customers", "revenue", "revenue_share",
                "avg_churn_probability", "revenue_at_risk", "avg_value_if_retained", "total_value_if_retained")
ROI_KEYS = ("target_key", "target_name", "target_type", "scenario", "discount", "cost_per_contact", "save_rate",
            "gross_margin", "contacts", "contact_cost", "discount_cost", "total_cost", "expected_customers_saved",
            "revenue_saved", "value_saved", "net_profit", "roi", "break_even_margin", "is_recommended",
            "recommendation")
MONTHLY_KEYS = ("month", "active_customers", "new_customers", "returning_customers", "revenue", "retention_rate")


def _kpi_cards(kpis: dict, total_customers, model: dict | None) -> list[dict]:
    scored = (model or {}).get("scored", {})
    last_year = scored.get("last_year_observed_rate")
    cards = [
        {"id": "kpi-total-customers", "label": "Customers", "value": fmt_int(total_customers),
         "note": "with at least one order"},
        {"id": "kpi-active-customers", "label": "Active customers", "value": fmt_int(kpis.get("active_customers")),
         "note": (f"{fmt_pct(kpis.get('active_rate'))} ordered in the last {fmt_int(kpis.get('churn_horizon_days'))} days"
                  if kpis.get("active_rate") is not None else "")},
        {"id": "kpi-observed-churn", "label": "Observed churn rate", "value": fmt_pct(kpis.get("observed_churn_rate")),
         "note": "latest cutoff with a complete label window"},
        {"id": "kpi-predicted-churn", "label": "Expected churn rate", "value": fmt_pct(kpis.get("predicted_churn_rate")),
         "note": (f"same window last year: {fmt_pct(last_year)} observed" if last_year is not None
                  else "mean churn probability today")},
        {"id": "kpi-revenue-at-risk", "label": "Revenue at risk", "value": fmt_money(kpis.get("revenue_at_risk")),
         "note": "Σ churn probability × revenue if retained", "accent": "risk"},
        {"id": "kpi-plan", "label": "Retention plan", "value": fmt_int(kpis.get("plan_targeted_customers")),
         "note": "customers to contact (positive expected profit)", "accent": "risk"},
        {"id": "kpi-plan-profit", "label": "Plan expected profit", "value": fmt_money(kpis.get("plan_expected_profit")),
         "note": f"at a gross margin of {fmt_pct(kpis.get('gross_margin'), 0)}"},
        {"id": "kpi-model-auc", "label": "Model ROC-AUC", "value": fmt_num(kpis.get("model_roc_auc"), 3),
         "note": (f"{kpis.get('model_name')}, out of time" if kpis.get("model_name") else "out of time")},
    ]
    return [{"accent": None, **k} for k in cards]


def _dims(summary: list[dict]) -> list[dict]:
    dims = []
    for dim in ("rfm_segment", "cluster", "quadrant"):
        rows = sorted([r for r in summary if r.get("dimension") == dim], key=lambda r: -num(r.get("revenue")))
        if rows:
            dims.append({"key": dim, "title": DIMENSION_TITLES[dim], "rows": rows, "chart": share_bars(rows)})
    return dims


def _date_range(kpis: dict, params: dict, monthly: list[dict] | None) -> tuple:
    as_of = to_date(kpis.get("as_of_date")) or to_date(params.get("as_of_date"))
    first, last = to_date(params.get("first_transaction_date")), to_date(params.get("last_transaction_date"))
    if last and as_of and last >= as_of:
        last = as_of - dt.timedelta(days=1)
    if not first and monthly:
        first = min(to_date(r.get("month")) for r in monthly)
    return as_of, first, last


def build_context(data: dict) -> dict:
    data = dict(data)
    data["alerts"] = ensure(data.get("alerts"), ALERT_KEYS)
    data["plan_top"] = ensure(data.get("plan_top"), PLAN_KEYS)
    data["segment_summary"] = ensure(data.get("segment_summary"), SUMMARY_KEYS)
    data["campaign_roi"] = ensure(data.get("campaign_roi"), ROI_KEYS)
    data["monthly"] = ensure(data.get("monthly"), MONTHLY_KEYS)
    kpis = (data.get("kpis") or [{}])[0]
    params = (data.get("parameters") or [{}])[0]
    as_of, first, last = _date_range(kpis, params, data.get("monthly"))
    summary = data.get("segment_summary") or []
    cards = quadrant_cards(summary, data.get("quadrant_info"))
    model = model_card(data.get("metrics"), kpis)
    margin = kpis.get("gross_margin", params.get("gross_margin"))
    gains = (gains_chart(data.get("gains"), data.get("targeted") or 0, data.get("total_revenue_at_risk") or 0.0)
             if data.get("gains") else None)
    total_customers = kpis.get("total_customers", data.get("customer_count"))
    return {
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "as_of_date": fmt_date(as_of), "data_from": fmt_date(first), "data_to": fmt_date(last),
        "total_customers": fmt_int(total_customers), "margin": fmt_pct(margin, 0),
        "horizon": fmt_int(kpis.get("churn_horizon_days") or params.get("churn_horizon_days")),
        "kpis": _kpi_cards(kpis, total_customers, model), "has_kpis": bool(data.get("kpis")),
        "insights": build_insights(data, kpis, summary, cards, model, gains),
        "trend": trend_chart(data.get("monthly"), as_of),
        "monthly_rows": sorted(data.get("monthly") or [], key=lambda r: to_date(r.get("month")) or dt.date.min),
        "heatmap": cohort_heatmap(data.get("cohort_matrix"), data.get("cohort_long"), as_of),
        "dims": _dims(summary), "quadrants": {c["key"]: c for c in cards},
        "at_risk_name": next(c["name"] for c in cards if c["key"] == AT_RISK_KEY),
        "campaign": campaign_model(data.get("campaign_roi"), data.get("campaign_inputs"), margin),
        "sensitivity": sensitivity_grid(data.get("sensitivity")), "gains": gains,
        "plan_top": data.get("plan_top"), "plan_targeted": data.get("targeted"),
        "model": model, "backtest": data.get("backtest"), "value": value_card(data.get("value_metrics")),
        "calibration": calibration_chart(data.get("calibration"), model["split"].get("test_rows") if model else None),
        "importance": importance_chart(data.get("importance")), "clv": clv_card(data.get("clv_parameters")),
        "clv_params": {k: params.get(k) for k in ("clv_horizon_days", "gross_margin", "clv_annual_discount_rate")},
        "alerts": data.get("alerts"), "alert_count": data.get("alert_count"),
        "input_warnings": data.get("input_warnings") or [],
    }


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(int=fmt_int, money=fmt_money, pct=fmt_pct, num=fmt_num, date=fmt_date, month=fmt_month)
    return env


def render_html(context: dict) -> str:
    return make_environment().get_template(TEMPLATE).render(**context)


def render_report(db_path: str | Path, output_path: str | Path) -> Path:
    """Read the warehouse (read-only) and write the self-contained HTML report; returns its path."""
    db_path, output_path = Path(db_path), Path(output_path)
    if not db_path.exists():
        raise FileNotFoundError(f"warehouse not found: {db_path}")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        data = load_data(con)
    finally:
        con.close()
    html = render_html(build_context(data))
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(output_path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(output_path)
    return output_path
