"""The HTML report (retention.outputs.report) on a real build of the demo data.

A copy of the built warehouse gets hostile text written into the rows the report shows (a
country, a reason, a segment name, a list name); the report must show it as text. The figures
on the page are checked against the tables they come from, and the in-browser simulator against
marts.campaign_roi. A headless Chromium (skipped when absent; CI installs it) checks what a viewer
sees: the charts exist, no script error, the simulator computes and reacts.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from helpers import query
from retention.outputs.report import render_report
from retention.outputs.report.formatting import fmt_int, fmt_money, fmt_pct
from retention.outputs.report.sections import simulate

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
SECTIONS = ("overview", "insights", "trend", "cohorts", "segments", "decisions", "plan", "campaigns", "model",
            "customers")


@pytest.fixture(scope="module")
def built(demo_db) -> Path:
    """The demo data built with the default options (tests/conftest.py); read only, fixture_db copies it."""
    return demo_db


@pytest.fixture(scope="module")
def fixture_db(built, tmp_path_factory) -> Path:
    """The built warehouse with hostile text in the places the report shows."""
    db = tmp_path_factory.mktemp("hostile") / "retention.duckdb"
    shutil.copy(built, db)
    con = duckdb.connect(str(db))
    try:
        top = con.execute("select customer_id from marts.retention_plan order by plan_rank limit 2").fetchall()
        con.execute("update marts.customer_decisions set country = ? where customer_id = ?", [HOSTILE, top[0][0]])
        con.execute("update marts.retention_plan set reason = ? where customer_id = ?", [HOSTILE_ATTR, top[1][0]])
        segment = con.execute("select segment from marts.segment_summary where dimension = 'rfm_segment' "
                              "order by revenue_at_risk desc limit 1").fetchone()[0]
        con.execute("update marts.segment_summary set segment = ? where segment = ?", [f"Can't Lose {HOSTILE}", segment])
        con.execute("update marts.campaign_inputs set target_name = ? where target_key = 'low_value_low_risk'",
                    ["Nurture</script><script>alert(2)</script>"])
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def report(fixture_db, tmp_path_factory) -> Path:
    return render_report(fixture_db, tmp_path_factory.mktemp("report_out") / "report.html")


@pytest.fixture(scope="module")
def html(report) -> str:
    return report.read_text(encoding="utf-8")


def _kpi(html: str, kpi_id: str) -> str:
    m = re.search(rf'id="{kpi_id}">.*?<div class="kpi-value">(.*?)</div>', html, re.S)
    assert m, kpi_id
    return m.group(1)


# --------------------------------------------------------------------------- content

def test_every_section_and_navigation(html):
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
        assert f'href="#{section}"' in html, section
    for element in ('id="chart-trend"', 'id="cohort-heatmap"', 'id="chart-segments-rfm_segment"',
                    'id="chart-segments-cluster"', 'id="chart-segments-quadrant"', 'id="decision-matrix"',
                    'id="chart-gains"', 'id="plan-top"', 'id="campaign-roi"', 'id="simulator"',
                    'id="sensitivity-grid"', 'id="chart-calibration"', 'id="churn-backtest"', 'id="value-models"',
                    'id="chart-importance"', 'id="calibrators"'):
        assert element in html, element


def test_without_campaigns_the_campaign_models_build_empty_and_the_section_is_hidden(html, fixture_db):
    for table in ("staging.stg_campaign_assignments", "marts.campaign_results", "marts.campaign_results_by_segment",
                  "ml.customer_uplift", "ml.uplift_qini", "ml.churn_scores_at_contact"):
        assert query(fixture_db, f"select count(*) as n from {table}").n[0] == 0, table
    assert set(query(fixture_db, "select source from marts.plan_scenarios").source) == {"seed"}
    assert set(query(fixture_db, "select ranking from marts.retention_plan").ranking) == {"churn_risk"}
    why = query(fixture_db, "select detail from ml.uplift_model_metrics where metric = 'is_fitted'").detail[0]
    assert why.startswith("not fitted: 0 treated and 0 control customers")
    assert '<section id="experiments">' not in html and 'href="#experiments"' not in html
    # this build's lists still keep their control group
    assignments = query(fixture_db, 'select "group", count(*) as n from marts.campaign_assignments group by 1')
    assert set(assignments["group"]) == {"treatment", "control"}


def test_the_first_screen_shows_the_margin_and_the_plan(html, fixture_db):
    kpis = query(fixture_db, "select * from marts.retention_kpis").iloc[0]
    assert f'id="gross-margin">{fmt_pct(kpis.gross_margin, 0)}<' in html
    assert _kpi(html, "kpi-total-customers") == fmt_int(kpis.total_customers)
    assert _kpi(html, "kpi-plan") == fmt_int(kpis.plan_targeted_customers)
    assert _kpi(html, "kpi-plan-profit") == fmt_money(kpis.plan_expected_profit)
    assert _kpi(html, "kpi-revenue-at-risk") == fmt_money(kpis.revenue_at_risk)
    assert f"at a gross margin of {fmt_pct(kpis.gross_margin, 0)}" in html


def test_every_roi_figure_has_its_margin_and_break_even_margin(html, fixture_db):
    roi = query(fixture_db, "select * from marts.campaign_roi")
    table = html.split('id="campaign-roi"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>.*?</tr>", table, re.S)[1:]
    assert len(rows) == len(roi)
    for row in roi.itertuples():
        assert fmt_pct(row.roi) in table and fmt_pct(row.break_even_margin) in table
    assert table.count(f'<td class="num">{fmt_pct(roi.gross_margin[0], 0)}</td>') == len(roi)


def test_the_findings_agree_with_the_plan(html, fixture_db):
    insights = html.split('<section id="insights">')[1].split("</section>")[0]
    kpis = query(fixture_db, "select * from marts.retention_kpis").iloc[0]
    plan = query(fixture_db, "select * from marts.campaign_roi where target_key = 'retention_plan' "
                             "and scenario = 'base'").iloc[0]
    assert f"The retention plan contacts {fmt_int(kpis.plan_targeted_customers)} customers" in insights
    assert f"breaks even at a margin of {fmt_pct(plan.break_even_margin)}" in insights
    # no finding recommends a campaign on a quadrant
    assert "a campaign on" not in insights and "Best campaign" not in insights


def test_the_plan_table_lists_the_best_customers_with_their_reasons(html, fixture_db):
    plan = query(fixture_db, "select * from marts.retention_plan where is_targeted order by plan_rank limit 10")
    table = html.split('id="plan-top"')[1].split("</table>")[0]
    assert re.findall(r'<td class="txt">([^<]+)</td><td class="txt">', table) == list(plan.customer_id)
    assert fmt_money(plan.expected_incremental_profit[0]) in table
    assert "contact: " in table


def test_simulator_formula_matches_campaign_roi(fixture_db):
    """The sums of campaign_inputs through the report's formula give every campaign_roi row (the
    macros of campaign_economics.sql), for the plan and each quadrant under each scenario."""
    inputs = {r["target_key"]: r for r in query(fixture_db, "select * from marts.campaign_inputs").to_dict("records")}
    rows = query(fixture_db, "select * from marts.campaign_roi").to_dict("records")
    assert len(rows) == 15
    for row in rows:
        got = simulate(inputs[row["target_key"]], row["discount"], row["cost_per_contact"], row["save_rate"],
                       row["gross_margin"])
        for ours, theirs in (("total_cost", "total_cost"), ("value_saved", "value_saved"), ("net", "net_profit"),
                             ("roi", "roi"), ("break_even_margin", "break_even_margin")):
            assert got[ours] == pytest.approx(row[theirs], rel=1e-9), (row["target_key"], row["scenario"], ours)


# --------------------------------------------------------------------------- safety

def _json_blocks(html: str) -> list[str]:
    return re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)


def test_hostile_text_stays_text(html):
    assert HOSTILE not in html
    assert "<img" not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html          # shown, as text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<script") == 2 and html.count("</script>") == 2   # the JSON block and the program
    blocks = _json_blocks(html)
    assert len(blocks) == 1
    assert "<" not in blocks[0] and ">" not in blocks[0] and "&" not in blocks[0]
    assert json.loads(blocks[0])["targets"]["low_value_low_risk"]["name"] == "Nurture</script><script>alert(2)</script>"


def test_no_network_references(html):
    lowered = html.lower()
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http", "url(//",
                    'src="//', 'href="//'):
        assert pattern not in lowered, pattern
    assert "default-src 'none'" in html


def test_empty_and_missing_tables_render_a_message(fixture_db, tmp_path):
    db = tmp_path / "partial.duckdb"
    shutil.copy(fixture_db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute("delete from marts.alerts")
        con.execute("update marts.retention_plan set is_targeted = false")
        con.execute("drop table marts.engagement_thresholds")
        con.execute("drop table ml.churn_backtest")
    finally:
        con.close()
    text = render_report(db, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No new alerts" in text and 'id="alert-count">0<' in text
    assert "no campaign is recommended" in text and 'id="plan-top"' not in text
    assert "Not available: the table <code>ml.churn_backtest</code>" in text
    assert "Engagement threshold" not in text


def test_the_command_reads_the_warehouse_read_only(fixture_db, tmp_path):
    before = fixture_db.stat().st_mtime_ns
    holder = duckdb.connect(str(fixture_db), read_only=True)  # another reader does not block the report
    try:
        proc = subprocess.run([sys.executable, "-m", "retention", "report", "--warehouse-dir", str(fixture_db.parent),
                               "--output", str(tmp_path / "out" / "r.html")], capture_output=True, text=True, cwd=tmp_path)
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "r.html").stat().st_size > 50_000
    assert fixture_db.stat().st_mtime_ns == before
    missing = subprocess.run([sys.executable, "-m", "retention", "report", "--warehouse-dir", str(tmp_path / "nope")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no warehouse at" in missing.stderr and "Fix:" in missing.stderr


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


def _roi(db: Path, target: str, scenario: str) -> dict:
    return query(db, "select * from marts.campaign_roi where target_key = ? and scenario = ?", [target, scenario]
                 ).iloc[0].to_dict()


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
    gains = re.search(r'<svg id="chart-gains".*?</svg>', dom, re.S).group(0)
    assert 'class="gains-profit"' in gains and 'class="budget"' in gains
    assert "<img" not in dom
    # the simulator script wrote the plan's base-scenario figures (the page ships "—")
    base = _roi(fixture_db, "retention_plan", "base")
    match = re.search(r'<span class="big[^"]*" id="sim-out-roi" data-value="([^"]+)">([^<]+)</span>', dom)
    assert match and float(match.group(1)) == pytest.approx(base["roi"], rel=1e-12)
    assert match.group(2) == fmt_pct(base["roi"])
    even = re.search(r'id="sim-out-break-even" data-value="([^"]+)"', dom)
    assert even and float(even.group(1)) == pytest.approx(base["break_even_margin"], rel=1e-12)


@needs_chromium
def test_simulator_reacts_to_inputs(report, fixture_db, tmp_path):
    """Pick a quadrant and a preset, then type a save rate and a margin: the outputs follow the
    macros, as marts.campaign_roi and the Python mirror compute them."""
    optimistic = _roi(fixture_db, "low_value_high_risk", "optimistic")
    sums = query(fixture_db, "select * from marts.campaign_inputs where target_key = 'low_value_high_risk'").iloc[0].to_dict()
    driver = """<script>
      function value(id) { return document.getElementById(id).getAttribute("data-value"); }
      var out = document.createElement("pre"); out.id = "probe"; document.body.appendChild(out);
      var select = document.getElementById("sim-target-list");
      select.value = "low_value_high_risk"; select.dispatchEvent(new Event("change"));
      document.querySelector('#sim-presets button[data-scenario="optimistic"]').click();
      var first = value("sim-out-roi");
      var save = document.getElementById("sim-save"); save.value = "50"; save.dispatchEvent(new Event("input"));
      var margin = document.getElementById("sim-margin"); margin.value = "45"; margin.dispatchEvent(new Event("input"));
      out.textContent = JSON.stringify({preset: first, typed: value("sim-out-roi"), net: value("sim-out-net"),
                                        range: document.getElementById("sim-save-range").value});
    </script></body>"""
    page = tmp_path / "driven.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", driver), encoding="utf-8")
    proc = run_chromium(page, tmp_path, "--dump-dom")
    assert page_errors(proc.stderr) == []
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S).group(1).replace("&quot;", '"'))
    assert float(probe["preset"]) == pytest.approx(optimistic["roi"], rel=1e-12)
    expected = simulate(sums, optimistic["discount"], optimistic["cost_per_contact"], 0.5, 0.45)
    assert float(probe["typed"]) == pytest.approx(expected["roi"], rel=1e-12)
    assert float(probe["net"]) == pytest.approx(expected["net"], rel=1e-12)
    assert probe["range"] == "50"


@needs_chromium
def test_screenshot(report, tmp_path):
    png = tmp_path / "report.png"
    proc = run_chromium(report, tmp_path, f"--screenshot={png}", "--window-size=1400,3000", "--hide-scrollbars")
    assert png.exists(), proc.stderr[-2000:]
    assert png.stat().st_size > 50_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page_errors(proc.stderr) == []
    keep = os.environ.get("REPORT_SCREENSHOT_DIR")
    if keep:
        shutil.copy(png, Path(keep) / "report.png")
