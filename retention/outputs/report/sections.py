"""The report's sections as plain values: the model cards, the decision matrix, the plan, the
campaign tables and simulator data, and the findings written from the data."""
from __future__ import annotations

import math
from typing import Any

from retention.outputs.report.charts import _diverging, _quantile, forest_chart, nice_scale, qini_chart
from retention.outputs.report.formatting import fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct, num

AT_RISK_KEY = "high_value_high_risk"
PLAN_KEY = "retention_plan"
QUADRANT_KEYS = ("high_value_low_risk", "high_value_high_risk", "low_value_low_risk", "low_value_high_risk")
QUADRANT_DEFAULT_NAMES = {
    "high_value_low_risk": "Champions",
    "high_value_high_risk": "At-Risk Retention",
    "low_value_high_risk": "Sunk Cost",
    "low_value_low_risk": "Nurture",
}
SCENARIO_ORDER = {"pessimistic": 0, "base": 1, "optimistic": 2}
MODEL_VALUE_KEYS = ("roc_auc", "pr_auc", "brier", "brier_base_rate", "base_rate", "threshold", "ece",
                    "mean_predicted", "distinct_probabilities", "season_offset",
                    "precision_at_threshold", "recall_at_threshold", "flagged_share")
SIM_SUMS = ("contacts", "sum_churn_probability", "sum_churn_x_revenue", "sum_eov", "sum_churn_x_eov")


def _by_model(metrics: list[dict]) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for r in metrics:
        out.setdefault(str(r.get("model")), {})[str(r.get("metric"))] = r
    return out


def _trust_text(values: dict, scored: dict, offset_detail: str | None = None) -> str | None:
    """How far to trust the level of the probabilities, not just their ranking, in words
    (``offset_detail``: the detail of the scored season_offset row, which says its kind)."""
    if values.get("mean_predicted") is None or values.get("base_rate") is None:
        return None
    gap = num(values["mean_predicted"]) - num(values["base_rate"])
    ece = num(values.get("ece"), 1.0)
    text = (f"On the out-of-time test cutoff the model predicted {fmt_pct(values['mean_predicted'])} churn on "
            f"average against {fmt_pct(values['base_rate'])} observed; its deciles were off by "
            f"{fmt_pct(ece)} on average (expected calibration error).")
    if abs(gap) <= 0.04 and ece <= 0.05:
        text += " Read the probabilities as rates: a group's summed probabilities estimate how many of it will leave."
    elif abs(gap) <= 0.04:
        text += (" The overall level holds, so totals over many customers can be trusted; single probabilities "
                 "less so: some deciles are over- and others underestimated.")
    elif num(scored.get("season_offset")) and not num(values.get("season_offset")):
        text += (" That is the level before any correction, as the test cutoff had no year-earlier window to "
                 "correct it with. Today's probabilities carry a correction, an estimate no labelled window could "
                 "check: trust the ranking as tested, the level as estimated.")
    else:
        text += (f" Trust the ranking (who is riskier) more than the level: totals that multiply the probabilities "
                 f"{'over' if gap > 0 else 'under'}state churn by about {fmt_pct(abs(gap))}.")
    expected, last_year = scored.get("expected_churn_rate"), scored.get("last_year_observed_rate")
    if expected is not None and last_year is not None:
        offset = num(scored.get("season_offset"))
        text += f" Now it expects {fmt_pct(expected)} to churn; in the same window last year {fmt_pct(last_year)} did"
        if offset and "(transfer:" in str(offset_detail or ""):
            text += (", too early in the data to calibrate against, so the level is carried from the latest "
                     "labelled window by last year's change between the two windows among recent buyers "
                     f"(an offset of {offset:+.2f} in log-odds).")
        else:
            text += f" (the season offset of {offset:+.2f} in log-odds is applied)." if offset else "."
    elif expected is not None:
        text += (f" Now it expects {fmt_pct(expected)} to churn; there is no labelled window a year back to "
                 "check the season against.")
    return text


