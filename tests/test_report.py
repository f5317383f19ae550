"""The HTML report (scripts/render_report.py) on a small hand-made warehouse.

The fixture writes the marts and model tables of the marts contract by hand (no dbt build),
with hostile text in a country, a cluster name, an RFM segment, top_drivers and a quadrant
name. A headless Chromium (skipped when /usr/bin/chromium is absent) checks what a viewer
sees: the charts exist, the simulator computed the contract's ROI, no script error.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.render_report import fmt_money, fmt_pct, render_report, simulate  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
AS_OF = dt.date(2011, 12, 10)

KPIS = dict(total_customers=12345, active_customers=6789, active_rate=0.55, observed_churn_rate=0.4321,
            observed_retention_rate=0.5679, predicted_churn_rate=0.3876, revenue_at_risk=1234567.89,
            avg_clv=2345.67, total_clv=28956789.0, churn_horizon_days=90, high_value_at_risk_customers=321,
            model_name="logistic_regression", model_roc_auc=0.7431, model_threshold=0.65)
# The at-risk quadrant's base scenario: the simulator's default inputs.
BASE = dict(discount=0.10, cost_per_contact=2.0, save_rate=0.25)
SCENARIOS = {"pessimistic": dict(discount=0.15, cost_per_contact=3.0, save_rate=0.10), "base": BASE,
             "optimistic": dict(discount=0.05, cost_per_contact=1.0, save_rate=0.40)}
QUADRANTS = {  # key -> (name, strategy)
    "high_value_low_risk": ("Champions", "Brand ambassadors: early access, referral rewards"),
    "high_value_high_risk": ("At-Risk Retention", "Immediate retention offer"),
    "low_value_high_risk": ("Sunk Cost", "Automated low-cost re-engagement; keep out of expensive campaigns"),
    "low_value_low_risk": ("Nurture" + "</script><script>alert(2)</script>", "Standard lifecycle"),
}


def _table(con, name: str, columns: str, rows: list[tuple]) -> None:
    con.execute(f"create table {name} ({columns})")
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"insert into {name} values ({marks})", rows)


def _customers() -> list[tuple]:
    """Twelve customers: three per quadrant, hostile text in a few of them."""
    rows = []
    spec = [  # (quadrant key, churn probability, clv, expected order value)
        ("high_value_high_risk", 0.82, 5200.0, 410.0), ("high_value_high_risk", 0.71, 3900.0, 350.0),
        ("high_value_high_risk", 0.66, 2500.0, 300.0),
        ("high_value_low_risk", 0.12, 8000.0, 520.0), ("high_value_low_risk", 0.20, 4100.0, 380.0),
        ("high_value_low_risk", 0.25, 3000.0, 260.0),
        ("low_value_high_risk", 0.90, 150.0, 40.0), ("low_value_high_risk", 0.77, 90.0, 35.0),
        ("low_value_high_risk", 0.69, 60.0, 25.0),
        ("low_value_low_risk", 0.30, 400.0, 60.0), ("low_value_low_risk", 0.15, 300.0, 55.0),
        ("low_value_low_risk", 0.22, 200.0, 45.0),
    ]
    for i, (key, p, clv, eov) in enumerate(spec):
        name, strategy = QUADRANTS[key]
        high_value, high_risk = key.startswith("high_value"), key.endswith("high_risk")
        country = HOSTILE if i == 0 else ("United Kingdom" if i % 2 else "France")
        cluster = f"frequent spenders {HOSTILE_ATTR}" if i == 1 else "occasional buyers"
        segment = f"Can't Lose {HOSTILE}" if i == 2 else ("At Risk" if high_risk else "Champions")
        drivers = (f"no orders in the last 90 days; note {HOSTILE} {HOSTILE_ATTR}" if i == 0
                   else f"{i + 1} orders in total; lifetime spend {clv * 1.5:,.0f}")
        value_of_acting = p * BASE["save_rate"] * clv - BASE["cost_per_contact"] - \
            (p * BASE["save_rate"] + 1 - p) * BASE["discount"] * eov
        rows.append((
            f"C{1000 + i}", country, segment, "455", i % 2, cluster,
            "high" if high_risk else "low", "high" if high_value else "low", name, key, strategy,
            "offer" if high_risk else "keep", 30 + 10 * i, 2 + i, clv * 1.5, 4, 3, 4, p, clv, 1 - p / 2, eov,
            value_of_acting, drivers, high_value, high_risk, AS_OF - dt.timedelta(days=30 + 10 * i), AS_OF))
    return rows


def build_fixture(path: Path, *, alerts: bool = True, at_risk_customers: bool = True,
                  optional_marts: bool = True) -> Path:
    """A warehouse with every table the report reads, written by hand along the marts contract."""
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "features", "ml", "intermediate"):
            con.execute(f"create schema {schema}")
        _table(con, "intermediate.int_analysis_parameters",
               "as_of_date DATE, is_as_of_date_set BOOLEAN, churn_horizon_days INTEGER, snapshot_cadence_days INTEGER,"
               " snapshot_count INTEGER, churn_recall_target DECIMAL(2,1), segment_count INTEGER,"
               " clv_horizon_days INTEGER, clv_margin DECIMAL(2,1), clv_annual_discount_rate DECIMAL(2,1),"
               " clv_holdout_days INTEGER, calibration_end_date DATE, first_transaction_date DATE,"
               " last_transaction_date DATE",
               [(AS_OF, False, 90, 30, 12, 0.7, 0, 365, 1.0, 0.0, 90, dt.date(2011, 9, 11),
                 dt.date(2010, 12, 1), dt.date(2011, 12, 9))])
        customers = _customers()
        if not at_risk_customers:
            customers = [c for c in customers if c[9] != "high_value_high_risk"]
        _table(con, "marts.customer_decisions",
               "customer_id VARCHAR, country VARCHAR, rfm_segment VARCHAR, rfm_score VARCHAR, cluster_id BIGINT,"
               " cluster_name VARCHAR, risk_band VARCHAR, value_tier VARCHAR, decision_quadrant VARCHAR,"
               " quadrant_key VARCHAR, strategy VARCHAR, action VARCHAR, recency_days INTEGER, frequency BIGINT,"
               " monetary DECIMAL(18,2), r_score INTEGER, f_score INTEGER, m_score INTEGER,"
               " churn_probability DOUBLE, clv DOUBLE, p_alive DOUBLE, expected_order_value DOUBLE,"
               " expected_value_of_acting DOUBLE, top_drivers VARCHAR, is_high_value BOOLEAN,"
               " is_high_risk BOOLEAN, last_order_date DATE, as_of_date DATE", customers)
        _table(con, "marts.retention_kpis",
               "as_of_date DATE, total_customers BIGINT, active_customers BIGINT, active_rate DOUBLE,"
               " observed_churn_rate DOUBLE, observed_retention_rate DOUBLE, predicted_churn_rate DOUBLE,"
               " revenue_at_risk DECIMAL(18,2), avg_clv DOUBLE, total_clv DOUBLE, churn_horizon_days INTEGER,"
               " high_value_at_risk_customers BIGINT, model_name VARCHAR, model_roc_auc DOUBLE,"
               " model_threshold DOUBLE", [(AS_OF, *KPIS.values())])
        months = [dt.date(2010 + (11 + k) // 12, (11 + k) % 12 + 1, 1) for k in range(13)]
        _table(con, "marts.retention_kpis_monthly",
               "month DATE, active_customers BIGINT, new_customers BIGINT, returning_customers BIGINT,"
               " revenue DECIMAL(18,2), retention_rate DOUBLE",
               [(m, 800 + 40 * k, 300 - 15 * k, 500 + 55 * k, 550000.0 + 20000 * k,
                 None if k == 0 else 0.30 + 0.02 * k) for k, m in enumerate(months)])
        summary = []
        for dim, segs in {
            "rfm_segment": [("Champions", 0.2, 0.5, 90000.0), (f"Can't Lose {HOSTILE}", 0.1, 0.2, 310000.0),
                            ("At Risk", 0.3, 0.2, 250000.0), ("Hibernating", 0.4, 0.1, 30000.0)],
            "cluster": [(f"frequent spenders {HOSTILE_ATTR}", 0.3, 0.7, 400000.0),
                        ("occasional buyers", 0.7, 0.3, 280000.0)],
            "quadrant": [(QUADRANTS["high_value_low_risk"][0], 0.25, 0.45, 120000.0),
                         (QUADRANTS["high_value_high_risk"][0], 0.15, 0.30, 420000.0),
                         (QUADRANTS["low_value_high_risk"][0], 0.35, 0.10, 60000.0),
                         (QUADRANTS["low_value_low_risk"][0], 0.25, 0.15, 80000.0)],
        }.items():
            for name, share, rev_share, risk in segs:
                n = round(12345 * share)
                summary.append((dim, name, n, share, 9_000_000 * rev_share, rev_share, 0.4, risk, 1500.0,
                                1500.0 * n))
        _table(con, "marts.segment_summary",
               "dimension VARCHAR, segment VARCHAR, customers BIGINT, share_of_customers DOUBLE,"
               " revenue DECIMAL(18,2), revenue_share DOUBLE, avg_churn_probability DOUBLE,"
               " revenue_at_risk DOUBLE, avg_clv DOUBLE, total_clv DOUBLE", summary)
        con.execute("""
            create table marts.campaign_inputs as
            select decision_quadrant, quadrant_key, count(*) as contacts,
                   sum(churn_probability) as sum_churn_probability,
                   sum(churn_probability * clv) as sum_churn_x_clv,
                   sum(expected_order_value) as sum_eov,
                   sum(churn_probability * expected_order_value) as sum_churn_x_eov
            from marts.customer_decisions group by all""")
        # campaign_roi per customer, then summed, exactly as the contract says.
        roi_rows = []
        for name, key in con.execute("select decision_quadrant, quadrant_key from marts.campaign_inputs").fetchall():
            members = [c for c in customers if c[9] == key]
            for scenario, s in SCENARIOS.items():
                d, c, r = s["discount"], s["cost_per_contact"], s["save_rate"]
                saved = sum(m[18] * r for m in members)
                revenue = sum(m[18] * r * m[19] for m in members)
                discount_cost = sum((m[18] * r + 1 - m[18]) * d * m[21] for m in members)
                contact_cost = c * len(members)
                total = contact_cost + discount_cost
                roi_rows.append((name, key, scenario, d, c, r, len(members), contact_cost, discount_cost, total,
                                 saved, revenue, revenue - total, (revenue - total) / total))
        _table(con, "marts.campaign_roi",
               "decision_quadrant VARCHAR, quadrant_key VARCHAR, scenario VARCHAR, discount DOUBLE,"
               " cost_per_contact DOUBLE, save_rate DOUBLE, contacts BIGINT, contact_cost DOUBLE,"
               " discount_cost DOUBLE, total_cost DOUBLE, expected_customers_saved DOUBLE, revenue_saved DOUBLE,"
               " net_profit DOUBLE, roi DOUBLE", roi_rows)
        at_risk = con.execute("select * from marts.campaign_inputs where quadrant_key = 'high_value_high_risk'"
                              ).fetchone()
        sens = []
        if at_risk:
            q = dict(zip(["decision_quadrant", "quadrant_key", "contacts", "sum_churn_probability",
                          "sum_churn_x_clv", "sum_eov", "sum_churn_x_eov"], at_risk))
            for d in (0.0, 0.1, 0.2, 0.3):
                for s in (0.1, 0.2, 0.3, 0.5):
                    r = simulate(q, d, BASE["cost_per_contact"], s)
                    sens.append((d, s, BASE["cost_per_contact"], r["total_cost"], r["revenue_saved"], r["net"],
                                 r["roi"]))
        _table(con, "marts.campaign_sensitivity",
               "discount DOUBLE, save_rate DOUBLE, cost_per_contact DOUBLE, total_cost DOUBLE,"
               " revenue_saved DOUBLE, net_profit DOUBLE, roi DOUBLE", sens)
        if optional_marts:
            engagement = []
            for dim, rates in {"orders": [0.62, 0.45, 0.19, 0.15, 0.12, 0.10, 0.08, 0.07, 0.06, 0.05],
                               "active_months": [0.6, 0.35, 0.25, 0.2, 0.15, 0.1, 0.1, 0.08, 0.07, 0.05]}.items():
                first = next(k for k, r in enumerate(rates) if r < 0.43 / 2)
                for k, rate in enumerate(rates):
                    engagement.append((dim, k + 1, 1000 - 90 * k, rate, 0.43, k == first))
            _table(con, "marts.engagement_thresholds",
                   "dimension VARCHAR, level INTEGER, customers BIGINT, churn_rate DOUBLE, base_rate DOUBLE,"
                   " is_threshold BOOLEAN", engagement)
            _table(con, "marts.segment_transitions", "from_segment VARCHAR, to_segment VARCHAR, customers BIGINT",
                   [("New", "New Customers", 40), ("Champions", "At Risk", 12)])
            alert_rows = [(c[0], c[1], c[19], c[18], 0.31, c[2], "Champions", c[23], c[22], c[26])
                          for c in customers if c[9] == "high_value_high_risk"] if alerts else []
            _table(con, "marts.alerts",
                   "customer_id VARCHAR, country VARCHAR, clv DOUBLE, churn_probability DOUBLE,"
                   " previous_churn_probability DOUBLE, rfm_segment VARCHAR, previous_rfm_segment VARCHAR,"
                   " top_drivers VARCHAR, expected_value_of_acting DOUBLE, last_order_date DATE", alert_rows)
        cohorts = [dt.date(2011, m, 1) for m in (9, 10, 11, 12)]
        long_rows, matrix_rows = [], []
        for ci, cm in enumerate(cohorts):
            size = 300 - 50 * ci
            offsets = 4 - ci
            rates = [1.0, 0.35, 0.28, 0.22][:offsets]
            for k, rate in enumerate(rates):
                month = dt.date(cm.year, cm.month + k, 1)
                long_rows.append((cm, k, size, round(size * rate), rate, 1000.0 * rate, month))
            matrix_rows.append((cm, size, *(rates + [None] * (4 - offsets))))
        _table(con, "features.cohort_retention",
               "cohort_month DATE, month_offset BIGINT, cohort_size BIGINT, active_customers BIGINT,"
               " retention_rate DOUBLE, net_revenue DECIMAL(38,6), activity_month DATE", long_rows)
        _table(con, "features.cohort_retention_matrix",
               "cohort_month DATE, cohort_size BIGINT, month_00 DOUBLE, month_01 DOUBLE, month_02 DOUBLE,"
               " month_03 DOUBLE", matrix_rows)
        metrics = []
        for model, chosen, roc, pr in (("logistic_regression", 1, 0.741, 0.635), ("random_forest", 0, 0.733, 0.617)):
            metrics += [(model, "roc_auc", roc, "uncalibrated"), (model, "pr_auc", pr, "selection metric"),
                        (model, "brier", 0.218, "uncalibrated"), (model, "base_rate", 0.43, "test"),
                        (model, "brier_base_rate", 0.2451, "constant forecast"), (model, "train_rows", 12802.0, ""),
                        (model, "test_rows", 3370.0, ""), (model, "is_chosen", float(chosen), "highest pr_auc")]
        metrics += [("logistic_regression_calibrated", "roc_auc", 0.7431, "out-of-time"),
                    ("logistic_regression_calibrated", "pr_auc", 0.6277, "out-of-time"),
                    ("logistic_regression_calibrated", "brier", 0.2112, "out-of-time"),
                    ("logistic_regression_calibrated", "base_rate", 0.43, "out-of-time"),
                    ("logistic_regression_calibrated", "brier_base_rate", 0.2451, "constant forecast"),
                    ("logistic_regression_calibrated", "threshold", 0.65, "recall_target 0.7"),
                    ("logistic_regression_calibrated", "precision_at_threshold", 0.6063, ""),
                    ("logistic_regression_calibrated", "recall_at_threshold", 0.7026, ""),
                    ("logistic_regression_calibrated", "calibration_method", None, "isotonic; 3 folds"),
                    ("split", "test_cutoff", 90.0, "2011-09-11"), ("split", "train_cutoff_min", 360.0, "2010-12-15"),
                    ("split", "train_cutoff_max", 180.0, "2011-06-13"), ("split", "train_cutoffs", 7.0, "...")]
        _table(con, "ml.churn_model_metrics", "model VARCHAR, metric VARCHAR, value DOUBLE, detail VARCHAR", metrics)
        _table(con, "ml.churn_calibration",
               "decile BIGINT, mean_predicted DOUBLE, observed_rate DOUBLE, customers BIGINT",
               [(k, 0.05 + 0.09 * (k - 1), 0.04 + 0.08 * (k - 1), 337) for k in range(1, 11)])
        _table(con, "ml.churn_feature_importance",
               "feature VARCHAR, importance DOUBLE, importance_std DOUBLE, method VARCHAR, rank BIGINT",
               [(f, imp, imp / 5, "permutation: mean drop in PR-AUC", k + 1) for k, (f, imp) in enumerate(
                   [("distinct_order_days", 0.11), ("m_score", 0.041), ("frequency", 0.015), ("recency_days", 0.0076),
                    ("country", 0.0074), ("avg_order_value", -0.0005)])])
        _table(con, "ml.segment_profiles",
               "cluster_id BIGINT, cluster_name VARCHAR, customers BIGINT, share_of_customers DOUBLE,"
               " revenue_share DOUBLE", [(0, f"frequent spenders {HOSTILE_ATTR}", 3700, 0.3, 0.7),
                                         (1, "occasional buyers", 8645, 0.7, 0.3)])
        _table(con, "ml.clv_parameters", "model VARCHAR, name VARCHAR, value DOUBLE",
               [("bgnbd", "r", 0.8265), ("bgnbd", "alpha", 68.9), ("bgnbd", "a", 0.0034), ("bgnbd", "b", 6.745),
                ("bgnbd", "log_likelihood", -61823.47), ("bgnbd", "converged", 1.0), ("bgnbd", "iterations", 226.0),
                ("bgnbd", "n_customers", 4338.0), ("bgnbd", "n_excluded", 0.0),
                ("gamma_gamma", "p", 2.11), ("gamma_gamma", "q", 3.44), ("gamma_gamma", "v", 479.6),
                ("gamma_gamma", "converged", 0.0), ("gamma_gamma", "iterations", 90.0),
                ("gamma_gamma", "n_customers", 2790.0)])
    finally:
        con.close()
    return path


def default_roi(db: Path) -> float:
    """The contract's ROI for the simulator's default inputs (at-risk quadrant, base scenario)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        q = con.execute("select * from marts.campaign_inputs where quadrant_key = 'high_value_high_risk'").df()
        base = con.execute("select discount, cost_per_contact, save_rate from marts.campaign_roi "
                           "where quadrant_key = 'high_value_high_risk' and scenario = 'base'").fetchone()
    finally:
        con.close()
    r = q.iloc[0]
    d, c, s = base
    saved_revenue = s * r.sum_churn_x_clv
    cost = c * r.contacts + d * (s * r.sum_churn_x_eov + r.sum_eov - r.sum_churn_x_eov)
    return float((saved_revenue - cost) / cost)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    return build_fixture(tmp_path_factory.mktemp("report_wh") / "retention.duckdb")


