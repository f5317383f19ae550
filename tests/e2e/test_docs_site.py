"""The dbt docs site: one self-contained page with the project and the warehouse's columns,
kept as it is when a rebuild changes neither, regenerated when one changes."""
import json
import subprocess
import sys

from helpers import REPO, query

DECODER = json.JSONDecoder()


def _build(transactions, warehouse_dir, *args):
    proc = subprocess.run([sys.executable, "-m", "retention", "build", "--transactions", str(transactions),
                           "--warehouse-dir", str(warehouse_dir), "--no-report", "--skip-ml", *args],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _inline(page: str, kind: str) -> dict:
    """The manifest or catalog that `dbt docs generate --static` inlined in the page."""
    start = page.index('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/' + kind)
    return DECODER.raw_decode(page, start)[0]


def test_the_docs_site_shows_the_build_and_is_regenerated_only_when_it_changes(demo_transactions, tmp_path):
    wh = tmp_path / "wh"
    first_out = _build(demo_transactions, wh)
    page_path = wh / "docs" / "index.html"
    page = page_path.read_text()
    manifest, catalog = _inline(page, "manifest"), _inline(page, "catalog")
    rfm = manifest["nodes"]["model.retention.customer_rfm"]
    assert "recency_days" in rfm["columns"] and rfm["description"].strip()
    assert "select" in rfm["compiled_code"].lower()          # the build's compiled SQL (--no-compile)
    # the catalog's columns and types are the warehouse's (information_schema, read independently)
    columns = query(wh / "retention.duckdb",
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'features' and table_name = 'customer_rfm' order by ordinal_position")
    shown = catalog["nodes"]["model.retention.customer_rfm"]["columns"]
    assert [(c["name"], c["type"]) for c in sorted(shown.values(), key=lambda c: c["index"])] \
        == list(columns.itertuples(index=False, name=None))
    assert "kept" not in first_out

    # the same input again: nothing the site shows changed, so dbt docs does not run
    second_out = _build(demo_transactions, wh)
    assert "dbt docs: the project and the warehouse's columns are those of the previous build's site; kept" in second_out
    assert page_path.read_text() == page

    # another horizon changes the compiled SQL of the parameters: the site is regenerated
    third_out = _build(demo_transactions, wh, "--churn-horizon-days", "60")
    assert "kept" not in third_out and "dbt docs generate" in third_out
    regenerated = _inline(page_path.read_text(), "manifest")
    code = regenerated["nodes"]["model.retention.int_analysis_parameters"]["compiled_code"]
    assert code != manifest["nodes"]["model.retention.int_analysis_parameters"]["compiled_code"]
    assert "60" in code
