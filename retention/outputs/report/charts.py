"""Chart geometry: every chart of the report is inline SVG whose coordinates are computed here."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

from retention.outputs.report.formatting import (
    fmt_int, fmt_money, fmt_month, fmt_num, fmt_pct, is_missing, num, to_date, truncate,
)

# Palette (kept in step with assets/report.css).
C_BLUE = "#2563eb"
C_BLUE_LIGHT = "#93c5fd"
C_SLATE = "#94a3b8"
C_ORANGE = "#ea580c"
C_RED = "#dc2626"
C_GREEN = "#16a34a"


def nice_scale(max_value: float, ticks: int = 5) -> tuple[float, float]:
    """A round upper bound (3 to `ticks` + 1 steps of 1, 2, 2.5 or 5 x 10^k) covering max_value, and its step."""
    if is_missing(max_value) or max_value <= 0:
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


def trend_chart(monthly: list[dict] | None, as_of_date: dt.date | None) -> dict | None:
    if not monthly:
        return None
    rows = sorted(monthly, key=lambda r: to_date(r.get("month")) or dt.date.min)
    W, H, ml, mr, mt, mb = 960, 310, 64, 64, 24, 36
    pw, ph = W - ml - mr, H - mt - mb
    n = len(rows)
    band = pw / n
    ymax, ystep = nice_scale(max(num(r.get("active_customers")) for r in rows) or 1)
    if ystep < 1:  # counts: whole-number ticks
        ymax, ystep = float(max(1, math.ceil(ymax))), 1.0
    stacked = all(
        r.get("new_customers") is not None and r.get("returning_customers") is not None
        and num(r["new_customers"]) + num(r["returning_customers"]) == num(r.get("active_customers"))
        for r in rows)
    partial = partial_month(as_of_date)
    last_partial = bool(partial and to_date(rows[-1].get("month")) == partial)
    label_every = max(1, math.ceil(n / 14))

    def y_count(v: float) -> float:
        return mt + ph - ph * v / ymax

    def y_rate(v: float) -> float:
        return mt + ph - ph * v

    bars, points, labels = [], [], []
    for i, r in enumerate(rows):
        active = num(r.get("active_customers"))
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
            ret = num(r.get("returning_customers"))
            segs.append({"y": y_count(ret), "h": y_count(0) - y_count(ret), "fill": C_BLUE})
            segs.append({"y": y_count(active), "h": y_count(ret) - y_count(active), "fill": C_BLUE_LIGHT})
        else:
            segs.append({"y": y_count(active), "h": y_count(0) - y_count(active), "fill": C_BLUE})
        bars.append({"x": round(x, 2), "w": round(w, 2), "segs": [{k: (round(v, 2) if isinstance(v, float) else v)
                                                                     for k, v in s.items()} for s in segs],
                     "partial": partial, "title": title})
        if r.get("retention_rate") is not None:
            points.append({"x": round(ml + (i + 0.5) * band, 2), "y": round(y_rate(num(r["retention_rate"])), 2),
                           "title": f"{month_label}: retention {fmt_pct(r['retention_rate'])}", "partial": partial})
        if i % label_every == 0:
            month = to_date(r.get("month"))
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
        for r in sorted(matrix, key=lambda r: to_date(r.get("cohort_month")) or dt.date.min):
            rows.append({"cohort": r.get("cohort_month"), "size": r.get("cohort_size"),
                         "values": [r.get(k) for k in offsets]})
        n_off = len(offsets)
    elif long:
        by_cohort: dict[Any, dict] = {}
        n_off = 1 + max(int(num(r.get("month_offset"))) for r in long)
        for r in long:
            c = by_cohort.setdefault(r.get("cohort_month"), {"cohort": r.get("cohort_month"),
                                                             "size": r.get("cohort_size"),
                                                             "values": [None] * n_off})
            c["values"][int(num(r.get("month_offset")))] = r.get("retention_rate")
        rows = sorted(by_cohort.values(), key=lambda r: to_date(r["cohort"]) or dt.date.min)
    else:
        return None
    if not rows:
        return None
    partial = partial_month(as_of_date)

    def is_partial(cohort: Any, k: int) -> bool:
        c = to_date(cohort)
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
                bg, fg = _sequential(num(v) / vmax)
            cells.append({"text": fmt_pct(v, 0), "bg": bg, "fg": fg, "partial": part,
                          "title": (f"cohort {fmt_month(r['cohort'])}, month {k}: {fmt_pct(v)} ordered"
                                    + (" (partial month: not comparable)" if part else ""))})
        out_rows.append({"cohort": fmt_month(r["cohort"]), "size": fmt_int(r["size"]), "cells": cells})
    # Average retention by month offset, weighted by cohort size, over cohorts that reached it.
    averages = []
    for k in range(n_off):
        full = [r for r in rows if r["values"][k] is not None and not is_partial(r["cohort"], k)]
        weighted = sum(num(r["size"]) * num(r["values"][k]) for r in full)
        den = sum(num(r["size"]) for r in full)
        averages.append(fmt_pct(weighted / den, 0) if den else "")
    legend = [{"bg": _sequential(t)[0], "text": fmt_pct(vmax * t, 0)} for t in (0, 0.25, 0.5, 0.75, 1.0)]
    has_partial = any(c["partial"] for r in out_rows for c in r["cells"])
    return {"offsets": list(range(n_off)), "rows": out_rows, "averages": averages, "legend": legend,
            "partial_month": fmt_month(partial) if has_partial else None}


def share_bars(rows: list[dict]) -> dict:
    """Grouped horizontal bars: share of customers, of revenue and of revenue at risk per segment."""
    total_risk = sum(num(r.get("revenue_at_risk")) for r in rows)
    items = []
    for r in rows:
        items.append({"name": r.get("segment"),
                      "label": truncate(r.get("segment"), 30),
                      "values": [num(r.get("share_of_customers")), num(r.get("revenue_share")),
                                 num(r.get("revenue_at_risk")) / total_risk if total_risk else 0.0]})
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
    """Reliability diagram: observed against predicted churn by decile, with the 95% interval of
    each observed rate as a band (columns observed_rate_low / observed_rate_high when present)."""
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: num(r.get("decile")))
    S, ml, mt = 380, 64, 16
    p = S - ml - 20

    def x(v: float) -> float:
        return round(ml + p * min(1.0, max(0.0, v)), 2)

    def y(v: float) -> float:
        return round(mt + p - p * min(1.0, max(0.0, v)), 2)

    usable = [r for r in rows if r.get("mean_predicted") is not None and r.get("observed_rate") is not None]
    pts = [{"x": x(num(r.get("mean_predicted"))), "y": y(num(r.get("observed_rate"))),
            "title": (f"decile {fmt_int(r.get('decile'))}: predicted {fmt_pct(r.get('mean_predicted'))}, "
                      f"observed {fmt_pct(r.get('observed_rate'))}"
                      + (f" (95% interval {fmt_pct(r.get('observed_rate_low'))} – {fmt_pct(r.get('observed_rate_high'))})"
                         if r.get("observed_rate_low") is not None else "")
                      + f", {fmt_int(r.get('customers'))} customers")}
           for r in usable]
    path = " ".join(("M" if i == 0 else "L") + f"{q['x']},{q['y']}" for i, q in enumerate(pts))
    band = None
    if usable and all(r.get("observed_rate_low") is not None and r.get("observed_rate_high") is not None for r in usable):
        upper = [f"{x(num(r['mean_predicted']))},{y(num(r['observed_rate_high']))}" for r in usable]
        lower = [f"{x(num(r['mean_predicted']))},{y(num(r['observed_rate_low']))}" for r in reversed(usable)]
        band = "M" + " L".join(upper + lower) + " Z"
    ticks = [{"v": v, "x": x(v), "y": y(v), "text": fmt_pct(v, 0)} for v in (0, 0.25, 0.5, 0.75, 1.0)]
    n = sum(num(r.get("customers")) for r in rows)
    mean_pred = sum(num(r.get("mean_predicted")) * num(r.get("customers")) for r in rows) / n if n else None
    mean_obs = sum(num(r.get("observed_rate")) * num(r.get("customers")) for r in rows) / n if n else None
    gap = max(((abs(num(r.get("mean_predicted")) - num(r.get("observed_rate"))), i) for i, r in enumerate(usable)),
              default=None)
    summary = None
    if mean_pred is not None and mean_obs is not None:
        who = "out-of-time test rows" if test_rows is not None and num(test_rows) == n else "customers"
        summary = (f"Over the {fmt_int(n)} {who} the mean predicted churn probability is {fmt_pct(mean_pred)} "
                   f"and the observed churn rate {fmt_pct(mean_obs)}")
        if gap is not None:
            worst = usable[gap[1]]
            summary += (f"; the largest gap is in decile {fmt_int(worst.get('decile'))} (predicted "
                        f"{fmt_pct(worst.get('mean_predicted'))}, observed {fmt_pct(worst.get('observed_rate'))})")
        summary += "."
    return {"S": S, "H": mt + p + 48, "points": pts, "summary": summary, "path": path, "band": band, "ticks": ticks,
            "x0": x(0), "x1": x(1), "y0": y(0), "y1": y(1)}


def gains_chart(points: list[dict] | None, targeted: int, total_revenue_at_risk: float) -> dict | None:
    """The plan's gains curve: cumulative expected profit (left axis) and the share of all revenue
    at risk reached (right axis) against the number of customers contacted, best first, with
    the budget (the last targeted customer) marked."""
    if not points:
        return None
    points = sorted(points, key=lambda r: num(r.get("cumulative_contacts")))
    W, H, ml, mr, mt, mb = 960, 320, 80, 64, 24, 40
    pw, ph = W - ml - mr, H - mt - mb
    n_max = max(num(points[-1].get("cumulative_contacts")), 1.0)
    profits = [num(r.get("cumulative_profit")) for r in points]
    top, step = nice_scale(max(max(profits), 1.0), 5)
    bottom = min(0.0, min(profits))
    if bottom < 0:
        bottom = -nice_scale(-bottom, 3)[0]
    span = top - bottom

    def x(v: float) -> float:
        return round(ml + pw * v / n_max, 2)

    def y_profit(v: float) -> float:
        return round(mt + ph - ph * (v - bottom) / span, 2)

    def y_share(v: float) -> float:
        return round(mt + ph - ph * v, 2)

    profit_path = " ".join(("M" if i == 0 else "L") + f"{x(num(r.get('cumulative_contacts')))},"
                           f"{y_profit(num(r.get('cumulative_profit')))}" for i, r in enumerate(points))
    share = [num(r.get("cumulative_revenue_at_risk")) / total_revenue_at_risk if total_revenue_at_risk else 0.0
             for r in points]
    share_path = " ".join(("M" if i == 0 else "L") + f"{x(num(r.get('cumulative_contacts')))},{y_share(v)}"
                          for i, (r, v) in enumerate(zip(points, share)))
    at_budget = next((r for r in reversed(points) if num(r.get("cumulative_contacts")) <= targeted), points[0])
    budget_share = (num(at_budget.get("cumulative_revenue_at_risk")) / total_revenue_at_risk
                    if total_revenue_at_risk else 0.0)
    left = [{"y": y_profit(v), "text": fmt_money(v)} for v in _frange(bottom, top, step)]
    right = [{"y": y_share(v), "text": fmt_pct(v, 0)} for v in (0, 0.25, 0.5, 0.75, 1.0)]
    xstep = nice_scale(n_max, 6)[1]
    bottom_ticks = [{"x": x(v), "text": fmt_int(v)} for v in _frange(0, n_max, xstep)]
    return {"W": W, "H": H, "ml": ml, "mt": mt, "pw": pw, "ph": ph, "bottom": mt + ph,
            "profit_path": profit_path, "share_path": share_path, "zero_y": y_profit(0.0),
            "budget_x": x(targeted), "targeted": targeted, "left_ticks": left, "right_ticks": right,
            "bottom_ticks": bottom_ticks, "budget_profit": at_budget.get("cumulative_profit"),
            "budget_share": budget_share,
            "title": (f"{fmt_int(targeted)} customers contacted: expected profit "
                      f"{fmt_money(at_budget.get('cumulative_profit'))}, {fmt_pct(budget_share)} of the revenue at risk")}


def importance_chart(rows: list[dict] | None, top: int = 12) -> dict | None:
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (num(r.get("rank"), 1e9), -num(r.get("importance"))))[:top]
    W, ml, mr, mt, bh = 560, 190, 70, 24, 22
    H = mt + bh * len(rows) + 12
    pw = W - ml - mr
    vmax = max([num(r.get("importance")) + num(r.get("importance_std")) for r in rows] + [1e-9])
    vmax, step = nice_scale(vmax, 4)
    bars = []
    for i, r in enumerate(rows):
        imp, sd = num(r.get("importance")), num(r.get("importance_std"))
        w = pw * max(0.0, imp) / vmax
        y0 = mt + i * bh
        bars.append({"label": truncate(r.get("feature"), 28), "y": y0 + 3, "h": bh - 8, "ly": y0 + bh / 2,
                     "w": round(w, 2), "text": fmt_num(imp, 3), "tx": round(ml + max(w, pw * (imp + sd) / vmax) + 6, 2),
                     "e0": round(ml + pw * max(0.0, imp - sd) / vmax, 2),
                     "e1": round(ml + pw * max(0.0, imp + sd) / vmax, 2),
                     "title": f"{r.get('feature')}: {fmt_num(imp, 4)} ± {fmt_num(sd, 4)}"})
    ticks = [{"x": round(ml + pw * v / vmax, 2), "text": fmt_num(v, 3)} for v in _frange(0, vmax, step)]
    method = rows[0].get("method") if rows else None
    return {"W": W, "H": H + 18, "ml": ml, "mt": mt, "pw": pw, "bars": bars, "ticks": ticks,
            "bottom": H - 4, "method": method}


def forest_chart(rows: list[dict] | None, label_key: str = "label") -> dict | None:
    """Uplift with its 95% interval, one row each (a forest plot): a dot at the uplift, a line
    across the interval, the zero line (no effect) marked. Rows need ``uplift``, ``uplift_ci_low``,
    ``uplift_ci_high``, the label and optionally ``group`` (a heading drawn before its first row)
    and ``note`` (shown at the right)."""
    rows = [r for r in rows or [] if r.get("uplift") is not None]
    if not rows:
        return None
    W, ml, mr, mt, row_h = 960, 230, 250, 30, 26
    headings = sum(1 for i, r in enumerate(rows) if r.get("group") and (i == 0 or rows[i - 1].get("group") != r["group"]))
    H = mt + row_h * (len(rows) + headings) + 40
    pw = W - ml - mr
    lows = [num(r.get("uplift_ci_low"), num(r.get("uplift"))) for r in rows]
    highs = [num(r.get("uplift_ci_high"), num(r.get("uplift"))) for r in rows]
    reach = max(max(abs(v) for v in lows + highs), 0.01)
    top, step = nice_scale(reach, 4)
    lo = -top if min(lows) < 0 else 0.0
    lo = max(lo, -top)

    def x(v: float) -> float:
        return round(ml + pw * (min(max(v, lo), top) - lo) / (top - lo), 2)

    out, y, previous = [], mt, None
    heads = []
    for r, low, high in zip(rows, lows, highs):
        if r.get("group") and r["group"] != previous:
            heads.append({"y": y + row_h * 0.7, "text": r["group"]})
            y += row_h
            previous = r["group"]
        u = num(r.get("uplift"))
        cy = y + row_h / 2
        out.append({
            "cy": round(cy, 2), "x": x(u), "x0": x(low), "x1": x(high), "label": truncate(r.get(label_key), 30),
            "name": str(r.get(label_key)), "text": f"{100 * u:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]",
            "note": r.get("note") or "", "significant": low > 0 or high < 0, "positive": u >= 0,
            "title": (f"{r.get(label_key)}: uplift {100 * u:+.1f} points, 95% interval {100 * low:+.1f} to "
                      f"{100 * high:+.1f}" + (f"; {r['note']}" if r.get("note") else ""))})
        y += row_h
    ticks = [{"x": x(v), "text": f"{100 * v:+.0f}" if v else "0"} for v in _frange(lo, top, step)]
    return {"W": W, "H": H, "ml": ml, "mt": mt, "pw": pw, "rows": out, "heads": heads, "ticks": ticks,
            "zero_x": x(0.0), "bottom": y, "value_x": ml + pw + 12}


QINI_COLORS = {"two_model": C_GREEN, "churn_probability": C_ORANGE, "random": C_SLATE}
QINI_NAMES = {"two_model": "uplift model", "churn_probability": "ranking by churn probability",
              "random": "random targeting"}


def qini_chart(rows: list[dict] | None) -> dict | None:
    """Qini curves of the held-out customers: incremental retained customers (as a share of all
    treated) against the share of customers targeted, one line per ranking."""
    if not rows:
        return None
    W, H, ml, mr, mt, mb = 620, 330, 64, 20, 20, 44
    pw, ph = W - ml - mr, H - mt - mb
    values = [num(r.get("qini")) for r in rows]
    top, step = nice_scale(max(max(values), 0.01), 4)
    bottom = -step * math.ceil(-min(0.0, min(values)) / step - 1e-9)  # ticks through 0

    def x(v: float) -> float:
        return round(ml + pw * v, 2)

    def y(v: float) -> float:
        return round(mt + ph - ph * (v - bottom) / (top - bottom), 2)

    lines = []
    for name in ("random", "churn_probability", "two_model"):
        points = sorted((r for r in rows if r.get("ranking") == name), key=lambda r: num(r.get("fraction")))
        if points:
            path = " ".join(("M" if i == 0 else "L") + f"{x(num(r.get('fraction')))},{y(num(r.get('qini')))}"
                            for i, r in enumerate(points))
            lines.append({"name": name, "label": QINI_NAMES.get(name, name), "color": QINI_COLORS.get(name, C_BLUE),
                          "path": path, "dashed": name == "random"})
    digits = 0 if abs(round(step * 100) - step * 100) < 1e-9 else 1
    left = [{"y": y(v), "text": fmt_pct(v, digits)} for v in _frange(bottom, top, step)]
    bottom_ticks = [{"x": x(v), "text": fmt_pct(v, 0)} for v in (0, 0.25, 0.5, 0.75, 1.0)]
    return {"W": W, "H": H, "ml": ml, "mt": mt, "pw": pw, "ph": ph, "bottom": mt + ph, "zero_y": y(0.0),
            "lines": lines, "left_ticks": left, "bottom_ticks": bottom_ticks}