@pytest.fixture(scope="module")
def report(fixture_db, tmp_path_factory) -> Path:
    return render_report(fixture_db, tmp_path_factory.mktemp("report_out") / "report.html")


@pytest.fixture(scope="module")
def html(report) -> str:
    return report.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- content

SECTIONS = ("overview", "insights", "trend", "cohorts", "segments", "decisions", "campaigns", "model", "customers")


def test_every_section_and_navigation(html):
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
        assert f'href="#{section}"' in html, section
    for element in ('id="chart-trend"', 'id="cohort-heatmap"', 'id="chart-segments-rfm_segment"',
                    'id="chart-segments-cluster"', 'id="chart-segments-quadrant"', 'id="decision-matrix"',
                    'id="campaign-roi"', 'id="simulator"', 'id="sensitivity-grid"', 'id="chart-calibration"',
                    'id="chart-importance"', 'id="top-at-risk"', 'id="alerts-table"'):
        assert element in html, element


def _kpi(html: str, kpi_id: str) -> str:
    m = re.search(rf'id="{kpi_id}">.*?<div class="kpi-value">(.*?)</div>', html, re.S)
    assert m, kpi_id
    return m.group(1)


def test_header_and_kpis_formatted(html):
    assert 'id="as-of-date">2011-12-10<' in html
    assert "2010-12-01 – 2011-12-09" in html
    assert _kpi(html, "kpi-total-customers") == "12,345"
    assert _kpi(html, "kpi-active-customers") == "6,789"
    assert _kpi(html, "kpi-observed-churn") == "43.2%"
    assert _kpi(html, "kpi-predicted-churn") == "38.8%"
    assert _kpi(html, "kpi-revenue-at-risk") == "1,234,568"
    assert _kpi(html, "kpi-avg-clv") == "2,346"
    assert _kpi(html, "kpi-high-value-at-risk") == "321"
    assert "55.0% ordered in the last 90 days" in html


