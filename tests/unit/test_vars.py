"""The preflight's rules for vars, scenarios and columns, without starting dbt: each rule has one
owner (dbt_project.yml or a seed), and a bad value is refused with the fix in the message."""
from __future__ import annotations

import re
import shutil

import pytest
import yaml

import retention.inputs.vars as vars_module
from helpers import REPO
from retention.config import UsageError, canonical_columns, project_vars
from retention.inputs.columns import check_columns, resolve_columns
from retention.inputs.vars import check_scenarios, validate_vars


@pytest.mark.parametrize("name, value, fragment", [
    ("gross_margin", 0, "above 0 to 1"),
    ("gross_margin", 1.5, "above 0 to 1"),
    ("gross_margin", "30%", "above 0 to 1"),
    ("campaign_max_contacts", -1, "a whole number from 0"),
    ("campaign_max_contacts", 2.5, "a whole number from 0"),
    ("campaign_budget", -5, "a number from 0"),
    ("sensitivity_save_rates", [0.1, 1.2], "a number from 0 to 1"),
    ("sensitivity_save_rates", "0.1", "must be a list of numbers"),
    ("high_value_percentile", 0.995, "from 0.01 to 0.99"),
    ("churn_horizon_days", 0, "a whole number from 1"),
    ("control_share", 0.6, "a number from 0 to 0.5"),
    ("control_share", "10%", "a number from 0 to 0.5"),
    ("campaign_window_days", 0, "a whole number from 1"),
    ("uplift_min_customers", 5, "a whole number from 20"),
])
def test_a_var_outside_its_rule_is_refused_with_the_fix(name, value, fragment):
    with pytest.raises(UsageError, match=re.escape(fragment)) as info:
        validate_vars({name: value})
    assert name in str(info.value) and "Fix:" in str(info.value)


def test_valid_vars_are_normalised_to_numbers():
    v = {"gross_margin": "0.45", "campaign_max_contacts": "500", "campaign_budget": 1000,
         "sensitivity_save_rates": [0.1, "0.2"], "campaign_budget_note": "kept"}
    validate_vars(v)
    assert v == {"gross_margin": 0.45, "campaign_max_contacts": 500, "campaign_budget": 1000.0,
                 "sensitivity_save_rates": [0.1, 0.2], "campaign_budget_note": "kept"}
    empty = {"campaign_max_contacts": "", "campaign_budget": None}
    validate_vars(empty)   # optional: empty means no limit
    assert empty == {"campaign_max_contacts": "", "campaign_budget": ""}


def test_renamed_vars_are_refused_with_the_new_name():
    with pytest.raises(UsageError, match=r"clv_margin is now gross_margin.*gross_margin: 0.4"):
        validate_vars({"clv_margin": 0.4})
    with pytest.raises(UsageError, match="high_value_percentile"):
        validate_vars({"high_value_clv_percentile": 0.8})


def test_the_rules_are_read_from_dbt_project_yml_not_restated(tmp_path, monkeypatch):
    """Change a bound in dbt_project.yml and the preflight follows it."""
    rules = project_vars()["var_rules"]
    assert rules["gross_margin"] == {"type": "number", "min": 0, "max": 1, "exclusive_min": True}
    monkeypatch.setattr(vars_module, "project_vars", lambda: {**project_vars(), "var_rules": {
        **rules, "gross_margin": {"type": "number", "min": 0.5, "max": 1}}})
    with pytest.raises(UsageError, match="from 0.5 to 1"):
        validate_vars({"gross_margin": 0.3})


def test_every_var_the_sql_checks_has_a_rule():
    used = set()
    for path in (REPO / "dbt_project").rglob("*.sql"):
        used |= set(re.findall(r"(?:checked_var|var_literal)\('([a-z_]+)'\)", path.read_text()))
    assert used and used <= set(project_vars()["var_rules"]), used - set(project_vars()["var_rules"])


def test_the_canonical_columns_are_the_keys_of_column_aliases():
    text = (REPO / "dbt_project" / "dbt_project.yml").read_text()
    assert canonical_columns() == tuple(yaml.safe_load(text)["vars"]["column_aliases"])
    assert canonical_columns() == ("invoice_no", "stock_code", "description", "quantity", "invoice_date",
                                   "unit_price", "customer_id", "country")


