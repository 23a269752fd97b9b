"""After `dvc add` relinks the working file from the cache, a commit leaves its md5 cached under
the file's new stat: the next command does not hash the whole file again."""

from __future__ import annotations

from typing import Any

from dslineage.core import common


def test_committed_file_md5_is_cached_for_its_new_stat(committed: Any) -> None:
    """Right after a commit (and after a relabel's commit) the working file's md5 is known without
    hashing, and it is the md5 the version records."""
    ds = committed.dataset("train")
    assert common.known_md5(committed, ds) == common.current(committed, "train")["md5"]
    committed.relabel("train", {"3": "dog"}, by="t", reason="r")
    assert common.known_md5(committed, ds) == common.current(committed, "train")["md5"]


def _rewrite(path: Any, data: bytes) -> None:
    """Write `data` as a new file renamed over `path` (a new inode: its md5 is not cached)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def test_a_rewritten_file_with_the_same_bytes_records_nothing(committed: Any) -> None:
    """The file is hashed on a thread while its rows are diffed: when the hash turns out to be the
    parent's (same bytes, new stat), no version is recorded and no change set is left behind."""
    ds = committed.dataset("train")
    path = committed.root / ds.path
    before = sorted(p.name for p in (committed.root / ".dslineage").rglob("*") if p.is_file())
    head = committed.git.head()
    dvcfile = path.with_name(path.name + ".dvc")
    recorded = dvcfile.read_bytes()
    _rewrite(path, path.read_bytes())
    assert common.known_md5(committed, ds) is None  # a new stat: the commit must hash it
    assert committed.commit(["train"], "nothing changed", None) == []
    assert committed.git.head() == head
    assert dvcfile.read_bytes() == recorded
    assert committed.git.status() == []
    after = sorted(p.name for p in (committed.root / ".dslineage").rglob("*") if p.is_file())
    assert [p for p in after if p not in before and not p.startswith("index")] == []
    assert common.known_md5(committed, ds) == common.current(committed, "train")["md5"]


def test_an_edited_file_hashed_meanwhile_is_recorded_with_its_md5(committed: Any) -> None:
    """A new file's md5, hashed beside the diff, names the version, is cached for its stat, and
    is what `dvc add` wrote."""
    import pyarrow.parquet as pq

    from dslineage import dvcio

    ds = committed.dataset("train")
    path = committed.root / ds.path
    table = pq.read_table(path)
    tmp = path.with_name("edited.parquet")
    pq.write_table(table.slice(0, 15), tmp)
    _rewrite(path, tmp.read_bytes())
    tmp.unlink()
    assert common.known_md5(committed, ds) is None
    [v] = committed.commit(["train"], "five rows fewer", None)
    md5 = dvcio.file_md5(path)
    assert v["md5"] == md5 == common.current(committed, "train")["md5"]
    assert common.known_md5(committed, ds) == md5
    assert (v["removed"], v["rows"], v["changes_known"]) == (5, 15, True)
