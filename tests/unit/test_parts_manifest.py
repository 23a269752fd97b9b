"""A directory version's `.dir` manifest is read as parts whose paths stay inside the directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dslineage.errors import MissingDataError
from dslineage.store.parts import Part, parse_manifest

MD5 = "0" * 32


def manifest(*relpaths: str) -> bytes:
    """The bytes of a manifest listing these relpaths (sizes given, so no cache is read)."""
    return json.dumps([{"md5": f"{i:032x}", "relpath": r, "size": 10 + i} for i, r in enumerate(relpaths)]).encode()


def test_parts_come_back_in_manifest_order(tmp_path: Path) -> None:
    """Relpath, md5 and size of each entry, hive folders kept as they are."""
    found = parse_manifest(tmp_path, MD5 + ".dir", manifest("split=a/p.parquet", "split=b/p.parquet"))
    assert found == [Part("split=a/p.parquet", f"{0:032x}", 10), Part("split=b/p.parquet", f"{1:032x}", 11)]


@pytest.mark.parametrize(
    "forged",
    ["../outside.parquet", "a/../../x.parquet", "/etc/passwd", "a//b.parquet", "./a.parquet", "a\\..\\b.parquet", ""],
)
def test_a_path_leaving_the_directory_is_refused(tmp_path: Path, forged: str) -> None:
    """A forged manifest (a cloned repository controls it) cannot make checkout or rollback write
    outside the dataset's directory: one error naming the path."""
    with pytest.raises(MissingDataError, match="outside its directory"):
        parse_manifest(tmp_path, MD5 + ".dir", manifest("ok/p.parquet", forged))


def test_a_damaged_manifest_is_one_error(tmp_path: Path) -> None:
    """Not JSON, or an entry without its keys: one error pointing at fsck."""
    for data in (b"not json", json.dumps([{"md5": MD5}]).encode()):
        with pytest.raises(MissingDataError, match="damaged"):
            parse_manifest(tmp_path, MD5 + ".dir", data)
