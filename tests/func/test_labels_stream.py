"""A relabel of a parquet file of several row groups rewrites it row group by row group
(`store.labels.rewrite_parquet`): the bytes are exactly those of the whole edited table written
at once, whatever the row groups, label types and edits; and a relabel through it records the
same version a whole-table rewrite would."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dslineage import Repo
from dslineage.config import Dataset
from dslineage.store import labels

DS = Dataset(name="t", path="t.parquet", format="parquet", key=["id"], labels=["label", "score"])


def _whole(path: Path, out: Path, edits: list[tuple[str, list[Any], Any]]) -> str:
    """The reference: the whole table read, spliced and written (`labels.write`)."""
    table = labels.load(None, path, DS)
    for column, keys, values in edits:
        table = labels.splice(table, DS.key, column, keys, values)
    return labels.write(None, table, out, DS, path) or ""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(2, 60),
    groups=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    codec=st.sampled_from(["snappy", "zstd", "none"]),
    picks=st.lists(
        st.tuples(st.integers(0, 59), st.sampled_from(["cat", "dog", None]), st.integers(0, 3)), max_size=12
    ),
)
def test_streamed_rewrite_writes_the_bytes_of_the_whole_table(
    tmp_path: Path, n: int, groups: list[int], codec: str, picks: list[tuple[int, Any, int]]
) -> None:
    """Row groups of one size or of several (a file another writer made), each codec, strings
    and integers, nulls among the new labels."""
    src = tmp_path / "t.parquet"
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "x": pa.array([i * 0.5 for i in range(n)]),
            "label": pa.array([["cat", "dog", "owl"][i % 3] for i in range(n)]),
            "score": pa.array([i % 4 for i in range(n)], pa.int32()),
        }
    ).replace_schema_metadata({"origin": "test"})
    with pq.ParquetWriter(src, table.schema, compression=codec) as writer:
        start = 0
        for size in groups * 20:  # row groups of the sizes drawn, in turn, until the rows run out
            if start >= n:
                break
            writer.write_table(table.slice(start, size), row_group_size=size)
            start += size
    picks = [(k, v, s) for k, v, s in picks if k < n]
    keys = sorted({k for k, _, _ in picks})
    first = {k: (v, s) for k, v, s in picks}
    raw = [pa.array(keys, pa.int64())]  # one array per key column, as `edit_batch.applied_columns` gives
    edits = [
        ("label", raw, pa.array([first[k][0] for k in keys], pa.string())),
        ("score", raw, pa.array([first[k][1] for k in keys], pa.int32())),
    ]
    whole, streamed = tmp_path / "whole.parquet", tmp_path / "streamed.parquet"
    md5_whole = _whole(src, whole, edits)
    if not labels.streams(src):
        return  # one row group: written whole
    md5 = labels.rewrite_parquet(src, streamed, DS, edits)
    assert streamed.read_bytes() == whole.read_bytes()
    assert md5 == md5_whole == hashlib.md5(streamed.read_bytes()).hexdigest()


@pytest.mark.slow
def test_relabel_of_a_file_of_several_row_groups_streams_and_records_the_edit(tmp_repo: Path, monkeypatch) -> None:
    """The relabel goes through the streamed rewrite (the whole table is never loaded), and the
    version it records is the one a whole-table rewrite gives: same md5, counts and labels."""
    path = tmp_repo / "data" / "t.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": pa.array(range(50), pa.int64()), "label": [["cat", "dog"][i % 2] for i in range(50)]})
    pq.write_table(table, path, row_group_size=8)
    reference = tmp_repo.parent / "ref.parquet"
    ds = Dataset(name="t", path="data/t.parquet", format="parquet", key=["id"], labels=["label"])
    edited = labels.splice(labels.load(None, path, ds), ["id"], "label", [pa.array([3, 10, 41])], pa.array(["owl"] * 3))
    md5_ref = labels.write(None, edited, reference, ds, path)
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
        monkeypatch.setattr(labels, "load", lambda *a, **k: pytest.fail("the whole file was loaded"))
        out = repo.relabel("t", {"3": "owl", "10": "owl", "41": "owl"}, by="ann", reason="fix")
        assert out["applied"] == 3
        version = repo.resolve("t@latest")
        assert version.md5 == md5_ref
        assert path.read_bytes() == reference.read_bytes()
        rows = pq.read_table(path).to_pydict()
        assert [rows["label"][k] for k in (2, 3, 10, 41)] == ["cat", "owl", "owl", "owl"]
