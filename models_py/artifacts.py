"""Carry several result tables out of one model fit.

A dbt Python model returns one DataFrame, but one fit yields several tables (scores,
metrics, parameters, ...). The fitting model returns ``pack_frames({...})`` -- one row per
table, its content as Parquet bytes -- and a thin model per table returns
``unpack_frame(packed, name)``. Parquet, not pickle: reading a warehouse table never runs code.
"""
from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa


def pack_frames(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """{name: frame} -> DataFrame(output_name str, row_count int, parquet bytes)."""
    rows = []
    for name, frame in frames.items():
        buffer = io.BytesIO()
        frame.reset_index(drop=True).to_parquet(buffer, index=False)
        rows.append({"output_name": name, "row_count": len(frame), "parquet": buffer.getvalue()})
    return pd.DataFrame(rows, columns=["output_name", "row_count", "parquet"])


def unpack_frame(packed: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame stored under ``name`` by :func:`pack_frames`."""
    match = packed.loc[packed["output_name"] == name, "parquet"]
    if match.empty:
        raise KeyError(f"no output named {name!r}; have {sorted(packed['output_name'])}")
    return pd.read_parquet(io.BytesIO(bytes(match.iloc[0])))


def date_values(values) -> pd.api.extensions.ExtensionArray:
    """Dates as an Arrow date column: a table of them has a DATE column even when it has no rows
    (an empty column of Python dates would be typed NULL by DuckDB)."""
    days = pd.to_datetime(pd.Series(values, dtype="object") if len(values) == 0 else values)
    return pd.array(list(pd.Series(days).dt.date), dtype=pd.ArrowDtype(pa.date32()))
