#!/usr/bin/env python3
"""Render the retention warehouse as one self-contained HTML report.

    python scripts/render_report.py --warehouse warehouse/retention.duckdb --output warehouse/report.html

The DuckDB file is opened read-only. The report needs no network when viewed: CSS and the
small simulator script are inlined, the charts are inline SVG drawn here in Python. Every
value from the warehouse goes through Jinja's autoescaping (nothing from the data is marked
safe); the simulator's inputs are embedded as JSON with `<`, `>`, `&` and `'` escaped, so
no text in the data can close the script element.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any, Iterable

import duckdb
import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATE = "report_template.html.j2"

AT_RISK_KEY = "high_value_high_risk"
QUADRANT_KEYS = ("high_value_low_risk", "high_value_high_risk", "low_value_low_risk", "low_value_high_risk")
QUADRANT_DEFAULT_NAMES = {
    "high_value_low_risk": "Champions",
    "high_value_high_risk": "At-Risk Retention",
    "low_value_high_risk": "Sunk Cost",
    "low_value_low_risk": "Nurture",
}
SCENARIO_ORDER = {"pessimistic": 0, "base": 1, "optimistic": 2}
DIMENSION_TITLES = {"rfm_segment": "RFM segments", "cluster": "Behavioural clusters", "quadrant": "Decision quadrants"}

# Palette (kept in step with report_assets/report.css).
C_BLUE = "#2563eb"
C_BLUE_LIGHT = "#93c5fd"
C_SLATE = "#94a3b8"
C_ORANGE = "#ea580c"
C_RED = "#dc2626"
C_GREEN = "#16a34a"


# --------------------------------------------------------------------------- formatting

def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return isinstance(x, float) and math.isnan(x)
    except TypeError:
        return False


def fmt_int(x: Any) -> str:
    if _is_missing(x):
        return "—"
    return f"{float(x):,.0f}"


def fmt_money(x: Any) -> str:
    """Money without a currency symbol: thousands separators, cents only for small amounts."""
    if _is_missing(x):
        return "—"
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    if _is_missing(x):
        return "—"
    return f"{float(x) * 100:,.{digits}f}%"


def fmt_num(x: Any, digits: int = 3) -> str:
    if _is_missing(x):
        return "—"
    return f"{float(x):,.{digits}f}"


def fmt_date(x: Any) -> str:
    if _is_missing(x):
        return "—"
    if isinstance(x, (dt.datetime, dt.date)):
        return x.strftime("%Y-%m-%d")
    return str(x)[:10]


def fmt_month(x: Any) -> str:
    d = _to_date(x)
    return d.strftime("%b %Y") if d else "—"


# --------------------------------------------------------------------------- data access

def _clean(value: Any) -> Any:
    """numpy/pandas scalars -> plain Python; NaN/NaT -> None; timestamps -> date."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def _to_date(x: Any) -> dt.date | None:
    x = _clean(x)
    if x is None:
        return None
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    try:
        return dt.date.fromisoformat(str(x)[:10])
    except ValueError:
        return None


def _num(x: Any, default: float = 0.0) -> float:
    x = _clean(x)
    if x is None:
        return default
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def _ensure(rows: list[dict] | None, keys: Iterable[str]) -> list[dict] | None:
    """The same rows with every key the template reads (None where the table lacks the column)."""
    if rows is None:
        return None
    return [{**{k: None for k in keys}, **r} for r in rows]


DECISION_KEYS = ("customer_id", "country", "rfm_segment", "cluster_name", "churn_probability", "clv",
                 "expected_value_of_acting", "last_order_date", "top_drivers")
ALERT_KEYS = DECISION_KEYS + ("previous_churn_probability", "previous_rfm_segment")
SUMMARY_KEYS = ("dimension", "segment", "customers", "share_of_customers", "revenue", "revenue_share",
                "avg_churn_probability", "revenue_at_risk", "avg_clv", "total_clv")
ROI_KEYS = ("decision_quadrant", "quadrant_key", "scenario", "discount", "cost_per_contact", "save_rate", "contacts",
            "contact_cost", "discount_cost", "total_cost", "expected_customers_saved", "revenue_saved",
            "net_profit", "roi")
MONTHLY_KEYS = ("month", "active_customers", "new_customers", "returning_customers", "revenue", "retention_rate")
MODEL_VALUE_KEYS = ("roc_auc", "pr_auc", "brier", "brier_base_rate", "base_rate", "threshold",
                    "precision_at_threshold", "recall_at_threshold", "flagged_share")


