"""The marts, the exports and BI access, on the real Online Retail build."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from helpers import REPO, query
from retention.outputs.exports import ASSIGNMENT_COLUMNS, CRM_COLUMNS, PLAN_COLUMNS, export_outputs


def test_every_customer_with_an_order_gets_exactly_one_decision(online_retail_db):
    decisions = query(online_retail_db, "select * from marts.customer_decisions")
    assert len(decisions) == 4338 and decisions.customer_id.is_unique
    quadrants = query(online_retail_db, "select segment, customers from marts.segment_summary "
                                        "where dimension = 'quadrant'")
    assert quadrants.customers.sum() == len(decisions)
    counts = decisions.decision_quadrant.value_counts()
    assert dict(zip(quadrants.segment, quadrants.customers)) == counts.to_dict()


def test_quadrants_follow_the_value_percentile_and_the_model_threshold(online_retail_db):
    d = query(online_retail_db, "select * from marts.customer_decisions")
    threshold = query(online_retail_db, "select model_threshold from marts.retention_kpis").model_threshold[0]
    high_value = d.value_if_retained >= d.value_if_retained.quantile(0.8)   # pandas' linear = quantile_cont
    high_risk = d.churn_probability >= threshold
    assert (d.is_high_value == high_value).all()
    assert (d.is_high_risk == high_risk).all()
    expected = pd.Series("low_value_low_risk", index=d.index)
    expected[high_value & high_risk] = "high_value_high_risk"
    expected[high_value & ~high_risk] = "high_value_low_risk"
    expected[~high_value & high_risk] = "low_value_high_risk"
    assert (d.quadrant_key == expected).all()
    assert "p_alive" not in d.columns   # no decision uses a chance of staying


def _profits(online_retail_db) -> pd.DataFrame:
    """Expected incremental profit of every customer under every scenario, recomputed in pandas
    from the ml tables and the seed (the formula of the doc block, term by term)."""
    c = query(online_retail_db, """
        select s.customer_id, s.churn_probability, v.value_if_retained, v.revenue_if_retained,
               v.expected_order_value
        from ml.churn_scores as s join ml.customer_value as v using (customer_id)""")
    scenarios = pd.read_csv(REPO / "seeds" / "campaign_scenarios.csv")
    out = c.merge(scenarios, how="cross")
    p, s, d = out.churn_probability, out.save_rate, out.discount
    out["value_saved"] = p * s * out.value_if_retained
    out["cost"] = out.cost_per_contact + d * out.expected_order_value * (1 - p + p * s)
    out["profit"] = out.value_saved - out.cost
    return out


def test_expected_incremental_profit_recomputed_for_every_customer_and_scenario(online_retail_db):
    ours = _profits(online_retail_db).set_index(["customer_id", "scenario"])
    sql = query(online_retail_db, "select * from marts.campaign_customer_profits").set_index(["customer_id", "scenario"])
    assert len(sql) == len(ours)
    joined = sql.join(ours, rsuffix="_pandas")
    assert (joined.expected_incremental_profit - joined.profit).abs().max() < 1e-6
    assert (joined.expected_cost - joined.cost).abs().max() < 1e-6


def test_the_plan_ranks_by_profit_and_targets_every_positive_customer(online_retail_db):
    ours = _profits(online_retail_db)
    base = ours[ours.scenario == "base"].sort_values(["profit", "customer_id"], ascending=[False, True])
    plan = query(online_retail_db, "select * from marts.retention_plan order by plan_rank")
    assert list(plan.customer_id) == list(base.customer_id)          # every quadrant is in the plan by default
    assert set(plan.customer_id[plan.is_targeted]) == set(base.customer_id[base.profit > 0])
    assert plan.cumulative_profit.iloc[-1] == pytest.approx(base.profit.sum(), rel=1e-9)
    assert (plan.cumulative_contacts == plan.plan_rank).all()
    kpis = query(online_retail_db, "select * from marts.retention_kpis").iloc[0]
    assert kpis.plan_targeted_customers == (base.profit > 0).sum()
    assert kpis.plan_expected_profit == pytest.approx(base.profit[base.profit > 0].sum(), rel=1e-9)


def test_campaign_roi_recomputed_from_customers(online_retail_db):
    ours = _profits(online_retail_db)
    d = query(online_retail_db, "select customer_id, quadrant_key from marts.customer_decisions")
    plan = query(online_retail_db, "select customer_id from marts.retention_plan where is_targeted")
    roi = query(online_retail_db, "select * from marts.campaign_roi")
    scenarios = pd.read_csv(REPO / "seeds" / "campaign_scenarios.csv")
    assert len(roi) == 5 * len(scenarios)
    margin = query(online_retail_db, "select gross_margin from intermediate.int_analysis_parameters").gross_margin[0]
    for row in roi.itertuples():
        members = set(plan.customer_id) if row.target_key == "retention_plan" else set(
            d.customer_id[d.quadrant_key == row.target_key])
        q = ours[(ours.scenario == row.scenario) & ours.customer_id.isin(members)]
        assert row.contacts == len(q)
        assert row.total_cost == pytest.approx(q.cost.sum(), rel=1e-9, abs=1e-6)
        assert row.value_saved == pytest.approx(q.value_saved.sum(), rel=1e-9, abs=1e-6)
        assert row.net_profit == pytest.approx(q.profit.sum(), rel=1e-9, abs=1e-6)
        revenue_saved = (q.churn_probability * q.save_rate * q.revenue_if_retained).sum()
        if revenue_saved:
            assert row.break_even_margin == pytest.approx(q.cost.sum() / revenue_saved, rel=1e-9)
            # at the break-even margin the list earns nothing
            assert revenue_saved * row.break_even_margin - q.cost.sum() == pytest.approx(0, abs=1e-6)
        assert row.gross_margin == pytest.approx(margin)
        assert row.is_recommended == (row.target_key == "retention_plan" and row.net_profit > 0)


def test_kpis_match_the_customer_rows(online_retail_db):
    d = query(online_retail_db, "select * from marts.customer_decisions")
    k = query(online_retail_db, "select * from marts.retention_kpis").iloc[0]
    assert k.total_customers == len(d)
    assert k.active_customers == (d.recency_days <= 90).sum()
    assert k.revenue_at_risk == pytest.approx((d.churn_probability * d.revenue_if_retained).sum(), rel=1e-9)
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
    assignments = query(online_retail_db, "select * from marts.campaign_assignments")
    treated = assignments[assignments["group"] == "treatment"]
    lists = query(online_retail_db, "select crm_list, quadrant_key from reference.decision_quadrants "
                                    "where crm_list is not null")
    assert set(lists.crm_list) == {"retention_targets", "brand_ambassadors", "sunk_costs"}
    for name, key in zip(lists.crm_list, lists.quadrant_key):
        crm = pd.read_csv(tmp_path / "exports" / f"{name}.csv", dtype={"customer_id": str})
        assert tuple(crm.columns) == CRM_COLUMNS
        members = set(decisions.customer_id[decisions.quadrant_key == key])
        in_treatment = set(treated.customer_id[treated.list_name == name])
        assert set(crm.customer_id) == members & in_treatment     # the control group is held out
        assert 0 < len(members - in_treatment) < len(members) / 3
        assert crm.expected_incremental_profit.is_monotonic_decreasing
    plan = query(online_retail_db, "select * from marts.retention_plan where is_targeted order by plan_rank")
    crm = pd.read_csv(tmp_path / "exports" / "retention_plan.csv", dtype={"customer_id": str})
    assert tuple(crm.columns) == PLAN_COLUMNS
    plan_treated = plan[plan.customer_id.isin(treated.customer_id[treated.list_name == "retention_plan"])]
    assert list(crm.customer_id) == list(plan_treated.customer_id) and (crm.expected_incremental_profit > 0).all()
    both = pd.read_csv(tmp_path / "exports" / "campaign_assignments.csv", dtype={"customer_id": str})
    assert tuple(both.columns) == ASSIGNMENT_COLUMNS and len(both) == len(assignments)


def test_a_bi_tool_in_another_process_reads_the_marts_read_only(online_retail_db):
    reader = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select count(*) from marts.customer_decisions').fetchone()[0])\n"
        "print(con.execute(\"select comment from duckdb_columns() where schema_name = 'marts' "
        "and table_name = 'customer_decisions' and column_name = 'value_if_retained'\").fetchone()[0])\n"
    )
    proc = subprocess.run([sys.executable, "-c", reader, str(online_retail_db)],
                          capture_output=True, text=True, check=True)
    count, comment = proc.stdout.splitlines()[:2]
    assert int(count) == 4338
    assert comment.startswith("What the customer is worth if they keep buying")   # descriptions persisted for BI
