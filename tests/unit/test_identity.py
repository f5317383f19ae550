"""File identity (retention.inputs.identity): a file's size, modification time and SHA-256 tell
whether it changed between two moments."""
from __future__ import annotations

import hashlib
import os

from retention.inputs.identity import FileIdentity, differences, identify


def test_an_untouched_file_has_the_same_identity(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(b"InvoiceNo,StockCode\n1,A\n")
    assert differences(identify(path), identify(path)) == []


def test_the_hash_is_the_sha256_of_the_whole_file_whatever_the_chunk_size(tmp_path):
    path = tmp_path / "sales.bin"
    content = os.urandom(100_003)
    path.write_bytes(content)
    expected = hashlib.sha256(content).hexdigest()
    assert identify(path).sha256 == expected
    assert identify(path, chunk_bytes=4096).sha256 == expected       # 25 chunks and a short last one
    assert identify(path).size == 100_003


def test_an_appended_line_changes_size_time_and_content(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(b"header\n1\n")
    before = identify(path)
    with open(path, "ab") as handle:
        handle.write(b"2\n")
    os.utime(path, ns=(before.mtime_ns + 1_000_000, before.mtime_ns + 1_000_000))  # a later write
    found = differences(before, identify(path))
    assert [text.split()[0] for text in found] == ["size", "modified", "content"]
    assert found[0] == "size 9 -> 11 bytes"


def test_an_edit_that_keeps_size_and_time_is_caught_by_the_content(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(b"header\n1\n")
    before = identify(path)
    path.write_bytes(b"header\n2\n")                                  # same length
    os.utime(path, ns=(before.mtime_ns, before.mtime_ns))             # time put back (cp -p, rsync -t)
    found = differences(before, identify(path))
    assert len(found) == 1 and found[0].startswith("content (SHA-256)")


def test_an_identity_survives_a_round_trip_through_a_dict(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(b"x")
    identity = identify(path)
    assert FileIdentity.from_dict(identity.as_dict()) == identity