def test_model_card_and_tables(html):
    assert 'id="model-name">logistic_regression<' in html
    assert 'id="model-roc-auc">0.743<' in html            # the calibrated block's out-of-time figure
    assert "0.211" in html and "0.245" in html            # Brier vs base-rate Brier
    assert "60.6% / 70.3%" in html                        # precision / recall at the threshold
    assert "2010-12-15 – 2011-06-13" in html and "2011-09-11" in html
    assert "did not converge" in html and "converged" in html
    # top at-risk: the three at-risk customers, highest expected value of acting first
    table = html.split('id="top-at-risk"')[1].split("</table>")[0]
    assert [m for m in re.findall(r"<td class=\"txt\">(C10\d\d)</td>", table)] == ["C1000", "C1001", "C1002"]
    assert 'id="alert-count">3<' in html


def test_insights_are_computed_from_the_data(html, fixture_db):
    insights = html.split('<section id="insights">')[1].split("</section>")[0]
    # largest revenue at risk among RFM segments: "Can't Lose <script>..." with 310,000 of 680,000
    assert "Can&#39;t Lose &lt;script&gt;alert(1)&lt;/script&gt;" in insights
    assert "310,000 (45.6% of the total)" in insights
    # at-risk quadrant: 420,000 of 680,000 revenue at risk
    assert "61.8% of the revenue at risk" in insights
    # orders threshold at level 3; pooled churn of 3+ orders below half the base rate
    assert "Customers with 3+ orders churned at" in insights
    assert "less than half the base rate of 43.0%" in insights
    # best ROI under base assumptions: the at-risk quadrant, the simulator's default
    assert (f"Under base assumptions, a campaign on “At-Risk Retention” has the best ROI: "
            f"{fmt_pct(default_roi(fixture_db))}") in insights


