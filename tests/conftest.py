"""Shared fixtures: real warehouses built by the real command into temporary folders. Tests in
tests/e2e and tests/oracle build warehouses and are marked slow (make test-fast skips them)."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import CANONICAL_HEADER, HAND_ROWS, ONLINE_RETAIL, build_warehouse, write_csv


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"e2e", "oracle"} & set(Path(str(item.fspath)).parts):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def demo_transactions(tmp_path_factory) -> Path:
    """A generated transactions file (Parquet), small enough for a fast suite."""
    from retention.demo import generate

    path = tmp_path_factory.mktemp("demo_data") / "transactions.parquet"
    generate(str(path), rows=60_000, seed=7)
    return path


# The session's shared builds. Tests only read them (read-only connections); a test that changes a
# warehouse, rebuilds into it or serves it works on a copy (helpers.copy_warehouse, shutil.copy).

@pytest.fixture(scope="session")
def demo_db(demo_transactions, tmp_path_factory) -> Path:
    """The demo data, built with the default options (models included; no docs, no report)."""
    return build_warehouse(demo_transactions, tmp_path_factory.mktemp("demo_wh"))


@pytest.fixture(scope="session")
def hand_shop_db(tmp_path_factory) -> Path:
    """The hand-worked shop (helpers.HAND_ROWS as shop.csv), SQL layers only: two months of history
    are too little to train on."""
    folder = tmp_path_factory.mktemp("hand_shop")
    source = write_csv(folder / "shop.csv", CANONICAL_HEADER, HAND_ROWS)
    return build_warehouse(source, folder / "wh", "--skip-ml")


@pytest.fixture(scope="session")
def online_retail_db(tmp_path_factory) -> Path:
    """The real Online Retail file, built with the default options (models included)."""
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"{ONLINE_RETAIL} is absent (it ships in ../shared/data beside the repo, not in the repo)")
    return build_warehouse(ONLINE_RETAIL, tmp_path_factory.mktemp("online_retail_wh"))