def test_columns_resolve_ignoring_case_and_punctuation_and_the_map_wins():
    aliases = project_vars()["column_aliases"]
    found = ["invoice", "Stock-Code", "DESCRIPTION", "qty", "Invoice Date", "Net Price", "Customer ID", "country"]
    resolved = resolve_columns(found, {"unit_price": "net price"}, aliases)
    assert resolved == {"invoice_no": "invoice", "stock_code": "Stock-Code", "description": "DESCRIPTION",
                        "quantity": "qty", "invoice_date": "Invoice Date", "unit_price": "Net Price",
                        "customer_id": "Customer ID", "country": "country"}
    with pytest.raises(UsageError, match=r"(?s)unit_price: .*Did you mean 'Net Price'.*--column-map unit_price='Net Price'"):
        check_columns(REPO / "x.csv", found, {}, aliases)


def _seed_copy(tmp_path, monkeypatch, text):
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(REPO / "seeds" / "campaign_scenarios.csv", folder / "campaign_scenarios.csv")
    if text is not None:
        (folder / "campaign_scenarios.csv").write_text(text)
    monkeypatch.setattr(vars_module, "SEEDS", folder)


def test_a_save_rate_outside_0_to_1_in_the_scenarios_seed_is_refused(tmp_path, monkeypatch):
    _seed_copy(tmp_path, monkeypatch, "scenario,discount,cost_per_contact,save_rate,description\n"
                                      "base,0.15,1.50,15,percent by mistake\n")
    with pytest.raises(UsageError, match=r"line 2 \(scenario 'base'\): save_rate = '15' must be a number from 0 to 1"):
        check_scenarios({})


def test_the_plan_scenario_must_be_a_row_of_the_seed(tmp_path, monkeypatch):
    _seed_copy(tmp_path, monkeypatch, None)
    check_scenarios({"plan_scenario": "optimistic"})
    with pytest.raises(UsageError, match=r"plan_scenario = 'greedy' is not a scenario .*pessimistic, base, optimistic"):
        check_scenarios({"plan_scenario": "greedy"})


def test_the_measured_scenario_needs_campaigns_read_back(tmp_path, monkeypatch):
    _seed_copy(tmp_path, monkeypatch, None)
    with pytest.raises(UsageError, match=r"plan_scenario = measured .*no campaigns are read back.*--campaigns FILE"):
        check_scenarios({"plan_scenario": "measured"})
    check_scenarios({"plan_scenario": "measured", "campaigns_path": ["/data/spring.csv"]})
    check_scenarios({"plan_scenario": "measured", "campaigns_path": "/data/*.csv"})


def test_measured_is_a_reserved_scenario_name_in_the_seed(tmp_path, monkeypatch):
    _seed_copy(tmp_path, monkeypatch, "scenario,discount,cost_per_contact,save_rate,description\n"
                                      "base,0.15,1.50,0.15,typical\nmeasured,0.1,1,0.3,typed by hand\n")
    with pytest.raises(UsageError, match=r"line 3: the scenario name 'measured' is reserved.*rename that row"):
        check_scenarios({})


def test_the_campaign_cost_scenario_must_be_a_row_of_the_seed(tmp_path, monkeypatch):
    _seed_copy(tmp_path, monkeypatch, None)
    check_scenarios({"campaign_cost_scenario": "pessimistic"})
    with pytest.raises(UsageError, match=r"campaign_cost_scenario = 'measured' is not a scenario"):
        check_scenarios({"campaign_cost_scenario": "measured"})


@pytest.mark.parametrize("given, fragment", [
    ({"campaign_id": "spring 2012"}, "letters, digits and _ . - : only"),
    ({"campaign_id": "x'; drop table t; --"}, "letters, digits and _ . - : only"),
    ({"campaign_contacted_at": "12/01/2011"}, "is not a date"),
    ({"campaign_contacted_at": "2011-11-30", "as_of_date": "2011-12-01"}, "before as_of_date 2011-12-01"),
    ({"plan_ranking": "best"}, "must be auto, risk or uplift"),
])
def test_campaign_vars_are_refused_with_the_fix(given, fragment):
    with pytest.raises(UsageError, match=re.escape(fragment)) as info:
        validate_vars(dict(given))
    assert "Fix:" in str(info.value)


def test_good_campaign_vars_pass():
    v = {"campaign_id": "spring_2012.a-1:x", "campaign_contacted_at": "2011-12-05", "as_of_date": "2011-12-01",
         "plan_ranking": "uplift", "control_share": "0.2"}
    validate_vars(v)
    assert v["control_share"] == 0.2 and v["campaign_contacted_at"] == "2011-12-05"
