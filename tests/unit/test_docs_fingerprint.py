"""The docs site is regenerated exactly when what it shows changes (retention.outputs.docs)."""
import copy
import json

import duckdb

from retention.outputs.docs import docs_are_current, docs_fingerprint, write_fingerprint

MANIFEST = {
    "metadata": {"generated_at": "2026-12-01T10:00:00Z", "invocation_id": "a", "dbt_version": "1.11.16"},
    "nodes": {"model.retention.customer_rfm": {"description": "RFM per customer", "created_at": 1.0,
                                              "compiled_code": "select 1 as customer_id"}},
}


def _setup(tmp_path, manifest=MANIFEST):
    db = tmp_path / "w.duckdb"
    if not db.exists():
        con = duckdb.connect(str(db))
        con.execute("create schema features; create table features.customer_rfm (customer_id varchar, recency_days integer)")
        con.close()
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path, db


def test_timestamps_and_invocation_ids_do_not_change_the_fingerprint(tmp_path):
    path, db = _setup(tmp_path)
    first = docs_fingerprint(path, db)
    later = copy.deepcopy(MANIFEST)
    later["metadata"].update(generated_at="2026-12-02T10:00:00Z", invocation_id="b")
    later["nodes"]["model.retention.customer_rfm"]["created_at"] = 2.0
    path.write_text(json.dumps(later))
    assert docs_fingerprint(path, db) == first


def test_a_description_sql_or_column_change_changes_the_fingerprint(tmp_path):
    path, db = _setup(tmp_path)
    first = docs_fingerprint(path, db)
    for field, value in (("description", "RFM scores per customer"), ("compiled_code", "select 2 as customer_id")):
        changed = copy.deepcopy(MANIFEST)
        changed["nodes"]["model.retention.customer_rfm"][field] = value
        path.write_text(json.dumps(changed))
        assert docs_fingerprint(path, db) != first, field
    path.write_text(json.dumps(MANIFEST))
    assert docs_fingerprint(path, db) == first
    con = duckdb.connect(str(db))
    con.execute("alter table features.customer_rfm alter recency_days type bigint")
    con.close()
    typed = docs_fingerprint(path, db)
    assert typed != first
    con = duckdb.connect(str(db))
    con.execute("alter table features.customer_rfm add column frequency integer")
    con.close()
    assert docs_fingerprint(path, db) not in (first, typed)


def test_a_site_is_current_only_with_its_page_and_the_same_fingerprint(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_fingerprint(docs, "abc")
    assert not docs_are_current(docs, "abc")          # no page
    (docs / "index.html").write_text("<html></html>")
    assert docs_are_current(docs, "abc")
    assert not docs_are_current(docs, "abd")