def test_simulator_formula_matches_campaign_roi(fixture_db):
    """The per-quadrant sums of campaign_inputs reproduce the per-customer campaign_roi rows."""
    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        inputs = {r["quadrant_key"]: r for r in con.execute("select * from marts.campaign_inputs").df()
                  .to_dict("records")}
        rows = con.execute("select * from marts.campaign_roi").df().to_dict("records")
    finally:
        con.close()
    assert len(rows) == 12
    for row in rows:
        got = simulate(inputs[row["quadrant_key"]], row["discount"], row["cost_per_contact"], row["save_rate"])
        assert got["total_cost"] == pytest.approx(row["total_cost"], rel=1e-9)
        assert got["revenue_saved"] == pytest.approx(row["revenue_saved"], rel=1e-9)
        assert got["roi"] == pytest.approx(row["roi"], rel=1e-9)


# --------------------------------------------------------------------------- safety

def _json_blocks(html: str) -> list[str]:
    return re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)


def test_hostile_text_stays_text(html):
    assert HOSTILE not in html
    assert "<img" not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html          # shown, as text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    # every script element is one the template wrote: 1 JSON block + 1 program
    assert html.count("<script") == 2 and html.count("</script>") == 2
    blocks = _json_blocks(html)
    assert len(blocks) == 1
    assert "<" not in blocks[0] and ">" not in blocks[0] and "&" not in blocks[0]
    data = json.loads(blocks[0])
    assert data["quadrants"]["low_value_low_risk"]["name"] == QUADRANTS["low_value_low_risk"][0]