class Warehouse:
    """Read-only access to the tables the report uses; a missing table reads as None."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        rows = con.execute("select table_schema, table_name, column_name from information_schema.columns").fetchall()
        self.columns: dict[str, list[str]] = {}
        for schema, table, column in rows:
            self.columns.setdefault(f"{schema}.{table}".lower(), []).append(column.lower())

    def has(self, table: str) -> bool:
        return table.lower() in self.columns

    def records(self, table: str, sql: str | None = None, params: list | None = None) -> list[dict] | None:
        if not self.has(table):
            return None
        query = sql if sql is not None else f"select * from {_quoted(table)}"
        cur = self.con.execute(query, params or [])
        names = [d[0] for d in cur.description]
        return [{k: _clean(v) for k, v in zip(names, row)} for row in cur.fetchall()]

    def count(self, table: str) -> int | None:
        if not self.has(table):
            return None
        return int(self.con.execute(f"select count(*) from {_quoted(table)}").fetchone()[0])


def _quoted(table: str) -> str:
    schema, name = table.split(".")
    return f'"{schema}"."{name}"'


def load_data(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    wh = Warehouse(con)
    data: dict[str, Any] = {}
    for key, table in [
        ("kpis", "marts.retention_kpis"),
        ("monthly", "marts.retention_kpis_monthly"),
        ("segment_summary", "marts.segment_summary"),
        ("campaign_roi", "marts.campaign_roi"),
        ("campaign_inputs", "marts.campaign_inputs"),
        ("sensitivity", "marts.campaign_sensitivity"),
        ("engagement", "marts.engagement_thresholds"),
        ("cohort_matrix", "features.cohort_retention_matrix"),
        ("metrics", "ml.churn_model_metrics"),
        ("calibration", "ml.churn_calibration"),
        ("importance", "ml.churn_feature_importance"),
        ("clv_parameters", "ml.clv_parameters"),
        ("parameters", "intermediate.int_analysis_parameters"),
    ]:
        data[key] = wh.records(table)

    # the long cohort table only stands in for the wide one when that is missing
    data["cohort_long"] = None if data["cohort_matrix"] else wh.records("features.cohort_retention")

    decisions = "marts.customer_decisions"
    data["quadrant_info"] = None
    data["top_at_risk"] = None
    data["customer_count"] = wh.count(decisions)
    if wh.has(decisions):
        cols = wh.columns[decisions]
        if "quadrant_key" in cols:
            key_expr = "quadrant_key"
        else:  # derive the key from the two flags when the mart does not carry it
            key_expr = ("case when is_high_value then 'high_value' else 'low_value' end || '_' || "
                        "case when is_high_risk then 'high_risk' else 'low_risk' end")
        strategy = "any_value(strategy)" if "strategy" in cols else "null"
        action = "any_value(action)" if "action" in cols else "null"
        data["quadrant_info"] = wh.records(decisions, f"""
            select decision_quadrant, {key_expr} as quadrant_key, {strategy} as strategy,
                   {action} as action, count(*) as customers
            from {_quoted(decisions)} group by all order by quadrant_key""")
        data["top_at_risk"] = wh.records(decisions, f"""
            select * from {_quoted(decisions)} where {key_expr} = ?
            order by expected_value_of_acting desc nulls last, customer_id limit 20""", [AT_RISK_KEY])

    alerts = "marts.alerts"
    data["alert_count"] = wh.count(alerts)
    data["alerts"] = wh.records(alerts, f"""
        select * from {_quoted(alerts)}
        order by expected_value_of_acting desc nulls last, customer_id limit 10""") if wh.has(alerts) else None
    return data


# --------------------------------------------------------------------------- chart geometry

def nice_scale(max_value: float, ticks: int = 5) -> tuple[float, float]:
    """A round upper bound (3 to `ticks` + 1 steps of 1, 2, 2.5 or 5 x 10^k) covering max_value, and its step."""
    if _is_missing(max_value) or max_value <= 0:
        return 1.0, 0.2
    best = None
    magnitude = 10 ** math.floor(math.log10(max_value / ticks))
    for scale in (magnitude / 10, magnitude, magnitude * 10):
        for m in (1, 2, 2.5, 5):
            step = m * scale
            n = math.ceil(max_value / step - 1e-9)
            if 3 <= n <= ticks + 1 and (best is None or step * n < best[0]):
                best = (step * n, step)
    return best or (max_value, max_value / ticks)


def _mix(c1: str, c2: str, t: float) -> str:
    t = min(1.0, max(0.0, t))
    a = [int(c1[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(c2[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def _sequential(t: float) -> tuple[str, str]:
    """Background and text colour on a light-to-dark blue scale."""
    t = min(1.0, max(0.0, t))
    bg = _mix("#eff6ff", "#60a5fa", t / 0.5) if t <= 0.5 else _mix("#60a5fa", "#1e3a8a", (t - 0.5) / 0.5)
    return bg, ("#ffffff" if t > 0.55 else "#0f172a")


def _diverging(value: float, pos_limit: float, neg_limit: float) -> tuple[str, str]:
    """Green for gains, red for losses, each scaled to its own limit; white at zero."""
    limit = pos_limit if value >= 0 else neg_limit
    if limit <= 0:
        return "#ffffff", "#0f172a"
    t = min(1.0, abs(value) / limit)
    end = "#15803d" if value >= 0 else "#b91c1c"
    return _mix("#ffffff", end, 0.12 + 0.78 * t), ("#ffffff" if t > 0.6 else "#0f172a")


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _truncate(text: Any, n: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def trend_chart(monthly: list[dict] | None, as_of_date: dt.date | None) -> dict | None:
    if not monthly:
        return None
    rows = sorted(monthly, key=lambda r: _to_date(r.get("month")) or dt.date.min)
    W, H, ml, mr, mt, mb = 960, 310, 64, 64, 24, 36
    pw, ph = W - ml - mr, H - mt - mb
    n = len(rows)
    band = pw / n
    ymax, ystep = nice_scale(max(_num(r.get("active_customers")) for r in rows) or 1)
    if ystep < 1:  # counts: whole-number ticks
        ymax, ystep = float(max(1, math.ceil(ymax))), 1.0
    stacked = all(
        r.get("new_customers") is not None and r.get("returning_customers") is not None
        and _num(r["new_customers"]) + _num(r["returning_customers"]) == _num(r.get("active_customers"))
        for r in rows)
    partial = partial_month(as_of_date)
    last_partial = bool(partial and _to_date(rows[-1].get("month")) == partial)
    label_every = max(1, math.ceil(n / 14))

    def y_count(v: float) -> float:
        return mt + ph - ph * v / ymax

    def y_rate(v: float) -> float:
        return mt + ph - ph * v

    bars, points, labels = [], [], []
    for i, r in enumerate(rows):
        active = _num(r.get("active_customers"))
        x = ml + i * band + band * 0.15
        w = band * 0.7
        partial = last_partial and i == n - 1
        month_label = fmt_month(r.get("month"))
        title = (f"{month_label}{' (partial month)' if partial else ''}: {fmt_int(active)} active customers"
                 + (f" ({fmt_int(r.get('new_customers'))} new, {fmt_int(r.get('returning_customers'))} returning)"
                    if stacked else "")
                 + (f"; retention {fmt_pct(r.get('retention_rate'))}" if r.get("retention_rate") is not None else ""))
        segs = []
        if stacked:
            ret = _num(r.get("returning_customers"))
            segs.append({"y": y_count(ret), "h": y_count(0) - y_count(ret), "fill": C_BLUE})
            segs.append({"y": y_count(active), "h": y_count(ret) - y_count(active), "fill": C_BLUE_LIGHT})
        else:
            segs.append({"y": y_count(active), "h": y_count(0) - y_count(active), "fill": C_BLUE})
        bars.append({"x": round(x, 2), "w": round(w, 2), "segs": [{k: (round(v, 2) if isinstance(v, float) else v)
                                                                     for k, v in s.items()} for s in segs],
                     "partial": partial, "title": title})
        if r.get("retention_rate") is not None:
            points.append({"x": round(ml + (i + 0.5) * band, 2), "y": round(y_rate(_num(r["retention_rate"])), 2),
                           "title": f"{month_label}: retention {fmt_pct(r['retention_rate'])}", "partial": partial})
        if i % label_every == 0:
            month = _to_date(r.get("month"))
            labels.append({"x": round(ml + (i + 0.5) * band, 2), "text": month.strftime("%b %y") if month else ""})
    path = " ".join(("M" if j == 0 else "L") + f"{p['x']},{p['y']}" for j, p in enumerate(points))
    left_ticks = [{"y": round(y_count(v), 2), "text": fmt_int(v)}
                  for v in _frange(0, ymax, ystep)]
    right_ticks = [{"y": round(y_rate(v), 2), "text": fmt_pct(v, 0)} for v in (0, 0.25, 0.5, 0.75, 1.0)]
    return {"W": W, "H": H, "ml": ml, "mr": mr, "mt": mt, "pw": pw, "ph": ph, "bottom": mt + ph,
            "bars": bars, "points": points, "path": path, "labels": labels, "stacked": stacked,
            "left_ticks": left_ticks, "right_ticks": right_ticks, "last_partial": last_partial}


def _frange(start: float, stop: float, step: float) -> Iterable[float]:
    k = 0
    while start + k * step <= stop + step * 1e-9:
        yield start + k * step
        k += 1


def _add_months(d: dt.date, k: int) -> dt.date:
    m = d.month - 1 + k
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def partial_month(as_of_date: dt.date | None) -> dt.date | None:
    """First day of the last month with data when that month is cut short by the as-of date."""
    if not as_of_date:
        return None
    last_day = as_of_date - dt.timedelta(days=1)
    return None if as_of_date.day == 1 else dt.date(last_day.year, last_day.month, 1)


def cohort_heatmap(matrix: list[dict] | None, long: list[dict] | None,
                   as_of_date: dt.date | None = None) -> dict | None:
    rows: list[dict] = []
    if matrix:
        offsets = sorted({k for r in matrix for k in r if k.startswith("month_") and k[6:].isdigit()},
                         key=lambda k: int(k[6:]))
        for r in sorted(matrix, key=lambda r: _to_date(r.get("cohort_month")) or dt.date.min):
            rows.append({"cohort": r.get("cohort_month"), "size": r.get("cohort_size"),
                         "values": [r.get(k) for k in offsets]})
        n_off = len(offsets)
    elif long:
        by_cohort: dict[Any, dict] = {}
        n_off = 1 + max(int(_num(r.get("month_offset"))) for r in long)
        for r in long:
            c = by_cohort.setdefault(r.get("cohort_month"), {"cohort": r.get("cohort_month"),
                                                             "size": r.get("cohort_size"),
                                                             "values": [None] * n_off})
            c["values"][int(_num(r.get("month_offset")))] = r.get("retention_rate")
        rows = sorted(by_cohort.values(), key=lambda r: _to_date(r["cohort"]) or dt.date.min)
    else:
        return None
    if not rows:
        return None
    partial = partial_month(as_of_date)

    def is_partial(cohort: Any, k: int) -> bool:
        c = _to_date(cohort)
        return bool(partial and c and k > 0 and _add_months(c, k) == partial)

    later = [v for r in rows for k, v in enumerate(r["values"]) if k > 0 and v is not None
             and not is_partial(r["cohort"], k)]
    vmax = max(later) if later else 1.0
    vmax = vmax if vmax > 0 else 1.0
    out_rows = []
    for r in rows:
        cells = []
        for k, v in enumerate(r["values"]):
            if v is None:
                cells.append({"text": "", "bg": "#ffffff", "fg": "#0f172a", "title": "", "partial": False})
                continue
            part = is_partial(r["cohort"], k)
            if k == 0:
                bg, fg = "#e2e8f0", "#334155"
            elif part:
                bg, fg = "#ffffff", "#64748b"
            else:
                bg, fg = _sequential(_num(v) / vmax)
            cells.append({"text": fmt_pct(v, 0), "bg": bg, "fg": fg, "partial": part,
                          "title": (f"cohort {fmt_month(r['cohort'])}, month {k}: {fmt_pct(v)} ordered"
                                    + (" (partial month: not comparable)" if part else ""))})
        out_rows.append({"cohort": fmt_month(r["cohort"]), "size": fmt_int(r["size"]), "cells": cells})
    # Average retention by month offset, weighted by cohort size, over cohorts that reached it.
    averages = []
    for k in range(n_off):
        full = [r for r in rows if r["values"][k] is not None and not is_partial(r["cohort"], k)]
        num = sum(_num(r["size"]) * _num(r["values"][k]) for r in full)
        den = sum(_num(r["size"]) for r in full)
        averages.append(fmt_pct(num / den, 0) if den else "")
    legend = [{"bg": _sequential(t)[0], "text": fmt_pct(vmax * t, 0)} for t in (0, 0.25, 0.5, 0.75, 1.0)]
    has_partial = any(c["partial"] for r in out_rows for c in r["cells"])
    return {"offsets": list(range(n_off)), "rows": out_rows, "averages": averages, "legend": legend,
            "partial_month": fmt_month(partial) if has_partial else None}


def share_bars(rows: list[dict]) -> dict:
    """Grouped horizontal bars: share of customers, of revenue and of revenue at risk per segment."""
    total_risk = sum(_num(r.get("revenue_at_risk")) for r in rows)
    items = []
    for r in rows:
        items.append({"name": r.get("segment"),
                      "label": _truncate(r.get("segment"), 30),
                      "values": [_num(r.get("share_of_customers")), _num(r.get("revenue_share")),
                                 _num(r.get("revenue_at_risk")) / total_risk if total_risk else 0.0]})
    series = [("customers", C_SLATE), ("revenue", C_BLUE), ("revenue at risk", C_ORANGE)]
    W, ml, mr, mt = 960, 230, 70, 30
    bar_h, gap = 10, 14
    group_h = bar_h * 3 + gap
    H = mt + group_h * len(items) + 10
    pw = W - ml - mr
    vmax = max([max(v for v in it["values"]) for it in items] + [0.01])
    vmax, step = nice_scale(vmax, 4)
    if vmax > 1.0:
        vmax, step = 1.0, 0.25
    groups = []
    for gi, it in enumerate(items):
        y0 = mt + gi * group_h
        bars = []
        for si, (sname, color) in enumerate(series):
            v = max(0.0, it["values"][si])
            w = pw * min(v, vmax) / vmax
            bars.append({"y": y0 + si * bar_h, "w": round(w, 2), "fill": color, "text": fmt_pct(v),
                         "tx": round(ml + w + 4, 2), "title": f"{it['name']}: {fmt_pct(v)} of {sname}"})
        groups.append({"label": it["label"], "name": it["name"], "ly": y0 + bar_h * 1.5, "bars": bars})
    digits = 0 if abs(step * 100 - round(step * 100)) < 1e-9 else 1
    ticks = [{"x": round(ml + pw * v / vmax, 2), "text": fmt_pct(v, digits)} for v in _frange(0, vmax, step)]
    return {"W": W, "H": H, "ml": ml, "mt": mt, "pw": pw, "bar_h": bar_h, "groups": groups, "ticks": ticks,
            "series": [{"name": s, "color": c} for s, c in series], "bottom": H - 6}


def calibration_chart(rows: list[dict] | None, test_rows: Any = None) -> dict | None:
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: _num(r.get("decile")))
    S, ml, mt = 380, 64, 16
    p = S - ml - 20

    def x(v: float) -> float:
        return round(ml + p * min(1.0, max(0.0, v)), 2)

    def y(v: float) -> float:
        return round(mt + p - p * min(1.0, max(0.0, v)), 2)

    pts = [{"x": x(_num(r.get("mean_predicted"))), "y": y(_num(r.get("observed_rate"))),
            "title": (f"decile {fmt_int(r.get('decile'))}: predicted {fmt_pct(r.get('mean_predicted'))}, "
                      f"observed {fmt_pct(r.get('observed_rate'))} ({fmt_int(r.get('customers'))} customers)")}
           for r in rows if r.get("mean_predicted") is not None and r.get("observed_rate") is not None]
    path = " ".join(("M" if i == 0 else "L") + f"{q['x']},{q['y']}" for i, q in enumerate(pts))
    ticks = [{"v": v, "x": x(v), "y": y(v), "text": fmt_pct(v, 0)} for v in (0, 0.25, 0.5, 0.75, 1.0)]
    n = sum(_num(r.get("customers")) for r in rows)
    mean_pred = sum(_num(r.get("mean_predicted")) * _num(r.get("customers")) for r in rows) / n if n else None
    mean_obs = sum(_num(r.get("observed_rate")) * _num(r.get("customers")) for r in rows) / n if n else None
    gap = max((abs(_num(r.get("mean_predicted")) - _num(r.get("observed_rate"))), r) for r in rows
              if r.get("mean_predicted") is not None and r.get("observed_rate") is not None)[1] if pts else None
    summary = None
    if mean_pred is not None and mean_obs is not None:
        who = "out-of-time test rows" if test_rows is not None and _num(test_rows) == n else "customers"
        summary = (f"Over the {fmt_int(n)} {who} the mean predicted churn probability is {fmt_pct(mean_pred)} "
                   f"and the observed churn rate {fmt_pct(mean_obs)}")
        if gap is not None:
            summary += (f"; the largest gap is in decile {fmt_int(gap.get('decile'))} (predicted "
                        f"{fmt_pct(gap.get('mean_predicted'))}, observed {fmt_pct(gap.get('observed_rate'))})")
        summary += "."
    return {"S": S, "H": mt + p + 48, "points": pts, "summary": summary, "path": path, "ticks": ticks,
            "x0": x(0), "x1": x(1), "y0": y(0), "y1": y(1)}


def importance_chart(rows: list[dict] | None, top: int = 12) -> dict | None:
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (_num(r.get("rank"), 1e9), -_num(r.get("importance"))))[:top]
    W, ml, mr, mt, bh = 560, 190, 70, 24, 22
    H = mt + bh * len(rows) + 12
    pw = W - ml - mr
    vmax = max([_num(r.get("importance")) + _num(r.get("importance_std")) for r in rows] + [1e-9])
    vmax, step = nice_scale(vmax, 4)
    bars = []
    for i, r in enumerate(rows):
        imp, sd = _num(r.get("importance")), _num(r.get("importance_std"))
        w = pw * max(0.0, imp) / vmax
        y0 = mt + i * bh
        bars.append({"label": _truncate(r.get("feature"), 28), "y": y0 + 3, "h": bh - 8, "ly": y0 + bh / 2,
                     "w": round(w, 2), "text": fmt_num(imp, 3), "tx": round(ml + max(w, pw * (imp + sd) / vmax) + 6, 2),
                     "e0": round(ml + pw * max(0.0, imp - sd) / vmax, 2),
                     "e1": round(ml + pw * max(0.0, imp + sd) / vmax, 2),
                     "title": f"{r.get('feature')}: {fmt_num(imp, 4)} ± {fmt_num(sd, 4)}"})
    ticks = [{"x": round(ml + pw * v / vmax, 2), "text": fmt_num(v, 3)} for v in _frange(0, vmax, step)]
    method = rows[0].get("method") if rows else None
    return {"W": W, "H": H + 18, "ml": ml, "mt": mt, "pw": pw, "bars": bars, "ticks": ticks,
            "bottom": H - 4, "method": method}


# --------------------------------------------------------------------------- sections

def model_card(metrics: list[dict] | None, kpis: dict) -> dict | None:
    if not metrics:
        if kpis.get("model_name"):
            split = {k: None for k in ("test_cutoff", "train_cutoff_min", "train_cutoff_max", "train_cutoffs",
                                       "final_train_cutoffs", "final_train_rows", "horizon_days", "train_rows",
                                       "test_rows")}
            return {"name": kpis.get("model_name"), "block": kpis.get("model_name"), "calibrated": False,
                    "calibration_method": None, "threshold_rule": None,
                    "values": {**{k: None for k in MODEL_VALUE_KEYS}, "roc_auc": kpis.get("model_roc_auc"),
                               "threshold": kpis.get("model_threshold")},
                    "split": split, "candidates": []}
        return None
    by_model: dict[str, dict[str, dict]] = {}
    for r in metrics:
        by_model.setdefault(str(r.get("model")), {})[str(r.get("metric"))] = r
    chosen = next((m for m, ms in by_model.items() if _num(ms.get("is_chosen", {}).get("value")) == 1), None)
    if chosen is None:
        chosen = kpis.get("model_name") or next((m for m in by_model if m != "split"), None)
    block = f"{chosen}_calibrated" if f"{chosen}_calibrated" in by_model else chosen
    values = {**{k: None for k in MODEL_VALUE_KEYS},
              **{k: v.get("value") for k, v in by_model.get(block, {}).items()}}
    details = {k: v.get("detail") for k, v in by_model.get(block, {}).items()}
    split = by_model.get("split", {})
    candidates = []
    for m, ms in by_model.items():
        if m == "split" or m.endswith("_calibrated"):
            continue
        candidates.append({"name": m, "roc_auc": ms.get("roc_auc", {}).get("value"),
                           "pr_auc": ms.get("pr_auc", {}).get("value"), "brier": ms.get("brier", {}).get("value"),
                           "chosen": m == chosen})
    candidates.sort(key=lambda c: -_num(c["pr_auc"]))
    return {
        "name": chosen, "block": block, "calibrated": block != chosen,
        "calibration_method": details.get("calibration_method"),
        "threshold_rule": details.get("threshold"),
        "values": values,
        "split": {
            "test_cutoff": split.get("test_cutoff", {}).get("detail"),
            "train_cutoff_min": split.get("train_cutoff_min", {}).get("detail"),
            "train_cutoff_max": split.get("train_cutoff_max", {}).get("detail"),
            "train_cutoffs": split.get("train_cutoffs", {}).get("value"),
            "final_train_cutoffs": split.get("final_train_cutoffs", {}).get("value"),
            "final_train_rows": split.get("final_train_rows", {}).get("value"),
            "horizon_days": split.get("horizon_days", {}).get("value"),
            "train_rows": by_model.get(chosen, {}).get("train_rows", {}).get("value"),
            "test_rows": by_model.get(chosen, {}).get("test_rows", {}).get("value"),
        },
        "candidates": candidates,
    }


def clv_card(rows: list[dict] | None) -> list[dict] | None:
    if not rows:
        return None
    models: dict[str, dict[str, Any]] = {}
    for r in rows:
        models.setdefault(str(r.get("model")), {})[str(r.get("name"))] = r.get("value")
    titles = {"bgnbd": "BG/NBD (purchase frequency and dropout)", "gamma_gamma": "Gamma-Gamma (order value)"}
    meta = {"log_likelihood", "converged", "iterations", "n_customers", "n_excluded"}
    out = []
    for m, vals in models.items():
        params = [{"name": k, "value": fmt_num(v, 4)} for k, v in vals.items() if k not in meta]
        conv = vals.get("converged")
        out.append({"model": m, "title": titles.get(m, m), "params": params,
                    "converged": None if conv is None else _num(conv) == 1,
                    "iterations": fmt_int(vals.get("iterations")),
                    "log_likelihood": fmt_num(vals.get("log_likelihood"), 1),
                    "n_customers": fmt_int(vals.get("n_customers")),
                    "n_excluded": fmt_int(vals.get("n_excluded"))})
    return out


def quadrant_cards(summary: list[dict], info: list[dict] | None) -> list[dict]:
    by_name = {r.get("segment"): r for r in summary if r.get("dimension") == "quadrant"}
    info_by_key = {r.get("quadrant_key"): r for r in (info or [])}
    total_risk = sum(_num(r.get("revenue_at_risk")) for r in by_name.values())
    cards = []
    for key in QUADRANT_KEYS:
        i = info_by_key.get(key, {})
        name = i.get("decision_quadrant") or QUADRANT_DEFAULT_NAMES[key]
        s = by_name.get(name, {})
        cards.append({
            "key": key, "name": name, "strategy": i.get("strategy"), "action": i.get("action"),
            "customers": fmt_int(s.get("customers") if s.get("customers") is not None else i.get("customers")),
            "share": fmt_pct(s.get("share_of_customers")),
            "revenue": fmt_money(s.get("revenue")), "revenue_share": fmt_pct(s.get("revenue_share")),
            "revenue_at_risk": fmt_money(s.get("revenue_at_risk")),
            "risk_share": fmt_pct(_num(s.get("revenue_at_risk")) / total_risk) if total_risk and s else "—",
            "avg_churn": fmt_pct(s.get("avg_churn_probability")), "avg_clv": fmt_money(s.get("avg_clv")),
            "value": "high" if key.startswith("high_value") else "low",
            "risk": "high" if key.endswith("high_risk") else "low",
        })
    return cards


def campaign_model(roi: list[dict] | None, inputs: list[dict] | None, cards: list[dict]) -> dict:
    names = {c["key"]: c["name"] for c in cards}
    roi_rows = sorted(roi or [], key=lambda r: (QUADRANT_KEYS.index(r["quadrant_key"])
                                                 if r.get("quadrant_key") in QUADRANT_KEYS else 9,
                                                 str(r.get("quadrant_key")),
                                                 SCENARIO_ORDER.get(r.get("scenario"), 9)))
    quadrants = {}
    for r in inputs or []:
        key = str(r.get("quadrant_key"))
        quadrants[key] = {k: _num(r.get(k)) for k in
                          ("contacts", "sum_churn_probability", "sum_churn_x_clv", "sum_eov", "sum_churn_x_eov")}
        quadrants[key]["name"] = str(names.get(key) or r.get("decision_quadrant") or key)
    presets: dict[str, dict[str, dict]] = {}
    for r in roi_rows:
        presets.setdefault(str(r.get("quadrant_key")), {})[str(r.get("scenario"))] = {
            "discount": _num(r.get("discount")), "cost_per_contact": _num(r.get("cost_per_contact")),
            "save_rate": _num(r.get("save_rate"))}
    default_key = AT_RISK_KEY if AT_RISK_KEY in quadrants else next(iter(quadrants), None)
    base = (presets.get(default_key or "", {}).get("base")
            or next((p.get("base") for p in presets.values() if p.get("base")), None)
            or {"discount": 0.1, "cost_per_contact": 1.0, "save_rate": 0.2})
    options = [{"key": k, "name": names.get(k) or next((r.get("decision_quadrant") for r in inputs or []
                                                        if r.get("quadrant_key") == k), k)}
               for k in sorted(quadrants, key=lambda k: QUADRANT_KEYS.index(k) if k in QUADRANT_KEYS else 9)]
    max_cost = max([p["cost_per_contact"] for q in presets.values() for p in q.values()]
                   + [base["cost_per_contact"], 1.0])
    sim = {"quadrants": quadrants, "presets": presets,
           "defaults": {"quadrant_key": default_key, **base}} if quadrants else None
    ui = {"discount": round(base["discount"] * 100, 4), "cost_per_contact": round(base["cost_per_contact"], 4),
          "save_rate": round(base["save_rate"] * 100, 4)}
    groups: list[dict] = []
    for r in roi_rows:
        if not groups or groups[-1]["key"] != r.get("quadrant_key"):
            groups.append({"key": r.get("quadrant_key"), "name": r.get("decision_quadrant"),
                           "contacts": r.get("contacts"), "rows": []})
        groups[-1]["rows"].append(r)
    return {"rows": roi_rows, "groups": groups, "sim": sim, "options": options, "default_key": default_key,
            "defaults": base, "ui": ui,
            "cost_max": nice_scale(max_cost * 3, 5)[0],
            "discount_max": max(50.0, math.ceil(base["discount"] * 100 / 10) * 10)}


def simulate(q: dict | None, discount: float, cost_per_contact: float, save_rate: float) -> dict | None:
    """The contract's campaign formulas on the per-quadrant sums of marts.campaign_inputs."""
    if not q:
        return None
    d, c, s = discount, cost_per_contact, save_rate
    saved = s * q["sum_churn_probability"]
    revenue_saved = s * q["sum_churn_x_clv"]
    discount_cost = d * (s * q["sum_churn_x_eov"] + q["sum_eov"] - q["sum_churn_x_eov"])
    contact_cost = c * q["contacts"]
    cost = contact_cost + discount_cost
    net = revenue_saved - cost
    return {"contacts": q["contacts"], "contact_cost": contact_cost, "discount_cost": discount_cost,
            "total_cost": cost, "saved": saved, "revenue_saved": revenue_saved, "net": net,
            "roi": net / cost if cost else None}


