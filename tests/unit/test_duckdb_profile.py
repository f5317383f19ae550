"""profiles.yml's DuckDB target through dbt-duckdb's own connection code: a build that has spilled
past memory_limit can still open a cursor (dbt opens new ones late in a build, e.g. for the
on-run-end hook). DuckDB refuses any SET temp_directory once it has spilled there, even to the
same folder, and dbt-duckdb applies a profile's `settings` to every new cursor."""
from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments.local import LocalEnvironment

REPO = Path(__file__).resolve().parents[2]


def _dev_output(env: dict[str, str]) -> dict:
    """The dev output of profiles.yml, rendered with these environment variables."""
    text = (REPO / "profiles.yml").read_text()
    rendered = jinja2.Environment().from_string(text).render(env_var=lambda name, default="": env.get(name, default))
    return yaml.safe_load(rendered)["retention"]["outputs"]["dev"]


def _spill_then_open_a_cursor(output: dict, tmp_path: Path) -> None:
    credentials = DuckDBCredentials(path=output["path"], config_options=output.get("config_options"),
                                    settings=output.get("settings"))
    environment = LocalEnvironment(credentials)
    first = environment.handle()
    first.cursor().execute("create table t as select range as i, md5(range::varchar) as s from range(4000000)")
    first.cursor().execute("create table sorted as select * from t order by s")  # past 100 MB: spills
    assert Path(output["path"] + ".spill").is_dir()
    environment.handle()  # a new cursor after the spill, as dbt opens for its on-run-end hook
    environment.close()


def test_a_build_that_spilled_can_open_a_new_cursor(tmp_path):
    env = {"RETENTION_DUCKDB_PATH": str(tmp_path / "retention.duckdb"), "RETENTION_MEMORY_LIMIT": "100MB",
           "RETENTION_TEMP_DIR": str(tmp_path / "retention.duckdb.spill")}
    output = _dev_output(env)
    assert output["config_options"]["temp_directory"] == env["RETENTION_TEMP_DIR"]
    _spill_then_open_a_cursor(output, tmp_path)


def test_the_same_folder_set_on_every_cursor_fails_after_a_spill(tmp_path):
    """What the test above guards against: the folder among the per-cursor settings."""
    env = {"RETENTION_DUCKDB_PATH": str(tmp_path / "retention.duckdb"), "RETENTION_MEMORY_LIMIT": "100MB",
           "RETENTION_TEMP_DIR": str(tmp_path / "retention.duckdb.spill")}
    output = _dev_output(env)
    output["settings"]["temp_directory"] = output["config_options"].pop("temp_directory")
    with pytest.raises(duckdb.NotImplementedException, match="Cannot switch temporary directory"):
        _spill_then_open_a_cursor(output, tmp_path)