def model_card(metrics: list[dict] | None, kpis: dict) -> dict | None:
    if not metrics:
        return None
    by_model = _by_model(metrics)
    candidates_names = [m for m in by_model if m not in ("split", "scored") and not m.endswith("_calibrated")
                        and not m.startswith("calibration:")]
    chosen = next((m for m in candidates_names if num(by_model[m].get("is_chosen", {}).get("value")) == 1),
                  kpis.get("model_name") or (candidates_names[0] if candidates_names else None))
    block = f"{chosen}_calibrated" if f"{chosen}_calibrated" in by_model else chosen
    values = {**{k: None for k in MODEL_VALUE_KEYS}, **{k: v.get("value") for k, v in by_model.get(block, {}).items()}}
    details = {k: v.get("detail") for k, v in by_model.get(block, {}).items()}
    split = by_model.get("split", {})
    scored = {k: v.get("value") for k, v in by_model.get("scored", {}).items()}
    candidates = sorted(({"name": m, "roc_auc": by_model[m].get("roc_auc", {}).get("value"),
                          "pr_auc": by_model[m].get("pr_auc", {}).get("value"),
                          "brier": by_model[m].get("brier", {}).get("value"), "chosen": m == chosen}
                         for m in candidates_names), key=lambda c: -num(c["pr_auc"]))
    calibrators = sorted(({"name": m.split(":", 1)[1], "brier": ms.get("brier", {}).get("value"),
                           "ece": ms.get("ece", {}).get("value"), "mean": ms.get("mean_predicted", {}).get("value"),
                           "eligible": num(ms.get("is_eligible", {}).get("value")) == 1,
                           "chosen": num(ms.get("is_chosen", {}).get("value")) == 1}
                          for m, ms in by_model.items() if m.startswith("calibration:")),
                         key=lambda c: num(c["brier"], 9))
    return {
        "name": chosen, "block": block, "calibrated": block != chosen,
        "calibration_method": details.get("calibration_method"), "threshold_rule": details.get("threshold"),
        "values": values, "scored": scored,
        "trust": _trust_text(values, scored, by_model.get("scored", {}).get("season_offset", {}).get("detail")),
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
        "candidates": candidates, "calibrators": calibrators,
    }


def value_card(metrics: list[dict] | None) -> dict | None:
    """The value-if-retained model: every candidate's out-of-time rank correlation, the choice."""
    if not metrics:
        return None
    by_model = _by_model(metrics)
    rows = sorted(({"name": m, "spearman": ms.get("spearman", {}).get("value"),
                    "gini": ms.get("normalised_gini", {}).get("value"),
                    "mean_predicted": ms.get("mean_predicted", {}).get("value"),
                    "mean_realised": ms.get("mean_realised", {}).get("value"),
                    "chosen": num(ms.get("is_chosen", {}).get("value")) == 1}
                   for m, ms in by_model.items() if m != "choice"), key=lambda r: -num(r["spearman"], -9))
    choice = by_model.get("choice", {})
    chosen = next((r for r in rows if r["chosen"]), None)
    beats = num(choice.get("beats_past_monetary", {}).get("value")) == 1
    return {"rows": rows, "chosen": chosen["name"] if chosen else None, "beats_past_monetary": beats,
            "note": choice.get("beats_past_monetary", {}).get("detail"),
            "margin": choice.get("margin", {}).get("value"),
            "test_buyers": next((ms.get("test_buyers", {}).get("value") for ms in by_model.values()
                                 if "test_buyers" in ms), None)}


