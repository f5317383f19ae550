"""The marts, the exports and BI access, on the real Online Retail build."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, query
from scripts.export_outputs import CRM_COLUMNS, CRM_LISTS, export_outputs


def test_every_customer_with_an_order_gets_exactly_one_decision(online_retail_db):
    decisions = query(online_retail_db, "select * from marts.customer_decisions")
    assert len(decisions) == 4338 and decisions.customer_id.is_unique
    quadrants = query(online_retail_db, "select segment, customers from marts.segment_summary "
                                        "where dimension = 'quadrant'")
    assert quadrants.customers.sum() == len(decisions)
    counts = decisions.decision_quadrant.value_counts()
    assert dict(zip(quadrants.segment, quadrants.customers)) == counts.to_dict()


def test_quadrants_follow_the_clv_percentile_and_the_model_threshold(online_retail_db):
    d = query(online_retail_db, "select * from marts.customer_decisions")
    threshold = query(online_retail_db, "select model_threshold from marts.retention_kpis").model_threshold[0]
    high_value = d.clv >= d.clv.quantile(0.8)            # pandas' linear quantile = quantile_cont
    high_risk = d.churn_probability >= threshold
    assert (d.is_high_value == high_value).all()
    assert (d.is_high_risk == high_risk).all()
    expected = pd.Series("low_value_low_risk", index=d.index)
    expected[high_value & high_risk] = "high_value_high_risk"
    expected[high_value & ~high_risk] = "high_value_low_risk"
    expected[~high_value & high_risk] = "low_value_high_risk"
    assert (d.quadrant_key == expected).all()


def test_campaign_roi_recomputed_from_customers(online_retail_db):
    d = query(online_retail_db, "select * from marts.customer_decisions")
    roi = query(online_retail_db, "select * from marts.campaign_roi")
    scenarios = pd.read_csv(REPO / "seeds" / "campaign_scenarios.csv")
    assert len(roi) == 4 * len(scenarios)
    for row in roi.itertuples():
        q = d[d.quadrant_key == row.quadrant_key]
        s = scenarios.set_index("scenario").loc[row.scenario]
        saved = s.save_rate * q.churn_probability
        discount_cost = ((saved + 1 - q.churn_probability) * s.discount * q.expected_order_value).sum()
        total_cost = len(q) * s.cost_per_contact + discount_cost
        revenue_saved = (saved * q.clv).sum()
        assert row.contacts == len(q)
        assert row.total_cost == pytest.approx(total_cost, rel=1e-9, abs=1e-6)
        assert row.revenue_saved == pytest.approx(revenue_saved, rel=1e-9, abs=1e-6)
        assert row.net_profit == pytest.approx(revenue_saved - total_cost, rel=1e-9, abs=1e-6)
        if total_cost:
            assert row.roi == pytest.approx((revenue_saved - total_cost) / total_cost, rel=1e-9)


def test_kpis_match_the_customer_rows(online_retail_db):
    d = query(online_retail_db, "select * from marts.customer_decisions")
    k = query(online_retail_db, "select * from marts.retention_kpis").iloc[0]
    assert k.total_customers == len(d)
    assert k.active_customers == (d.recency_days <= 90).sum()
    assert k.revenue_at_risk == pytest.approx((d.churn_probability * d.clv).sum(), rel=1e-9)
    snapshots = query(online_retail_db, "select churned from features.training_snapshots "
                                        "where cutoff_date = date '2011-09-11'")
    assert k.observed_churn_rate == pytest.approx(snapshots.churned.mean())


def test_engagement_threshold_is_the_first_level_below_half_the_base_rate(online_retail_db):
    e = query(online_retail_db, "select * from marts.engagement_thresholds")
    for dimension, rows in e.groupby("dimension"):
        rows = rows.sort_values("level")
        eligible = rows[(rows.churn_rate < rows.base_rate / 2) & (rows.customers >= 30)]
        flagged = rows[rows.is_threshold]
        assert list(flagged.level) == list(eligible.level[:1]), dimension


def test_exports_hold_every_mart_and_crm_lists_with_only_documented_columns(online_retail_db, tmp_path):
    written = export_outputs(online_retail_db, tmp_path / "exports")
    marts = query(online_retail_db, "select table_name from information_schema.tables "
                                    "where table_schema = 'marts'").table_name
    for table in marts:
        frame = pd.read_parquet(tmp_path / "exports" / f"{table}.parquet")
        assert len(frame) == written[f"{table}.parquet"]
    decisions = query(online_retail_db, "select * from marts.customer_decisions")
    for name, key in CRM_LISTS.items():
        crm = pd.read_csv(tmp_path / "exports" / f"{name}.csv", dtype={"customer_id": str})
        assert tuple(crm.columns) == CRM_COLUMNS
        assert set(crm.customer_id) == set(decisions.customer_id[decisions.quadrant_key == key])
        assert crm.expected_value_of_acting.is_monotonic_decreasing


def test_a_bi_tool_in_another_process_reads_the_marts_read_only(online_retail_db):
    reader = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select count(*) from marts.customer_decisions').fetchone()[0])\n"
        "print(con.execute(\"select comment from duckdb_columns() where schema_name = 'marts' "
        "and table_name = 'customer_decisions' and column_name = 'expected_value_of_acting'\").fetchone()[0])\n"
    )
    proc = subprocess.run([sys.executable, "-c", reader, str(online_retail_db)],
                          capture_output=True, text=True, check=True)
    count, comment = proc.stdout.splitlines()[:2]
    assert int(count) == 4338
    assert comment.startswith("Base scenario")            # column descriptions persisted for BI tools


def test_the_report_renders_the_real_warehouse_and_runs_in_a_browser(online_retail_db, tmp_path):
    from scripts.render_report import render_report
    from test_report import SECTIONS, default_roi, page_errors, run_chromium

    report = render_report(online_retail_db, tmp_path / "report.html")
    html = report.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    assert "4,338" in html                                  # customers, formatted
    assert 'src="http' not in html and 'href="http' not in html
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (.ci/run installs the Debian package)")
    proc = run_chromium(report, tmp_path, "--dump-dom")
    assert proc.returncode == 0 and page_errors(proc.stderr) == [], proc.stderr[-2000:]
    roi = re.search(r'id="sim-out-roi" data-value="([^"]+)"', proc.stdout)
    assert roi and float(roi.group(1)) == pytest.approx(default_roi(online_retail_db), rel=1e-12)
