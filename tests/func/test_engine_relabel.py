"""Issue 16 item 3: the part rewrites of relabel, revert and cherry-pick on an engine (a real
two-process pool, `local:2`) give the same part files, byte for byte, and the same journal as
the rewrites in the command's own process."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, engine
from tests.support import new_repo
from tests.support.journals import journal_records, part_bytes, part_rows
from tests.support.partitions import SPLITS, split_part


def _write_splits(root: Path, dictionary: bool) -> None:
    """`data/ds`: three hive parts (ids 0-49, x, label 'cat'/'dog'; the label dictionary-typed
    when asked), two row groups per part so that the row-group size must be kept."""
    for split, ids in SPLITS.items():
        label = pa.array(["cat" if i % 3 else "dog" for i in ids])
        table = pa.table(
            {"id": pa.array(list(ids), pa.int64()), "x": [i / 4 for i in ids], "label": label}
        ).replace_schema_metadata({"origin": "test"})
        if dictionary:
            table = table.set_column(2, "label", label.dictionary_encode())
        path = split_part(root, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd", row_group_size=max(len(ids) // 2, 1))


def _cycle(root: Path, scheduler: str | None) -> list[tuple[dict[str, bytes], str]]:
    """relabel rows in three parts, revert that batch, cherry-pick it
    back: the parts and the `.dvc` file (the directory's md5) after each step."""
    after = []
    with Repo(root, scheduler=scheduler) as repo:
        got = repo.relabel("ds", {"3": "owl", "4": "owl", "33": "emu", "41": "bat"}, reason="fix", by="ann")
        after.append((part_bytes(root), (root / "data" / "ds.dvc").read_text()))
        assert got.batch is not None
        repo.revert(got.batch, by="ann", reason="undo")
        after.append((part_bytes(root), (root / "data" / "ds.dvc").read_text()))
        repo.cherry_pick(got.batch, by="ann", reason="again")
        after.append((part_bytes(root), (root / "data" / "ds.dvc").read_text()))
    return after


@pytest.mark.parametrize("dictionary", [False, True])
def test_relabel_revert_and_cherry_pick_on_a_pool_write_the_same_bytes(
    tmp_path: Path, dictionary: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """relabel (rows in three parts), revert and cherry-pick on a `local:2`
    pool: every step leaves the same part files, byte for byte, as without an engine; the
    journals are the same record for record; the pool ran the rewrites (several parts at once)."""
    ran: list[tuple[str, int]] = []
    real = engine.LocalEngine.map

    def spy(self: engine.LocalEngine, fn: Any, items: Any) -> list[Any]:
        ran.append((fn.__name__, len(items)))
        return real(self, fn, items)

    monkeypatch.setattr(engine.LocalEngine, "map", spy)
    home = new_repo(tmp_path / "home")
    _write_splits(home, dictionary)
    with Repo(home) as repo:
        repo.track(str(home / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "first version", None)
    twin = tmp_path / "twin"
    shutil.copytree(home, twin, symlinks=True)
    before = part_bytes(home)
    local = _cycle(home, None)
    assert not ran
    pooled = _cycle(twin, "local:2")
    assert [n for n, _ in ran] == ["rewrite_part"] * 3 and all(k == 3 for _, k in ran)
    for (parts_a, md5_a), (parts_b, md5_b) in zip(local, pooled):
        assert parts_a == parts_b and md5_a == md5_b
    assert local[0][0] != before and local[2][0] == local[0][0]
    # revert brings the labels back; the bytes too unless the column is a dictionary (which keeps
    # the values the edit added to it)
    assert {k: part_rows(v) for k, v in local[1][0].items()} == {k: part_rows(v) for k, v in before.items()}
    assert (local[1][0] == before) != dictionary
    assert pq.ParquetFile(split_part(twin, "train")).metadata.num_row_groups == 2
    edited = pq.read_table(split_part(twin, "test"))
    assert edited.schema.metadata == {b"origin": b"test"} and edited.column("label")[1].as_py() == "bat"
    assert pa.types.is_dictionary(edited.schema.field("label").type) == dictionary
    assert journal_records(twin) == journal_records(home)