def sensitivity_grid(rows: list[dict] | None) -> dict | None:
    if not rows:
        return None
    discounts = sorted({_num(r.get("discount")) for r in rows})
    rates = sorted({_num(r.get("save_rate")) for r in rows})
    cell = {(_num(r.get("discount")), _num(r.get("save_rate"))): r for r in rows}
    rois = [_num(r.get("roi")) for r in rows if r.get("roi") is not None]
    # gains saturate at their 75th percentile so one extreme corner does not wash out the grid
    pos_limit = _quantile([v for v in rois if v > 0], 0.75)
    neg_limit = 1.0  # losses on their natural scale: ROI -100% loses the whole spend
    out = []
    for d in discounts:
        cells = []
        for s in rates:
            r = cell.get((d, s))
            if not r or r.get("roi") is None:
                cells.append({"text": "—", "bg": "#ffffff", "fg": "#64748b", "title": ""})
                continue
            bg, fg = _diverging(_num(r["roi"]), pos_limit, neg_limit)
            cells.append({"text": fmt_pct(r["roi"], 0), "bg": bg, "fg": fg,
                          "title": (f"discount {fmt_pct(d)}, save rate {fmt_pct(s)}: net profit "
                                    f"{fmt_money(r.get('net_profit'))} on cost {fmt_money(r.get('total_cost'))}, "
                                    f"revenue saved {fmt_money(r.get('revenue_saved'))}")})
        out.append({"discount": fmt_pct(d), "cells": cells})
    cpc = next((r.get("cost_per_contact") for r in rows if r.get("cost_per_contact") is not None), None)
    return {"rates": [fmt_pct(s) for s in rates], "rows": out, "cost_per_contact": fmt_money(cpc)}


