"""Campaign experiments on one real build: a generated shop with two simulated past campaigns (a
random holdout, a known effect peaking at medium recency), read back with a second, messy campaign
file; every figure is checked against an independent computation from the transactions file."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import REPO, newcombe_interval, qini_coefficient_by_loop, query, run_build, wilson_interval, write_csv
from retention.demo import generate
from retention.demo.campaigns import CampaignSpec
from retention.outputs.report import render_report

CAMPAIGN_ID = "test_run"
HEADER = ["campaign_id", "customer_id", "group", "contacted_at"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaign_shop")
    spec = CampaignSpec(output=str(folder / "campaigns.csv"))
    summary = generate(str(folder / "transactions.parquet"), rows=60_000, seed=11, campaigns=spec)
    assignments = pd.read_csv(folder / "campaigns.csv", dtype={"customer_id": str})
    ids = sorted(assignments.customer_id.unique())
    last = pd.to_datetime(summary["last_invoice_date"]).date()
    recent = (last - dt.timedelta(days=29)).isoformat()      # as_of_date = last + 1: 30 of 90 days observed
    messy = [
        ["open_window", ids[0], "treatment", recent],
        ["open_window", ids[1], "control", recent],
        ["open_window", ids[2], "Treatment ", recent],        # case and spaces are forgiven
        ["messy", ids[3], "holdout", "2011-05-01"],           # unknown_group
        ["messy", ids[4], "control", "next week"],            # invalid_contacted_at
        ["messy", ids[5], "treatment", "2011-05-01"],         # in_both_groups (both rows)
        ["messy", ids[5], "control", "2011-05-01"],
        ["messy", ids[6], "control", "2011-05-01"],           # kept ...
        ["messy", ids[6], "control", "2011-05-01"],           # ... duplicate
        ["", ids[7], "control", "2011-05-01"],                # missing_campaign_id
        ["messy", "nan", "control", "2011-05-01"],            # missing_customer
        ["messy", ids[8], "treatment", "2011-05-01"],
    ]
    write_csv(folder / "crm_export.csv", HEADER, messy)
    return {"folder": folder, "summary": summary, "assignments": assignments, "messy": messy, "recent": recent}


@pytest.fixture(scope="module")
def db(shop):
    folder = shop["folder"]
    run_build(folder / "transactions.parquet", folder / "wh", "--campaigns", str(folder / "campaigns.csv"),
              "--campaigns", str(folder / "crm_export.csv"), "--campaign-id", CAMPAIGN_ID,
              "--vars", "{uplift_min_customers: 100}")
    return folder / "wh" / "retention.duckdb"


@pytest.fixture(scope="module")
def orders(shop, db):
    """Orders recomputed from the file with pandas: clean rows of identified customers, not
    cancellations or adjustments, quantity and price above 0; one date per invoice; before as_of."""
    raw = pd.read_parquet(shop["folder"] / "transactions.parquet")
    as_of = pd.Timestamp(query(db, "select as_of_date from intermediate.int_analysis_parameters").as_of_date[0])
    lines = raw[raw.CustomerID.notna() & ~raw.InvoiceNo.str.startswith(("C", "A"))
                & (raw.Quantity > 0) & (raw.UnitPrice > 0)].drop_duplicates()
    lines = lines.assign(value=lines.Quantity * lines.UnitPrice)
    out = lines.groupby("InvoiceNo").agg(customer_id=("CustomerID", "first"), at=("InvoiceDate", "min"),
                                         value=("value", "sum")).reset_index()
    out["customer_id"] = out.customer_id.astype("int64").astype(str)
    out["day"] = out["at"].dt.normalize()
    return out[out.day < as_of]


def _pandas_outcomes(assignments: pd.DataFrame, orders: pd.DataFrame, window: int = 90) -> pd.DataFrame:
    a = assignments.assign(contacted=pd.to_datetime(assignments.contacted_at))
    joined = a.merge(orders, on="customer_id", how="left")
    inside = (joined.day >= joined.contacted) & (joined.day < joined.contacted + pd.Timedelta(days=window))
    counts = joined[inside].groupby(["campaign_id", "customer_id"]).size().rename("orders")
    revenue = joined[inside].groupby(["campaign_id", "customer_id"])["value"].sum().rename("revenue")
    out = a.set_index(["campaign_id", "customer_id"]).join(counts).join(revenue).fillna({"orders": 0, "revenue": 0.0})
    return out.reset_index()


# --- assignment -----------------------------------------------------------------------------------

def test_every_list_is_split_by_a_stable_documented_hash_balanced_and_disjoint(db):
    a = query(db, 'select * from marts.campaign_assignments')
    assert not a.duplicated(["campaign_id", "customer_id"]).any()
    # the bucket is md5('<campaign_id>:<customer_id>') of the build's campaign id, recomputed here: a
    # function of the two ids only, so the same build gives the same split
    bucket = a.customer_id.map(lambda c: int(hashlib.md5(f"{CAMPAIGN_ID}:{c}".encode()).hexdigest()[:8], 16) % 10_000)
    assert (a.assignment_bucket == bucket).all()
    assert ((a["group"] == "control") == (bucket < 1000)).all()           # control_share 0.1
    # a customer is held out of every list of the build, or of none
    assert (a.groupby("customer_id")["group"].nunique() == 1).all()
    # the lists: the plan's targeted customers and the quadrants with a CRM list
    plan = query(db, "select customer_id from marts.retention_plan where is_targeted")
    assert set(a.customer_id[a.list_name == "retention_plan"]) == set(plan.customer_id)
    assert set(a.campaign_id) == {CAMPAIGN_ID, f"{CAMPAIGN_ID}-brand_ambassadors",
                                  f"{CAMPAIGN_ID}-retention_targets", f"{CAMPAIGN_ID}-sunk_costs"}
    decisions = query(db, "select customer_id, quadrant_key from marts.customer_decisions")
    sunk = set(decisions.customer_id[decisions.quadrant_key == "low_value_high_risk"])
    assert set(a.customer_id[a.list_name == "sunk_costs"]) == sunk
    # balanced: about a tenth held out (within 4 binomial standard deviations)
    customers = a.drop_duplicates("customer_id")
    share, n = (customers["group"] == "control").mean(), len(customers)
    assert abs(share - 0.1) < 4 * (0.1 * 0.9 / n) ** 0.5
    assert (pd.to_datetime(a.contacted_at) == pd.Timestamp(query(
        db, "select as_of_date from intermediate.int_analysis_parameters").as_of_date[0])).all()


def test_crm_files_hold_the_treatment_group_and_the_assignments_file_reads_back(db, shop):
    exports = shop["folder"] / "wh" / "exports"
    a = query(db, 'select * from marts.campaign_assignments')
    treated = a[a["group"] == "treatment"]
    plan = pd.read_csv(exports / "retention_plan.csv", dtype={"customer_id": str})
    assert set(plan.customer_id) == set(treated.customer_id[treated.list_name == "retention_plan"])
    assert (plan.campaign_id == CAMPAIGN_ID).all() and plan.plan_rank.is_monotonic_increasing
    sunk = pd.read_csv(exports / "sunk_costs.csv", dtype={"customer_id": str})
    assert set(sunk.customer_id) == set(treated.customer_id[treated.list_name == "sunk_costs"])
    both = pd.read_csv(exports / "campaign_assignments.csv", dtype={"customer_id": str})
    assert list(both.columns[:4]) == HEADER and len(both) == len(a)
    assert set(both["group"]) == {"treatment", "control"}


# --- outcomes -------------------------------------------------------------------------------------

def test_retention_rates_and_intervals_are_recomputed_from_the_transactions(db, shop, orders):
    simulated = shop["assignments"]
    outcomes = _pandas_outcomes(simulated, orders)
    results = query(db, "select * from marts.campaign_results").set_index("campaign_id")
    for campaign, rows in outcomes.groupby("campaign_id"):
        r = results.loc[campaign]
        t, c = rows[rows["group"] == "treatment"], rows[rows["group"] == "control"]
        x_t, x_c = int((t.orders > 0).sum()), int((c.orders > 0).sum())
        assert (r.treated_customers, r.control_customers) == (len(t), len(c))
        assert (r.treated_retained_customers, r.control_retained_customers) == (x_t, x_c)
        assert r.uplift == pytest.approx(x_t / len(t) - x_c / len(c))
        assert (r.treated_retention_rate_low, r.treated_retention_rate_high) == pytest.approx(wilson_interval(x_t, len(t)))
        assert (r.uplift_ci_low, r.uplift_ci_high) == pytest.approx(newcombe_interval(x_t, len(t), x_c, len(c)))
        assert r.incremental_revenue == pytest.approx(t.revenue.sum() - len(t) * c.revenue.mean(), rel=1e-9)
        assert r.incremental_orders == pytest.approx(t.orders.sum() - len(t) * c.orders.mean())
        assert r.window_status == "complete" and r.window_days == 90


def test_the_measured_uplift_recovers_the_simulated_effect_within_its_interval(db, shop):
    results = query(db, "select * from marts.campaign_results").set_index("campaign_id")
    simulated = shop["summary"]["campaigns"]
    assert len(simulated) == 2
    for truth in simulated:
        r = results.loc[truth["campaign_id"]]
        assert truth["true_uplift"] > 0.04                                  # an effect worth finding
        assert r.uplift_ci_low <= truth["true_uplift"] <= r.uplift_ci_high
        assert abs(r.uplift - truth["true_uplift"]) < 0.12
        assert r.treated_customers == truth["treated"] and r.control_customers == truth["control"]


def test_a_campaign_whose_window_is_open_says_so_and_reports_what_is_known(db, shop):
    r = query(db, "select * from marts.campaign_results where campaign_id = 'open_window'").iloc[0]
    assert r.window_status == "in progress" and not r.is_window_complete and r.observed_days == 30
    assert "30 of 90 days observed" in r.status_note
    assert (r.treated_customers, r.control_customers) == (2, 1)
    assert str(pd.Timestamp(r.first_contacted_at).date()) == shop["recent"]


def test_rejected_campaign_rows_keep_their_reason_and_nothing_is_lost(db, shop):
    rejected = query(db, "select * from staging.stg_campaign_assignments_rejected where source_file = 'crm_export.csv' "
                         "order by raw_row_id")
    m = shop["messy"]
    expected = [("messy", m[3][1], "unknown_group"), ("messy", m[4][1], "invalid_contacted_at"),
                ("messy", m[5][1], "in_both_groups"), ("messy", m[6][1], "in_both_groups"),
                ("messy", m[8][1], "duplicate"), (None, m[9][1], "missing_campaign_id"),
                ("messy", "nan", "missing_customer")]
    got = [(c if isinstance(c, str) and c else None, cu, reason)
           for c, cu, reason in zip(rejected.campaign_id, rejected.customer_id, rejected.rejection_reason)]
    assert got == expected
    assert rejected.contacted_at.tolist()[1] == "next week"               # the raw text is kept
    clean = query(db, "select * from staging.stg_campaign_assignments where source_file = 'crm_export.csv'")
    assert sorted(clean.customer_id[clean.campaign_id == "messy"]) == sorted([m[7][1], m[11][1]])
    assert set(clean.campaign_group) == {"treatment", "control"}
    total = query(db, "select count(*) as n from staging.base_campaign_assignments").n[0]
    assert total == len(shop["assignments"]) + len(shop["messy"])


def test_results_by_segment_add_up_to_the_campaign_and_follow_the_segments_at_contact(db):
    seg = query(db, "select * from marts.campaign_results_by_segment")
    results = query(db, "select * from marts.campaign_results").set_index("campaign_id")
    for (campaign, dimension), rows in seg.groupby(["campaign_id", "dimension"]):
        r = results.loc[campaign]
        assert rows.treated_customers.sum() == r.treated_customers, (campaign, dimension)
        assert rows.control_customers.sum() == r.control_customers, (campaign, dimension)
    out = query(db, "select * from marts.campaign_customer_outcomes")
    medium = out[(out.campaign_id == results.index[0]) & (out.risk_band == "medium")]
    row = seg[(seg.campaign_id == results.index[0]) & (seg.dimension == "risk_band") & (seg.segment == "medium")].iloc[0]
    t, c = medium[medium.is_treated], medium[~medium.is_treated]
    assert row.uplift == pytest.approx(t.is_retained.mean() - c.is_retained.mean())
    # the risk band at contact is the churn model's at that day, from features strictly before it
    at_contact = query(db, """select s.last_order_date, s.cutoff_date, c.risk_band, c.churn_probability
        from features.campaign_snapshots s join ml.churn_scores_at_contact c
        on s.customer_id = c.customer_id and s.contacted_at = c.cutoff_date""")
    assert len(at_contact) and (at_contact.last_order_date < at_contact.cutoff_date).all()


def test_features_at_contact_are_recomputed_from_orders_before_the_contact(db, orders):
    snaps = query(db, "select customer_id, contacted_at, frequency, recency_days from features.campaign_snapshots")
    sample = snaps.sample(n=min(60, len(snaps)), random_state=0)
    for row in sample.itertuples():
        before = orders[(orders.customer_id == row.customer_id) & (orders.day < pd.Timestamp(row.contacted_at))]
        assert row.frequency == len(before)
        assert row.recency_days == (pd.Timestamp(row.contacted_at) - before.day.max()).days


# --- measured scenario, uplift model and plan ------------------------------------------------------

def test_the_measured_scenario_pools_the_complete_campaigns_and_the_plan_keeps_the_seed_scenario(db):
    results = query(db, "select * from marts.campaign_results where is_window_complete "
                        "and treated_customers > 0 and control_customers > 0")
    assert set(results.campaign_id) >= {c for c in results.campaign_id if c.startswith("demo_")}
    n = results.treated_customers + results.control_customers
    uplift = (n * results.uplift).sum() / n.sum()
    churn = (n * (1 - results.control_retention_rate)).sum() / n.sum()
    low = uplift - np.sqrt((n ** 2 * ((results.treated_retention_rate - results.treated_retention_rate_low) ** 2
                                      + (results.control_retention_rate_high - results.control_retention_rate) ** 2)).sum()) / n.sum()
    m = query(db, "select * from marts.plan_scenarios where scenario = 'measured'").iloc[0]
    assert m.measured_save_rate == pytest.approx(uplift / churn)
    assert m.save_rate_low == pytest.approx(low / churn) and m.campaigns == len(results)
    base = query(db, "select * from marts.plan_scenarios where scenario = 'base'").iloc[0]
    assert (m.discount, m.cost_per_contact) == (base.discount, base.cost_per_contact)
    # measured exists, but var plan_scenario is base: the plan is priced under base
    assert set(query(db, "select distinct scenario from marts.retention_plan").scenario) == {"base"}
    roi = query(db, "select scenario from marts.campaign_roi where target_key = 'retention_plan'")
    assert "measured" in set(roi.scenario)
    # the other half (asked for, the plan is priced with measured) is worked by hand in the dbt unit
    # tests of retention_plan, which this build ran
    results = json.loads((db.parent / "dbt_target" / "run_results.json").read_text())["results"]
    status = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    for name in ("retention_plan_prices_the_seed_scenario_unless_asked_for_measured",
                 "retention_plan_prices_the_measured_scenario_when_asked",
                 "measured_save_rate_is_uplift_over_control_churn_with_its_interval"):
        assert status.get(name) == "pass", name


def test_the_uplift_models_qini_is_recomputed_and_the_plan_follows_its_verdict(db):
    metrics = query(db, "select * from ml.uplift_model_metrics").set_index(["model", "metric"])["value"]
    assert metrics["choice", "is_fitted"] == 1 and metrics["split", "is_out_of_time"] == 1
    held = query(db, "select * from ml.uplift_holdout_scores")
    for column, name in (("predicted_uplift", "two_model"), ("churn_probability", "churn_probability")):
        rows = list(zip(held[column], held.campaign_id + ":" + held.customer_id, held.is_treated, held.is_retained))
        assert qini_coefficient_by_loop(rows) == pytest.approx(metrics[name, "qini_coefficient"])
    wins = metrics["two_model", "qini_coefficient"] > max(0, metrics["churn_probability", "qini_coefficient"])
    assert metrics["choice", "use_uplift"] == float(wins)
    plan = query(db, "select * from marts.retention_plan")
    assert set(plan.ranking) == {"predicted_uplift" if wins else "churn_risk"}
    profits = query(db, "select * from marts.campaign_customer_profits where scenario = 'base'")
    column = "uplift_expected_incremental_profit" if wins else "expected_incremental_profit"
    merged = plan.merge(profits[["customer_id", column]].rename(columns={column: "priced"}), on="customer_id")
    assert np.allclose(merged.expected_incremental_profit, merged.priced)
    assert (merged.is_targeted == (merged.priced > 0)).all()
    scored = query(db, "select count(*) as n from ml.customer_uplift").n[0]
    assert scored == query(db, "select count(*) as n from features.customer_features").n[0]


# --- the report -------------------------------------------------------------------------------------

def test_the_report_shows_what_the_last_campaigns_did(db, tmp_path):
    html = render_report(db, tmp_path / "report.html").read_text()
    section = html[html.index('<section id="experiments">'):]
    section = section[:section.index("</section>")]
    assert "What the last campaigns did" in section and 'href="#experiments"' in html
    results = query(db, "select * from marts.campaign_results")
    for r in results.itertuples():
        assert r.campaign_id in section
        if r.uplift is not None and r.uplift == r.uplift:
            assert f"{100 * r.uplift:+.1f}" in section
            assert f"{100 * r.uplift_ci_low:+.1f} to {100 * r.uplift_ci_high:+.1f}" in section
    assert 'id="chart-segment-uplift"' in section and 'id="chart-campaign-uplift"' in section
    m = query(db, "select * from marts.plan_scenarios where scenario = 'measured'").iloc[0]
    assert f"{100 * m.save_rate:.1f}%" in section and "plan_scenario: measured" in section
    q = query(db, "select value from ml.uplift_model_metrics where model = 'two_model' and metric = 'qini_coefficient'")
    assert f"{q.value[0]:.4f}" in section and 'id="chart-qini"' in section
    assert re.search(r"What the last campaign did", html)


def test_campaign_files_with_a_wrong_column_stop_the_build_before_dbt(shop, tmp_path):
    bad = write_csv(tmp_path / "crm_export.csv", ["campaign_id", "customer_id", "group", "sent_on"],
                    [["spring", "12346", "treatment", "2011-04-05"]])
    proc = run_build(shop["folder"] / "transactions.parquet", tmp_path / "wh", "--campaigns", str(bad), check=False)
    assert proc.returncode == 2
    message = proc.stderr
    assert str(bad) in message and "has no column contacted_at" in message and "sent_on" in message and "Fix:" in message
    assert "dbt build" not in proc.stdout                                  # stopped by the preflight
    proc = subprocess.run([sys.executable, "-m", "retention", "build", "--transactions",
                           str(shop["folder"] / "transactions.parquet"), "--warehouse-dir", str(tmp_path / "wh2"),
                           "--vars", "{plan_scenario: measured}"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "no campaigns are read back" in proc.stderr


def test_the_server_returns_what_the_campaigns_measured(db):
    """GET /api/campaigns of `retention serve` over this build: every campaign's measured figures
    as marts.campaign_results holds them."""
    from fastapi.testclient import TestClient

    from retention.serve.app import create_app

    with TestClient(create_app(db.parent, poll_seconds=0)) as client:
        body = client.get("/api/campaigns").json()
    expected = query(db, "select campaign_id, treated_customers, control_customers, uplift from marts.campaign_results")
    served = pd.DataFrame(body["results"])[["campaign_id", "treated_customers", "control_customers", "uplift"]]
    pd.testing.assert_frame_equal(served.sort_values("campaign_id").reset_index(drop=True),
                                  expected.sort_values("campaign_id").reset_index(drop=True), check_dtype=False)
    assert len(body["results_by_segment"]) == query(db, "select count(*) as n from marts.campaign_results_by_segment").n[0]
    assert "measured" in {row["scenario"] for row in body["scenarios"]}