def clv_card(rows: list[dict] | None) -> list[dict] | None:
    if not rows:
        return None
    models: dict[str, dict[str, Any]] = {}
    for r in rows:
        models.setdefault(str(r.get("model")), {})[str(r.get("name"))] = r.get("value")
    titles = {"bgnbd": "BG/NBD (purchase frequency and dropout)", "gamma_gamma": "Gamma-Gamma (order value)"}
    meta = {"log_likelihood", "converged", "iterations", "n_customers", "n_excluded", "dropout_identified",
            "dropout_lr_statistic"}
    out = []
    for m, vals in models.items():
        conv = vals.get("converged")
        identified = vals.get("dropout_identified")
        out.append({"model": m, "title": titles.get(m, m),
                    "params": [{"name": k, "value": fmt_num(v, 4)} for k, v in vals.items() if k not in meta],
                    "converged": None if conv is None else num(conv) == 1,
                    "dropout_identified": None if identified is None else num(identified) == 1,
                    "dropout_statistic": fmt_num(vals.get("dropout_lr_statistic"), 2),
                    "iterations": fmt_int(vals.get("iterations")), "log_likelihood": fmt_num(vals.get("log_likelihood"), 1),
                    "n_customers": fmt_int(vals.get("n_customers")), "n_excluded": fmt_int(vals.get("n_excluded"))})
    return out


def quadrant_cards(summary: list[dict], info: list[dict] | None) -> list[dict]:
    by_name = {r.get("segment"): r for r in summary if r.get("dimension") == "quadrant"}
    info_by_key = {r.get("quadrant_key"): r for r in (info or [])}
    total_risk = sum(num(r.get("revenue_at_risk")) for r in by_name.values())
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
            "risk_share": fmt_pct(num(s.get("revenue_at_risk")) / total_risk) if total_risk and s else "—",
            "avg_churn": fmt_pct(s.get("avg_churn_probability")),
            "avg_value": fmt_money(s.get("avg_value_if_retained")),
            "targeted": fmt_int(i.get("targeted")),
            "value": "high" if key.startswith("high_value") else "low",
            "risk": "high" if key.endswith("high_risk") else "low",
        })
    return cards


def simulate(q: dict | None, discount: float, cost_per_contact: float, save_rate: float,
             margin: float) -> dict | None:
    """The campaign arithmetic of macros/campaign_economics.sql on the sums of a list
    (marts.campaign_inputs); assets/report.js mirrors these lines and a test holds all three equal."""
    if not q:
        return None
    d, c, s, m = discount, cost_per_contact, save_rate, margin
    contact_cost = c * q["contacts"]
    discount_cost = d * (q["sum_eov"] - (1 - s) * q["sum_churn_x_eov"])
    cost = contact_cost + discount_cost
    revenue_saved = s * q["sum_churn_x_revenue"]
    value_saved = m * revenue_saved
    net = value_saved - cost
    return {"contacts": q["contacts"], "contact_cost": contact_cost, "discount_cost": discount_cost,
            "total_cost": cost, "saved": s * q["sum_churn_probability"], "revenue_saved": revenue_saved,
            "value_saved": value_saved, "net": net, "roi": net / cost if cost else None,
            "break_even_margin": cost / revenue_saved if revenue_saved else None}


def _roi_groups(roi_rows: list[dict]) -> list[dict]:
    groups: list[dict] = []
    for r in roi_rows:
        if not groups or groups[-1]["key"] != r.get("target_key"):
            groups.append({"key": r.get("target_key"), "name": r.get("target_name"), "type": r.get("target_type"),
                           "contacts": r.get("contacts"), "rows": []})
        groups[-1]["rows"].append(r)
    return groups