def engagement_insights(rows: list[dict] | None) -> list[str]:
    out = []
    labels = {"orders": ("orders", "order"), "active_months": ("active months", "active month")}
    for dim in ("orders", "active_months"):
        dim_rows = sorted([r for r in rows or [] if r.get("dimension") == dim], key=lambda r: _num(r.get("level")))
        thr = next((r for r in dim_rows if r.get("is_threshold") is True or r.get("is_threshold") == 1), None)
        if not thr:
            continue
        level = int(_num(thr.get("level")))
        base = _num(thr.get("base_rate"))
        plural, singular = labels[dim]
        unit = singular if level == 1 else plural
        at_or_above = [r for r in dim_rows if _num(r.get("level")) >= level]
        n = sum(_num(r.get("customers")) for r in at_or_above)
        pooled = sum(_num(r.get("churn_rate")) * _num(r.get("customers")) for r in at_or_above) / n if n else None
        if pooled is not None and pooled < base / 2 and level < 10:
            out.append(f"Customers with {level}+ {unit} churned at {fmt_pct(pooled)} in past snapshots, "
                       f"less than half the base rate of {fmt_pct(base)} ({fmt_int(n)} customer-snapshots). "
                       f"This is an association, not proof that more {plural} cause loyalty.")
        else:
            qual = "10 or more" if level >= 10 else f"exactly {level}"
            out.append(f"Customers with {qual} {plural if level != 1 else singular} churned at "
                       f"{fmt_pct(thr.get('churn_rate'))} in past snapshots, less than half the base rate of "
                       f"{fmt_pct(base)} ({fmt_int(thr.get('customers'))} customer-snapshots).")
    return out


