"""The project's convention for column rules, read from its YAML (no dbt run): every rule a column
states is checked (its model carries column_checks), and no column falls back to the one-node-per-
rule tests the rules replaced."""
from __future__ import annotations

import yaml

from helpers import REPO

RULES = {"not_null", "min", "max", "inclusive", "values", "expression"}
REPLACED = {"not_null", "accepted_range", "accepted_values"}


def _models():
    """Every model and seed with its YAML file."""
    for path in sorted([*(REPO / "dbt_project" / "models").rglob("*.yml"), *(REPO / "seeds").glob("*.yml")]):
        properties = yaml.safe_load(path.read_text()) or {}
        for model in properties.get("models", []) + properties.get("seeds", []):
            yield path.relative_to(REPO), model


def _test_names(tests) -> set[str]:
    return {t if isinstance(t, str) else next(iter(t)) for t in tests or []}


def test_every_stated_rule_is_checked_and_known():
    seen = 0
    for path, model in _models():
        columns = model.get("columns") or []
        stated = {c["name"]: (c.get("config") or {}).get("meta", {}).get("checks") for c in columns}
        stated = {name: checks for name, checks in stated.items() if checks}
        seen += len(stated)
        for name, checks in stated.items():
            assert set(checks) <= RULES, f"{path} {model['name']}.{name}: unknown rule in {checks}"
            if "min" in checks and "max" in checks:
                assert checks["min"] <= checks["max"], f"{path} {model['name']}.{name}: min above max"
        if stated:
            assert "column_checks" in _test_names(model.get("data_tests")), (
                f"{path}: model {model['name']} states rules on {sorted(stated)} but has no column_checks test, "
                "so nothing checks them")
    assert seen > 150  # the project's columns state their rules here (about 200 do)


def test_no_column_uses_the_tests_the_rules_replaced():
    for path, model in _models():
        for column in model.get("columns") or []:
            replaced = _test_names(column.get("data_tests")) & REPLACED
            assert not replaced, (f"{path} {model['name']}.{column['name']}: {sorted(replaced)} as a test; "
                                  "state it in config.meta.checks (one column_checks pass per model)")