def campaign_model(roi: list[dict] | None, inputs: list[dict] | None, margin: float | None) -> dict:
    def order(r: dict) -> tuple:
        key = r.get("target_key")
        rank = -1 if key == PLAN_KEY else (QUADRANT_KEYS.index(key) if key in QUADRANT_KEYS else 9)
        return rank, str(key), SCENARIO_ORDER.get(r.get("scenario"), 9)

    roi_rows = sorted(roi or [], key=order)
    targets = {str(r.get("target_key")): {**{k: num(r.get(k)) for k in SIM_SUMS}, "name": str(r.get("target_name"))}
               for r in sorted(inputs or [], key=order)}
    presets: dict[str, dict[str, dict]] = {}
    for r in roi_rows:
        presets.setdefault(str(r.get("target_key")), {})[str(r.get("scenario"))] = {
            "discount": num(r.get("discount")), "cost_per_contact": num(r.get("cost_per_contact")),
            "save_rate": num(r.get("save_rate"))}
    default_key = PLAN_KEY if PLAN_KEY in targets else next(iter(targets), None)
    base = (presets.get(default_key or "", {}).get("base")
            or next((p.get("base") for p in presets.values() if p.get("base")), None)
            or {"discount": 0.1, "cost_per_contact": 1.0, "save_rate": 0.2})
    margin = num(margin, 0.3) if margin is not None else 0.3
    max_cost = max([p["cost_per_contact"] for q in presets.values() for p in q.values()] + [base["cost_per_contact"], 1.0])
    sim = ({"targets": targets, "presets": presets, "defaults": {"target_key": default_key, **base, "margin": margin}}
           if targets else None)
    ui = {"discount": round(base["discount"] * 100, 4), "cost_per_contact": round(base["cost_per_contact"], 4),
          "save_rate": round(base["save_rate"] * 100, 4), "margin": round(margin * 100, 4)}
    return {"rows": roi_rows, "groups": _roi_groups(roi_rows), "sim": sim,
            "options": [{"key": k, "name": t["name"]} for k, t in targets.items()], "default_key": default_key,
            "defaults": base, "ui": ui, "margin": margin, "cost_max": nice_scale(max_cost * 3, 5)[0],
            "discount_max": max(50.0, math.ceil(base["discount"] * 100 / 10) * 10)}


def sensitivity_grid(rows: list[dict] | None) -> dict | None:
    if not rows:
        return None
    discounts = sorted({num(r.get("discount")) for r in rows})
    rates = sorted({num(r.get("save_rate")) for r in rows})
    cell = {(num(r.get("discount")), num(r.get("save_rate"))): r for r in rows}
    rois = [num(r.get("roi")) for r in rows if r.get("roi") is not None]
    # gains saturate at their 75th percentile so one extreme corner does not wash out the grid
    pos_limit = _quantile([v for v in rois if v > 0], 0.75)
    out = []
    for d in discounts:
        cells = []
        for s in rates:
            r = cell.get((d, s))
            if not r or r.get("roi") is None:
                cells.append({"text": "—", "bg": "#ffffff", "fg": "#64748b", "title": ""})
                continue
            bg, fg = _diverging(num(r["roi"]), pos_limit, 1.0)
            cells.append({"text": fmt_pct(r["roi"], 0), "bg": bg, "fg": fg,
                          "title": (f"discount {fmt_pct(d)}, save rate {fmt_pct(s)}: net profit "
                                    f"{fmt_money(r.get('net_profit'))} on cost {fmt_money(r.get('total_cost'))}, "
                                    f"margin saved {fmt_money(r.get('value_saved'))}; break-even margin "
                                    f"{fmt_pct(r.get('break_even_margin'))}")})
        out.append({"discount": fmt_pct(d), "cells": cells})
    first = rows[0]
    return {"rates": [fmt_pct(s) for s in rates], "rows": out, "cost_per_contact": fmt_money(first.get("cost_per_contact")),
            "margin": fmt_pct(first.get("gross_margin"), 0), "contacts": fmt_int(first.get("contacts"))}


# --------------------------------------------------------------------------- campaign experiments

DIMENSION_LABELS = {"decision_quadrant": "Decision quadrant at contact", "risk_band": "Churn risk band at contact",
                    "rfm_segment": "RFM segment at contact"}
RISK_ORDER = {"low": 0, "medium": 1, "high": 2}


def _points(x: Any) -> str:
    return "—" if x is None else f"{100 * num(x):+.1f}"