def _share(part: Any, whole: float) -> str:
    return fmt_pct(_num(part) / whole) if whole else "—"


def leak_insight(summary: list[dict]) -> str | None:
    rfm = [r for r in summary if r.get("dimension") == "rfm_segment"]
    total = sum(_num(r.get("revenue_at_risk")) for r in rfm)
    if not rfm or total <= 0:
        return None
    top = max(rfm, key=lambda r: _num(r.get("revenue_at_risk")))
    return (f"The RFM segment “{top.get('segment')}” carries the largest revenue at risk: "
            f"{fmt_money(top.get('revenue_at_risk'))} ({_share(top.get('revenue_at_risk'), total)} of the total), "
            f"from {fmt_pct(top.get('share_of_customers'))} of customers.")


def concentration_insight(summary: list[dict], cards: list[dict]) -> str | None:
    quads = [r for r in summary if r.get("dimension") == "quadrant"]
    total = sum(_num(r.get("revenue_at_risk")) for r in quads)
    name = next((c["name"] for c in cards if c["key"] == AT_RISK_KEY), None)
    row = next((r for r in quads if r.get("segment") == name), None)
    if not row or total <= 0:
        return None
    text = (f"The “{row.get('segment')}” quadrant holds {fmt_pct(row.get('share_of_customers'))} of customers "
            f"but {_share(row.get('revenue_at_risk'), total)} of the revenue at risk "
            f"({fmt_money(row.get('revenue_at_risk'))}).")
    top = max(quads, key=lambda r: _num(r.get("revenue_at_risk")))
    if top is not row:
        text += (f" The largest share of revenue at risk sits in “{top.get('segment')}” "
                 f"({_share(top.get('revenue_at_risk'), total)}).")
    return text


