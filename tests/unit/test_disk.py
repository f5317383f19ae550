"""Disk space (retention.disk): a full disk is recognised however it is reported, and sizes read
as a person writes them."""
from __future__ import annotations

from retention.disk import human, is_no_space, path_in, space_needed


def test_a_full_disk_is_recognised_in_every_form_dbt_and_duckdb_report_it():
    assert is_no_space(OSError(28, "No space left on device"))
    assert not is_no_space(OSError(13, "Permission denied"))
    duckdb_write = 'IO Error: Could not write file "/mnt/wh/retention.duckdb.building": No space left on device'
    assert is_no_space(duckdb_write) and path_in(duckdb_write) == "/mnt/wh/retention.duckdb.building"
    assert is_no_space("OSError: [Errno 28] No space left on device")          # dbt's own files, a traceback line
    assert is_no_space("Out of Memory Error: failed to offload data block of size 256.0 KiB (7.1 MiB/7.1 MiB used).\n"
                       "This limit was set by the 'max_temp_directory_size' setting.")   # DuckDB spilling
    assert not is_no_space("Binder Error: column quantity not found")
    assert human(0) == "0 B" and human(5_700_000) == "5.7 MB" and human(1_250_000_000) == "1.2 GB"


def sized(path, size: int) -> None:
    path.parent.mkdir(exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)                                                               # sparse: no disk used


def test_the_space_rule_is_the_larger_of_the_row_estimate_and_the_previous_outputs(tmp_path):
    assert space_needed(1_000_000, tmp_path) == 40_000_000 + 80 * 1_000_000                 # no previous build
    sized(tmp_path / "retention.duckdb", 40_000_000)
    sized(tmp_path / "exports" / "plan.csv", 8_000_000)
    sized(tmp_path / "logs" / "build.log", 5_000_000)                                       # not an output
    assert space_needed(10, tmp_path) == 60_000_000                                        # 1.25 x 48 MB
    assert space_needed(10_000_000, tmp_path) == 840_000_000                               # 40 MB + 800 MB