def _campaign_rows(results: list[dict]) -> list[dict]:
    out = []
    for r in sorted(results, key=lambda r: (str(r.get("last_contacted_at")), str(r.get("campaign_id")))):
        out.append({**r, "contacted": (fmt_date(r.get("first_contacted_at")) if r.get("first_contacted_at") ==
                                       r.get("last_contacted_at") else
                                       f"{fmt_date(r.get('first_contacted_at'))} – {fmt_date(r.get('last_contacted_at'))}"),
                    "uplift_text": _points(r.get("uplift")),
                    "interval_text": (f"{_points(r.get('uplift_ci_low'))} to {_points(r.get('uplift_ci_high'))}"
                                      if r.get("uplift") is not None else "—"),
                    "is_significant": r.get("uplift_ci_low") is not None and (num(r.get("uplift_ci_low")) > 0
                                                                              or num(r.get("uplift_ci_high")) < 0),
                    "complete": r.get("window_status") == "complete"})
    return out


def _segment_rows(segments: list[dict], campaign_id: Any) -> list[dict]:
    rows = [r for r in segments if r.get("campaign_id") == campaign_id]
    quadrant_rank = {name: i for i, name in enumerate(QUADRANT_DEFAULT_NAMES.values())}

    def order(r: dict) -> tuple:
        dim = str(r.get("dimension"))
        inner = (RISK_ORDER.get(str(r.get("segment")), 9) if dim == "risk_band" else
                 quadrant_rank.get(str(r.get("segment")), 9) if dim == "decision_quadrant" else
                 -num(r.get("treated_customers")) - num(r.get("control_customers")))
        return list(DIMENSION_LABELS).index(dim) if dim in DIMENSION_LABELS else 9, inner, str(r.get("segment"))

    out = []
    for r in sorted(rows, key=order):
        n_t, n_c = fmt_int(r.get("treated_customers")), fmt_int(r.get("control_customers"))
        out.append({**r, "group": DIMENSION_LABELS.get(str(r.get("dimension")), r.get("dimension")),
                    "label": r.get("segment"), "note": f"n = {n_t} / {n_c}",
                    "uplift_text": _points(r.get("uplift")),
                    "interval_text": (f"{_points(r.get('uplift_ci_low'))} to {_points(r.get('uplift_ci_high'))}"
                                      if r.get("uplift") is not None else "—")})
    return out


def _uplift_model(metrics: list[dict] | None, qini: list[dict] | None, ranking: Any) -> dict | None:
    if not metrics:
        return None
    by = {(str(r.get("model")), str(r.get("metric"))): r for r in metrics}

    def value(model: str, metric: str) -> Any:
        return (by.get((model, metric)) or {}).get("value")

    fitted = num(value("choice", "is_fitted")) == 1
    wins = num(value("choice", "use_uplift")) == 1
    return {"fitted": fitted, "wins": wins, "why": (by.get(("choice", "is_fitted")) or {}).get("detail"),
            "qini_model": value("two_model", "qini_coefficient"), "qini_risk": value("churn_probability", "qini_coefficient"),
            "top_model": value("two_model", "uplift_top_30pct"), "top_risk": value("churn_probability", "uplift_top_30pct"),
            "split": (by.get(("split", "is_out_of_time")) or {}).get("detail"),
            "test_treated": value("split", "test_treated"), "test_control": value("split", "test_control"),
            "min_customers": value("choice", "min_customers"),
            "used": ranking == "predicted_uplift", "chart": qini_chart(qini) if fitted else None}