def campaign_insight(roi_rows: list[dict] | None) -> str | None:
    roi = [r for r in roi_rows or [] if r.get("roi") is not None and _num(r.get("total_cost")) > 0]
    if not roi:
        return None
    base = [r for r in roi if r.get("scenario") == "base"]
    pool = base or roi
    best = max(pool, key=lambda r: _num(r.get("roi")))
    same = [r for r in roi if r.get("quadrant_key") == best.get("quadrant_key")]
    lo = min(same, key=lambda r: _num(r.get("roi")))
    hi = max(same, key=lambda r: _num(r.get("roi")))
    assumptions = "base assumptions" if base else f"the {best.get('scenario')} assumptions"
    if _num(best.get("net_profit")) > 0:
        text = (f"Under {assumptions}, a campaign on “{best.get('decision_quadrant')}” has the best ROI: "
                f"{fmt_pct(best.get('roi'))}, net profit {fmt_money(best.get('net_profit'))} "
                f"on a cost of {fmt_money(best.get('total_cost'))}.")
    else:
        text = (f"Under {assumptions} no campaign pays back; the least bad is “{best.get('decision_quadrant')}” "
                f"(ROI {fmt_pct(best.get('roi'))}, net {fmt_money(best.get('net_profit'))}).")
    if lo is not hi:
        text += (f" Across the scenarios its ROI ranges from {fmt_pct(lo.get('roi'))} ({lo.get('scenario')}) "
                 f"to {fmt_pct(hi.get('roi'))} ({hi.get('scenario')}).")
    if 0 < _num(best.get("contacts")) < 30:
        text += f" It rests on only {fmt_int(best.get('contacts'))} customers, so a single customer's CLV can swing it."
    richest = max(pool, key=lambda r: _num(r.get("net_profit")))
    if richest is not best and _num(richest.get("net_profit")) > 0:
        text += (f" The largest net profit comes from “{richest.get('decision_quadrant')}”: "
                 f"{fmt_money(richest.get('net_profit'))} (ROI {fmt_pct(richest.get('roi'))}).")
    return text