def test_no_network_references(html):
    lowered = html.lower()
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http", "url(//",
                    'src="//', 'href="//'):
        assert pattern not in lowered, pattern
    assert "default-src 'none'" in html   # the CSP forbids loading anything even if a reference slipped in


def test_empty_tables_render_a_message(tmp_path):
    db = build_fixture(tmp_path / "empty.duckdb", alerts=False, at_risk_customers=False)
    text = render_report(db, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No new alerts" in text and 'id="alert-count">0<' in text
    assert "No customer is in the At-Risk Retention quadrant." in text
    assert 'id="alerts-table"' not in text and 'id="top-at-risk"' not in text


def test_missing_optional_marts_render(tmp_path):
    db = build_fixture(tmp_path / "partial.duckdb", optional_marts=False)
    text = render_report(db, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Not available: the table <code>marts.alerts</code>" in text
    assert "Engagement threshold" not in text


def test_cli_reads_the_warehouse_read_only(fixture_db, tmp_path):
    before = fixture_db.stat().st_mtime_ns
    holder = duckdb.connect(str(fixture_db), read_only=True)  # another reader does not block the report
    try:
        proc = subprocess.run([sys.executable, str(REPO / "scripts" / "render_report.py"),
                               "--warehouse", str(fixture_db), "--output", str(tmp_path / "out" / "r.html")],
                              capture_output=True, text=True, cwd=tmp_path)
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "r.html").stat().st_size > 20_000
    assert fixture_db.stat().st_mtime_ns == before
    missing = subprocess.run([sys.executable, str(REPO / "scripts" / "render_report.py"),
                              "--warehouse", str(tmp_path / "nope.duckdb"), "--output", str(tmp_path / "x.html")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "warehouse not found" in missing.stderr


# --------------------------------------------------------------------------- in a browser

needs_chromium = pytest.mark.skipif(not (Path(CHROMIUM).exists() or shutil.which("chromium")),
                                    reason=f"headless Chromium not found at {CHROMIUM} (CI installs it)")


def run_chromium(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    binary = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=5000",
               "--enable-logging=stderr", "--v=0", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def page_errors(stderr: str) -> list[str]:
    """Console lines of the page that report a script error."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and re.search(r"Uncaught|SyntaxError|TypeError|ReferenceError|RangeError", line)]


@needs_chromium
def test_error_detection_works(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p id='x'>x</p>"
                    "<script>document.getElementById('nope').textContent = 1;</script></body></html>")
    proc = run_chromium(page, tmp_path, "--dump-dom")
    assert page_errors(proc.stderr), proc.stderr[-2000:]


@needs_chromium
def test_report_in_a_browser(report, fixture_db, tmp_path):
    proc = run_chromium(report, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert page_errors(proc.stderr) == []
    for chart in ("chart-trend", "chart-segments-rfm_segment", "chart-calibration", "chart-importance"):
        svg = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.S)
        assert svg and svg.group(0).count("<rect") + svg.group(0).count("<circle") >= 5, chart
    assert "<img" not in dom                          # the hostile text did not become an element
    # the simulator script wrote the contract's ROI for its default inputs (the page ships "—")
    match = re.search(r'<span class="big[^"]*" id="sim-out-roi" data-value="([^"]+)">([^<]+)</span>', dom)
    assert match, re.search(r'id="sim-out-roi".{0,200}', dom)
    expected = default_roi(fixture_db)
    assert float(match.group(1)) == pytest.approx(expected, rel=1e-12)
    assert match.group(2) == fmt_pct(expected)
    net = re.search(r'id="sim-out-net" data-value="([^"]+)">([^<]+)<', dom)
    assert net and net.group(2) == fmt_money(float(net.group(1)))


@needs_chromium
def test_simulator_reacts_to_inputs(report, fixture_db, tmp_path):
    """Pick another quadrant and a preset, then type a save rate: the outputs follow the contract."""
    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        optimistic = con.execute("select roi from marts.campaign_roi where quadrant_key = 'low_value_high_risk' "
                                 "and scenario = 'optimistic'").fetchone()[0]
        q = con.execute("select * from marts.campaign_inputs where quadrant_key = 'low_value_high_risk'").df()
    finally:
        con.close()
    driver = """<script>
      function value(id) { return document.getElementById(id).getAttribute("data-value"); }
      var out = document.createElement("pre"); out.id = "probe"; document.body.appendChild(out);
      var select = document.getElementById("sim-quadrant");
      select.value = "low_value_high_risk"; select.dispatchEvent(new Event("change"));
      document.querySelector('#sim-presets button[data-scenario="optimistic"]').click();
      var first = value("sim-out-roi");
      var save = document.getElementById("sim-save"); save.value = "50"; save.dispatchEvent(new Event("input"));
      out.textContent = JSON.stringify({preset: first, typed: value("sim-out-roi"),
                                        range: document.getElementById("sim-save-range").value});
    </script></body>"""
    page = tmp_path / "driven.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", driver), encoding="utf-8")
    proc = run_chromium(page, tmp_path, "--dump-dom")
    assert page_errors(proc.stderr) == []
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S).group(1).replace("&quot;", '"'))
    assert float(probe["preset"]) == pytest.approx(optimistic, rel=1e-12)
    sums = q.iloc[0].to_dict()
    expected = simulate(sums, SCENARIOS["optimistic"]["discount"], SCENARIOS["optimistic"]["cost_per_contact"], 0.5)
    assert float(probe["typed"]) == pytest.approx(expected["roi"], rel=1e-12)
    assert probe["range"] == "50"


@needs_chromium
def test_screenshot(report, tmp_path):
    png = tmp_path / "report.png"
    proc = run_chromium(report, tmp_path, f"--screenshot={png}", "--window-size=1400,3000",
                        "--hide-scrollbars")
    assert png.exists(), proc.stderr[-2000:]
    assert png.stat().st_size > 50_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page_errors(proc.stderr) == []
    keep = os.environ.get("REPORT_SCREENSHOT_DIR")
    if keep:
        shutil.copy(png, Path(keep) / "report_fixture.png")