def experiments_card(data: dict, params: dict) -> dict | None:
    """The section "What the last campaigns did": None when no past campaign was read back."""
    results = data.get("campaign_results") or []
    if not results:
        return None
    campaigns = _campaign_rows(results)
    latest = next((c for c in reversed(campaigns) if c["complete"]), campaigns[-1])
    segments = _segment_rows(data.get("campaign_segments") or [], latest.get("campaign_id"))
    scenarios = {str(r.get("scenario")): r for r in data.get("plan_scenarios") or []}
    measured = scenarios.get("measured")
    assumed = scenarios.get(str(params.get("campaign_cost_scenario") or "base"))
    plan_scenario = str(params.get("plan_scenario") or "base")
    forest_rows = [{**c, "label": c.get("campaign_id"), "note": c.get("window_status")} for c in campaigns]
    return {"campaigns": campaigns, "latest": latest, "segments": segments,
            "campaign_forest": forest_chart(forest_rows), "segment_forest": forest_chart(segments),
            "measured": measured, "assumed": assumed, "plan_scenario": plan_scenario,
            "measured_in_use": plan_scenario == "measured",
            "uplift": _uplift_model(data.get("uplift_metrics"), data.get("uplift_qini"), data.get("plan_ranking")),
            "window_days": latest.get("window_days")}


def campaign_insight(card: dict | None) -> str | None:
    if not card:
        return None
    c = card["latest"]
    if c.get("uplift") is None:
        return (f"Campaign {c.get('campaign_id')} ({c.get('window_status')}) has no control group to compare with: "
                "its effect cannot be measured.")
    text = (f"Campaign {c.get('campaign_id')} ({c.get('window_status')}): {fmt_pct(c.get('treated_retention_rate'))} "
            f"of the contacted customers ordered within {fmt_int(c.get('window_days'))} days against "
            f"{fmt_pct(c.get('control_retention_rate'))} of the control group, an uplift of {c['uplift_text']} points "
            f"(95% interval {c['interval_text']})")
    if not c["is_significant"]:
        text += ", which cannot be told apart from no effect"
    if c.get("realised_roi") is not None:
        text += (f"; the window's extra margin {fmt_money(c.get('incremental_margin'))} against "
                 f"{fmt_money(c.get('realised_cost'))} of cost: realised ROI {fmt_pct(c.get('realised_roi'), 0)}")
    return text + "."


# --------------------------------------------------------------------------- findings

def _share(part: Any, whole: float) -> str:
    return fmt_pct(num(part) / whole) if whole else "—"


def plan_insight(kpis: dict, roi_rows: list[dict] | None, gains: dict | None, holdout: tuple | None = None,
                 ranking: Any = None) -> str | None:
    if kpis.get("plan_targeted_customers") is None:
        return None
    n = num(kpis["plan_targeted_customers"])
    margin = fmt_pct(kpis.get("gross_margin"), 0)
    if n == 0:
        return (f"At a gross margin of {margin}, no customer's expected incremental profit is positive under the "
                "plan scenario: the retention plan recommends no campaign.")
    plan = next((r for r in roi_rows or [] if r.get("target_key") == PLAN_KEY and r.get("scenario") == "base"), None)
    text = (f"The retention plan contacts {fmt_int(n)} customers ({_share(n, num(kpis.get('total_customers')))} "
            f"of all) for an expected incremental profit of {fmt_money(kpis.get('plan_expected_profit'))} after "
            f"{fmt_money(kpis.get('plan_expected_cost'))} of contact and discount cost, at a gross margin of {margin}")
    if plan and plan.get("break_even_margin") is not None:
        text += f"; the list breaks even at a margin of {fmt_pct(plan['break_even_margin'])}"
    if gains:
        text += f", and reaches {fmt_pct(gains['budget_share'])} of all revenue at risk"
    text += "."
    if ranking == "predicted_uplift":
        text += " Customers are ranked by the uplift model's predicted uplift × value, which beat churn risk on past campaigns."
    if holdout and holdout[1]:
        text += (f" {fmt_int(holdout[0])} of them are held out at random as the control group of campaign "
                 f"{holdout[1]}, so that its effect can be measured.")
    return text


def leak_insight(summary: list[dict]) -> str | None:
    rfm = [r for r in summary if r.get("dimension") == "rfm_segment"]
    total = sum(num(r.get("revenue_at_risk")) for r in rfm)
    if not rfm or total <= 0:
        return None
    top = max(rfm, key=lambda r: num(r.get("revenue_at_risk")))
    return (f"The RFM segment “{top.get('segment')}” carries the largest revenue at risk: "
            f"{fmt_money(top.get('revenue_at_risk'))} ({_share(top.get('revenue_at_risk'), total)} of the total), "
            f"from {fmt_pct(top.get('share_of_customers'))} of customers.")