def model_insight(model: dict | None) -> str | None:
    if not model or model["values"].get("brier") is None or model["values"].get("brier_base_rate") is None:
        return None
    v = model["values"]
    better = "better" if _num(v["brier"]) < _num(v["brier_base_rate"]) else "not better"
    return (f"On the out-of-time test the model reached ROC-AUC {fmt_num(v.get('roc_auc'), 3)}; its Brier score "
            f"{fmt_num(v['brier'], 3)} is {better} than the {fmt_num(v['brier_base_rate'], 3)} of always predicting "
            "the base rate.")


def churn_insight(kpis: dict) -> str | None:
    if kpis.get("observed_churn_rate") is None or kpis.get("predicted_churn_rate") is None:
        return None
    cutoff = f" ({fmt_date(kpis['observed_cutoff_date'])})" if kpis.get("observed_cutoff_date") else ""
    return (f"{fmt_pct(kpis['observed_churn_rate'])} of customers churned within "
            f"{fmt_int(kpis.get('churn_horizon_days'))} days after the latest fully observed cutoff{cutoff}; "
            f"the model expects {fmt_pct(kpis['predicted_churn_rate'])} of today's customers to churn.")


def build_insights(data: dict, kpis: dict, summary: list[dict], cards: list[dict], model: dict | None) -> list[dict]:
    """Short findings computed from the data; each is left out when its inputs are missing."""
    found = [("Where the revenue leaks", leak_insight(summary)),
             ("Concentration", concentration_insight(summary, cards))]
    found += [("Engagement threshold", text) for text in engagement_insights(data.get("engagement"))]
    found += [("Best campaign", campaign_insight(data.get("campaign_roi"))),
              ("How far to trust the scores", model_insight(model)),
              ("Churn now", churn_insight(kpis))]
    return [{"title": title, "text": text} for title, text in found if text]


