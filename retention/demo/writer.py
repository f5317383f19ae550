"""Deterministic streaming writer for .parquet, .csv and .csv.gz."""
from __future__ import annotations

import gzip
import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .params import SCHEMA


class Writer:
    """Deterministic streaming writer for .parquet, .csv and .csv.gz.

    Writes to ``path + ".tmp"`` and renames on a successful close.
    Parquet: tables are buffered into row groups of ~chunk_rows rows.
    CSV: header, quoting where needed; gzip without a name or mtime.
    """

    def __init__(self, path: str, chunk_rows: int):
        self.path = path
        self.tmp = path + ".tmp"
        self.chunk_rows = chunk_rows
        self._buf, self._buffered = [], 0
        lower = path.lower()
        self._gz = self._raw = None
        if lower.endswith(".parquet"):
            self.kind = "parquet"
            self._w = pq.ParquetWriter(self.tmp, SCHEMA, compression="zstd")
        elif lower.endswith(".csv") or lower.endswith(".csv.gz"):
            self.kind = "csv"
            opts = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            sink = self.tmp
            if lower.endswith(".gz"):
                self._raw = open(self.tmp, "wb")
                sink = self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,
                                                compresslevel=6, mtime=0)
            self._w = pacsv.CSVWriter(sink, SCHEMA, write_options=opts)
        else:
            raise ValueError("output must end in .parquet, .csv or .csv.gz")

    def room(self) -> int:
        """Rows that still fit into the current row group (at least 1)."""
        return max(self.chunk_rows - self._buffered, 1)

    def write(self, table: pa.Table) -> bool:
        """Write (or buffer) a table; True when data went to the file."""
        if self.kind == "csv":
            self._w.write_table(table)
            return True
        self._buf.append(table)
        self._buffered += table.num_rows
        if self._buffered >= self.chunk_rows:
            self.flush()
            return True
        return False

    def flush(self):
        """Write the buffered tables as one row group."""
        if self._buf:
            t = pa.concat_tables(self._buf)
            self._w.write_table(t, row_group_size=max(t.num_rows, 1))
            self._buf, self._buffered = [], 0

    def close(self, ok: bool = True):
        """Finish the file (``ok``) or discard it (not ``ok``)."""
        try:
            if ok:
                self.flush()
        finally:
            self._w.close()
            if self._gz is not None:
                self._gz.close()
                self._raw.close()
        if ok:
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)