def quadrant_insight(cards: list[dict]) -> str | None:
    card = next((c for c in cards if c["key"] == AT_RISK_KEY), None)
    if not card or card["customers"] == "—":
        return None
    return (f"The “{card['name']}” quadrant (high value if retained, high risk) holds {card['customers']} customers "
            f"({card['share']}) and {card['risk_share']} of the revenue at risk; the plan contacts "
            f"{card['targeted']} of them. Quadrants describe customers; the plan picks them one by one.")


def engagement_insights(rows: list[dict] | None) -> list[str]:
    out = []
    labels = {"orders": ("orders", "order"), "active_months": ("active months", "active month")}
    for dim in ("orders", "active_months"):
        dim_rows = sorted([r for r in rows or [] if r.get("dimension") == dim], key=lambda r: num(r.get("level")))
        thr = next((r for r in dim_rows if r.get("is_threshold") is True or r.get("is_threshold") == 1), None)
        if not thr:
            continue
        level, base = int(num(thr.get("level"))), num(thr.get("base_rate"))
        plural, singular = labels[dim]
        at_or_above = [r for r in dim_rows if num(r.get("level")) >= level]
        n = sum(num(r.get("customers")) for r in at_or_above)
        pooled = sum(num(r.get("churn_rate")) * num(r.get("customers")) for r in at_or_above) / n if n else None
        if pooled is not None and pooled < base / 2 and level < 10:
            out.append(f"Customers with {level}+ {singular if level == 1 else plural} churned at {fmt_pct(pooled)} "
                       f"in past snapshots, less than half the base rate of {fmt_pct(base)} ({fmt_int(n)} "
                       f"customer-snapshots). This is an association, not proof that more {plural} cause loyalty.")
        else:
            qual = "10 or more" if level >= 10 else f"exactly {level}"
            out.append(f"Customers with {qual} {plural if level != 1 else singular} churned at "
                       f"{fmt_pct(thr.get('churn_rate'))} in past snapshots, less than half the base rate of "
                       f"{fmt_pct(base)} ({fmt_int(thr.get('customers'))} customer-snapshots).")
    return out


def churn_insight(kpis: dict) -> str | None:
    if kpis.get("observed_churn_rate") is None or kpis.get("predicted_churn_rate") is None:
        return None
    cutoff = f" ({fmt_date(kpis['observed_cutoff_date'])})" if kpis.get("observed_cutoff_date") else ""
    return (f"{fmt_pct(kpis['observed_churn_rate'])} of customers churned within "
            f"{fmt_int(kpis.get('churn_horizon_days'))} days after the latest fully observed cutoff{cutoff}; "
            f"the model expects {fmt_pct(kpis['predicted_churn_rate'])} of today's customers to churn.")


def build_insights(data: dict, kpis: dict, summary: list[dict], cards: list[dict], model: dict | None,
                   gains: dict | None) -> list[dict]:
    """Short findings computed from the data; each is left out when its inputs are missing. The
    campaign finding is the plan's: no finding recommends a quadrant."""
    found = [("The retention plan", plan_insight(kpis, data.get("campaign_roi"), gains, data.get("plan_holdout"),
                                                 data.get("plan_ranking"))),
             ("Where the revenue leaks", leak_insight(summary)),
             ("High value, high risk", quadrant_insight(cards))]
    found += [("Engagement threshold", text) for text in engagement_insights(data.get("engagement"))]
    found += [("How far to trust the scores", model["trust"] if model else None),
              ("Churn now", churn_insight(kpis)),
              ("What the last campaign did", campaign_insight(data.get("experiments")))]
    return [{"title": title, "text": text} for title, text in found if text]