def build_context(data: dict) -> dict:
    data = dict(data)
    data["top_at_risk"] = _ensure(data.get("top_at_risk"), DECISION_KEYS)
    data["alerts"] = _ensure(data.get("alerts"), ALERT_KEYS)
    data["segment_summary"] = _ensure(data.get("segment_summary"), SUMMARY_KEYS)
    data["campaign_roi"] = _ensure(data.get("campaign_roi"), ROI_KEYS)
    data["monthly"] = _ensure(data.get("monthly"), MONTHLY_KEYS)
    kpis = (data.get("kpis") or [{}])[0]
    params = (data.get("parameters") or [{}])[0]
    as_of = _to_date(kpis.get("as_of_date")) or _to_date(params.get("as_of_date"))
    first = _to_date(params.get("first_transaction_date"))
    last = _to_date(params.get("last_transaction_date"))
    if last and as_of and last >= as_of:
        last = as_of - dt.timedelta(days=1)
    if not first and data.get("monthly"):
        first = min(_to_date(r.get("month")) for r in data["monthly"])
    summary = data.get("segment_summary") or []
    cards = quadrant_cards(summary, data.get("quadrant_info"))
    model = model_card(data.get("metrics"), kpis)
    campaign = campaign_model(data.get("campaign_roi"), data.get("campaign_inputs"), cards)
    dims = []
    for dim in ("rfm_segment", "cluster", "quadrant"):
        rows = sorted([r for r in summary if r.get("dimension") == dim], key=lambda r: -_num(r.get("revenue")))
        if rows:
            dims.append({"key": dim, "title": DIMENSION_TITLES[dim], "rows": rows, "chart": share_bars(rows)})
    total_customers = kpis.get("total_customers", data.get("customer_count"))
    kpi_cards = [
        {"id": "kpi-total-customers", "label": "Customers", "value": fmt_int(total_customers),
         "note": "with at least one order"},
        {"id": "kpi-active-customers", "label": "Active customers", "value": fmt_int(kpis.get("active_customers")),
         "note": (f"{fmt_pct(kpis.get('active_rate'))} ordered in the last "
                  f"{fmt_int(kpis.get('churn_horizon_days'))} days"
                  if kpis.get("active_rate") is not None else "")},
        {"id": "kpi-observed-churn", "label": "Observed churn rate", "value": fmt_pct(kpis.get("observed_churn_rate")),
         "note": "latest cutoff with a complete label window"},
        {"id": "kpi-predicted-churn", "label": "Predicted churn rate",
         "value": fmt_pct(kpis.get("predicted_churn_rate")),
         "note": "mean churn probability today"},
        {"id": "kpi-revenue-at-risk", "label": "Revenue at risk", "value": fmt_money(kpis.get("revenue_at_risk")),
         "note": "Σ churn probability × CLV", "accent": "risk"},
        {"id": "kpi-avg-clv", "label": "Average CLV", "value": fmt_money(kpis.get("avg_clv")),
         "note": f"total {fmt_money(kpis.get('total_clv'))}"},
        {"id": "kpi-high-value-at-risk", "label": "High-value at risk",
         "value": fmt_int(kpis.get("high_value_at_risk_customers")), "note": "customers to act on first",
         "accent": "risk"},
        {"id": "kpi-model-auc", "label": "Model ROC-AUC", "value": fmt_num(kpis.get("model_roc_auc"), 3),
         "note": (f"{kpis.get('model_name')}, out of time" if kpis.get("model_name") else "out of time")},
    ]
    kpi_cards = [{"accent": None, **k} for k in kpi_cards]
    return {
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "as_of_date": fmt_date(as_of), "data_from": fmt_date(first), "data_to": fmt_date(last),
        "total_customers": fmt_int(total_customers),
        "horizon": fmt_int(kpis.get("churn_horizon_days") or params.get("churn_horizon_days")),
        "kpis": kpi_cards, "has_kpis": bool(data.get("kpis")),
        "insights": build_insights(data, kpis, summary, cards, model),
        "trend": trend_chart(data.get("monthly"), as_of),
        "monthly_rows": sorted(data.get("monthly") or [], key=lambda r: _to_date(r.get("month")) or dt.date.min),
        "heatmap": cohort_heatmap(data.get("cohort_matrix"), data.get("cohort_long"), as_of),
        "dims": dims, "quadrants": {c["key"]: c for c in cards}, "at_risk_name": cards[1]["name"],
        "at_risk_total": next((r.get("customers") for r in data.get("quadrant_info") or []
                               if r.get("quadrant_key") == AT_RISK_KEY), None),
        "campaign": campaign, "sensitivity": sensitivity_grid(data.get("sensitivity")),
        "model": model,
        "calibration": calibration_chart(data.get("calibration"), model["split"].get("test_rows") if model else None),
        "importance": importance_chart(data.get("importance")), "clv": clv_card(data.get("clv_parameters")),
        "clv_params": {k: params.get(k) for k in ("clv_horizon_days", "clv_margin", "clv_annual_discount_rate")},
        "top_at_risk": data.get("top_at_risk"), "alerts": data.get("alerts"), "alert_count": data.get("alert_count"),
        "engagement": [r for r in data.get("engagement") or []],
    }


# --------------------------------------------------------------------------- rendering

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the retention warehouse as one self-contained HTML file.")
    parser.add_argument("--warehouse", default="warehouse/retention.duckdb", help="the DuckDB file (opened read-only)")
    parser.add_argument("--output", default="warehouse/report.html", help="where to write the HTML report")
    args = parser.parse_args(argv)
    try:
        path = render_report(args.warehouse, args.output)
    except FileNotFoundError as exc:
        print(f"render_report: {exc}", file=sys.stderr)
        return 2
    print(f"report written: {path} ({path.stat().st_size / 1024:,.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
