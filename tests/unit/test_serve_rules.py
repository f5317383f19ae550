"""The server's rules without a warehouse: filters checked against known values and bound as
parameters, the sort whitelist, CSV cells, the scoring schema, the risk bands, the persisted
models' checks (hash, library versions) and the build ids and model folders of publish."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from models_py.churn import risk_band
from models_py.persistence import ModelMismatch, library_versions, load_model, save_model, version_differences
from models_py.snapshots import FEATURES
from retention.publish import is_build_id, model_folder, new_build_id, prune_model_folders
from retention.serve.queries import FilterError, Filters, _csv_cell, order_by
from retention.serve.scoring import FEATURE_RULES, ScoreRequest

KNOWN = {"quadrant": ["high_value_high_risk", "low_value_low_risk"], "segment": ["At Risk", "Champions"],
         "cluster": [0, 1, 2], "risk_band": ["low", "medium", "high"], "country": ["France", "United Kingdom"]}


def test_filters_bind_every_value_as_a_parameter():
    hostile = "France' or '1'='1"
    where, params = Filters(quadrant=["high_value_high_risk"], country=[hostile, "France"], min_probability=0.25,
                            targeted=True, q="12").where()
    assert where == (" where quadrant_key in (?) and country in (?, ?) and churn_probability >= ? and "
                     "is_targeted = ? and starts_with(customer_id, ?)")
    assert params == ["high_value_high_risk", hostile, "France", 0.25, True, "12"]
    assert hostile not in where


@pytest.mark.parametrize("filters, field", [
    (Filters(country=["Atlantis"]), "country"),
    (Filters(quadrant=["high_value_high_risk; drop table customers"]), "quadrant"),
    (Filters(cluster=[7]), "cluster"),
    (Filters(risk_band=["extreme"]), "risk_band"),
    (Filters(min_probability=0.8, max_probability=0.2), "min_probability"),
    (Filters(q="12\x00"), "q"),
])
def test_a_value_the_build_does_not_know_is_refused_by_name(filters, field):
    with pytest.raises(FilterError) as caught:
        filters.check(KNOWN)
    assert caught.value.field == field and field in str(caught.value)


def test_known_values_pass():
    assert Filters(country=["France"], cluster=[2], segment=["At Risk"]).check(KNOWN).country == ["France"]


def test_the_sort_is_one_of_the_whitelisted_columns():
    assert order_by("-churn_probability") == " order by churn_probability desc nulls last, customer_id"
    assert order_by("customer_id") == " order by customer_id asc nulls last"
    for bad in ("churn_probability; drop table customers", "(select 1)", "--", "top_drivers"):
        with pytest.raises(FilterError):
            order_by(bad)


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted():
    assert _csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _csv_cell("@SUM(A1)") == "'@SUM(A1)" and _csv_cell("France") == "France" and _csv_cell(-3.5) == -3.5


def test_the_score_schema_is_exactly_the_models_inputs():
    record = {name: 1.0 for name in FEATURES} | {"country": "France", "r_score": 3, "f_score": 3, "m_score": 3}
    request = ScoreRequest.model_validate({"features": record})
    assert tuple(request.features.model_dump()) == FEATURES
    assert set(FEATURE_RULES) | {"country"} == set(FEATURES)
    with pytest.raises(ValidationError):
        ScoreRequest.model_validate({"features": record, "records": [record]})
    with pytest.raises(ValidationError):
        ScoreRequest.model_validate({"features": {**record, "recency_days": float("nan")}})


def test_risk_bands_worked_by_hand():
    # threshold 0.6: high at or above it, medium at or above 0.3, else low
    assert list(risk_band(np.array([0.6, 0.59, 0.3, 0.2999, 0.95]), 0.6)) == ["high", "medium", "medium", "low", "high"]


def test_a_saved_model_loads_only_with_its_hash_and_library_versions(tmp_path):
    model = {"weights": [1.5, -2.0], "name": "tiny"}
    row = save_model("churn", model, name="tiny", features=("a", "b"), metrics={"auc": np.float64(0.75)},
                     folder=tmp_path, build_id="20261201T000000Z-00000000").iloc[0].to_dict()
    meta = json.loads((tmp_path / "churn.json").read_text())
    assert meta["sha256"] == row["sha256"] and meta["features"] == ["a", "b"] and meta["metrics"] == {"auc": 0.75}
    assert json.loads(row["library_versions"]) == library_versions()
    assert load_model(tmp_path, row) == model
    older = {**json.loads(row["library_versions"]), "scikit-learn": "0.24.2"}
    with pytest.raises(ModelMismatch, match=r"scikit-learn 0\.24\.2 \(model\) vs .* \(installed\).*Fix:"):
        load_model(tmp_path, {**row, "library_versions": json.dumps(older)})
    (tmp_path / "churn.joblib").write_bytes((tmp_path / "churn.joblib").read_bytes() + b"x")
    with pytest.raises(ModelMismatch, match="SHA-256 differs"):
        load_model(tmp_path, row)
    with pytest.raises(ModelMismatch, match="missing"):
        load_model(tmp_path / "elsewhere", row)
    assert version_differences({"numpy": "1.0"}, {"numpy": "1.0"}) == []


def test_without_a_folder_nothing_is_written_and_the_row_says_so(tmp_path):
    row = save_model("value", object(), name="x", features=(), metrics={}, folder=None, build_id=None).iloc[0]
    assert row["file_name"] is None and row["sha256"] is None
    with pytest.raises(ModelMismatch, match="not persisted"):
        load_model(tmp_path, row.to_dict())


def test_build_ids_and_model_folders(tmp_path):
    ids = {new_build_id() for _ in range(20)}
    assert len(ids) == 20 and all(is_build_id(i) for i in ids)
    assert not is_build_id("../../etc") and not is_build_id("")
    keep, old, other = sorted(ids)[:3]
    for build_id in (keep, old, other):
        model_folder(tmp_path, build_id).mkdir(parents=True)
    (tmp_path / "models" / "notes").mkdir()
    prune_model_folders(tmp_path, {keep, None})
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted([keep, "notes"])
