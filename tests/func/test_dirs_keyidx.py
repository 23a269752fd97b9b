"""Directory datasets through the key -> part index (issue 16): relabel loads only the parts
holding edited keys and answers exactly as the full edit session; commit proves keys unique
across the dataset from the index; the index is a cache that `reindex` rebuilds identically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from dslineage.ops import dir_edit, dirs
from dslineage.ops.edit_session import Session
from dslineage.store import keyindex, parts
from tests.support import cli_json, md5, new_repo, refused, write_parquet

SPLITS = {"train": range(0, 30), "val": range(30, 40), "test": range(40, 50), "extra": range(50, 60)}


def part_file(root: Path, split: str) -> Path:
    """The one parquet file of partition `split=...` of dataset `data/ds`."""
    return root / "data" / "ds" / f"split={split}" / "part-0.parquet"


def write_split(root: Path, split: str, ids: list[int], labels: dict[int, str] | None = None) -> Path:
    """Write the partition `split` with these ids (label 'cat', or as given)."""
    labels = labels or {}
    return write_parquet(
        part_file(root, split), {"id": ids, "x": [i / 2 for i in ids], "label": [labels.get(i, "cat") for i in ids]}
    )


def make(root: Path) -> Path:
    """A repository at `root` with `data/ds` (four hive partitions, 60 rows) committed as v1."""
    new_repo(root)
    for split, ids in SPLITS.items():
        write_split(root, split, list(ids))
    with Repo(root) as repo:
        repo.track(str(root / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "first version", None)
    return root


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path]:
    """Two repositories with the same directory dataset at v1."""
    return make(tmp_path / "a"), make(tmp_path / "b")


def loaded_parts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Spy on `parts.load`: the relpaths of every load, in order."""
    seen: list[list[str]] = []
    real = parts.load

    def spy(items: list[tuple[str, Path]], columns: list[str] | None = None) -> Any:
        seen.append([rel for rel, _ in items])
        return real(items, columns)

    monkeypatch.setattr(parts, "load", spy)
    return seen


def full_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make relabel use the edit session that loads every part (the reference)."""
    monkeypatch.setattr(dir_edit, "open_session", lambda repo, ds, *, force=False: Session(repo, ds, force=force))


def outcome(root: Path, out: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the session: counts, transitions, every part's bytes, the version."""
    with Repo(root) as repo:
        v = repo.index.version(out["version"]) if out.get("version") else None
    top = root / "data" / "ds"
    return {
        "result": {k: out[k] for k in ("applied", "by_column", "noop", "missing", "missing_keys", "transitions")},
        "files": {p.relative_to(top).as_posix(): md5(p) for p in sorted(top.rglob("*.parquet"))},
        "version": v and {k: v[k] for k in ("md5", "rows", "label_distribution", "relabeled", "added", "removed")},
    }


def labels_of(root: Path) -> dict[int, str]:
    """id -> label over every part of `data/ds`."""
    out: dict[int, str] = {}
    for p in (root / "data" / "ds").rglob("*.parquet"):
        t = pq.read_table(p)
        out.update(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))
    return out


def test_relabel_loads_only_the_parts_holding_edited_keys_and_equals_the_full_session(
    two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Edits in two of four partitions (one a no-op, one key missing) load and rewrite those two
    parts only; counts, transitions, the parts' bytes and the version equal the full session's."""
    a, b = two
    edits = write_parquet(
        tmp_path / "edits.parquet", {"id": [3, 4, 45, 47, 999], "label": ["dog", "cat", "owl", "dog", "dog"]}
    )
    seen = loaded_parts(monkeypatch)
    got = cli_json(a, "relabel", "ds", "--from", str(edits), "--skip-missing", "-m", "e")
    assert got["applied"] == 3 and got["noop"] == 1 and got["missing_keys"] == [{"id": 999}]
    assert {rel for load in seen for rel in load} == {"split=test/part-0.parquet", "split=train/part-0.parquet"}
    full_session(monkeypatch)
    seen.clear()
    want = cli_json(b, "relabel", "ds", "--from", str(edits), "--skip-missing", "-m", "e")
    assert len(seen[0]) == 4  # the reference did read every part
    assert outcome(a, got) == outcome(b, want)
    assert labels_of(a)[45] == "owl" and labels_of(a)[3] == "dog"


def test_relabel_finds_a_key_that_moved_partitions(two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """After a commit moves key 30 from val to train, relabel of 30 loads and rewrites train, not
    val (the index is filed by part md5: the new train part's keys are read, the old val's are not)."""
    a, _ = two
    cli_json(a, "relabel", "ds", "--set", "31=dog", "-m", "index built")
    write_split(a, "train", [*SPLITS["train"], 30])
    write_split(a, "val", list(range(31, 40)), {31: "dog"})
    cli_json(a, "commit", "ds", "-m", "30 moves to train")
    val = md5(part_file(a, "val"))
    seen = loaded_parts(monkeypatch)
    out = cli_json(a, "relabel", "ds", "--set", "30=bird", "-m", "moved row")
    assert out["applied"] == 1
    assert seen == [["split=train/part-0.parquet"]]
    assert md5(part_file(a, "val")) == val and labels_of(a)[30] == "bird"
    assert cli_json(a, "diff", "ds@v3", "ds@v4")["rows"]["relabeled"] == 1


def test_relabel_of_a_key_in_no_part_is_refused(two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A key no part holds is missing (one line, nothing changed) without loading any part's rows."""
    a, _ = two
    seen = loaded_parts(monkeypatch)
    err = refused(a, "relabel", "ds", "--set", "77=dog", "-m", "nobody", match="not in ds")
    assert "77" in err
    assert seen == []


def test_label_rules_count_classes_over_the_whole_dataset(two: tuple[Path, Path]) -> None:
    """The label rules' gate counts classes in every part (from the version's distribution), not
    in the loaded parts: dog 2 -> 1 breaks min_rows_per_class 2 though the loaded part has 1 dog."""
    a, _ = two
    cli_json(a, "relabel", "ds", "--set", "3=dog", "--set", "41=dog", "-m", "two dogs")
    (a / ".dslineage" / "checks.yaml").write_text("ds:\n  min_rows_per_class: 2\n", encoding="utf-8")
    refused(a, "relabel", "ds", "--set", "41=cat", "-m", "one dog", match="min_rows_per_class", code=3)


def test_commit_refuses_a_duplicate_key_through_the_index(
    two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the index built, commit proves a changed part's new keys against it (no read of the
    unchanged parts): a key train holds, added to val, is refused in one line with its count."""
    a, _ = two
    cli_json(a, "relabel", "ds", "--set", "3=dog", "-m", "index built")

    def no_scan(*args: Any, **kw: Any) -> bool:
        raise AssertionError("the unchanged parts were read")

    monkeypatch.setattr(parts, "keys_clash", no_scan)
    write_split(a, "val", [*SPLITS["val"], 3])
    err = refused(a, "commit", "ds", "-m", "dup", match="duplicated")
    assert "3 ×2" in err
    write_split(a, "val", [*SPLITS["val"], 70])  # a new key no part holds is fine
    assert cli_json(a, "commit", "ds", "-m", "new key")[0]["added"] == 1


def test_the_index_is_a_cache_rebuilt_identically(two: tuple[Path, Path]) -> None:
    """The parts holding a set of keys are the same before and after `reindex` (which drops the
    index and its key tables) and a relabel afterwards gives the same result as in an untouched repo."""
    a, b = two
    cli_json(a, "relabel", "ds", "--set", "5=dog", "-m", "x")
    cli_json(b, "relabel", "ds", "--set", "5=dog", "-m", "x")
    wanted = pa.table({"k0": pa.array([0, 35, 45, 59, 5, 1000], pa.int64())})

    def answer(root: Path) -> set[str]:
        with Repo(root) as repo:
            ds = repo.dataset("ds")
            md5_now = repo.index.edge_version("ds", last=True)["md5"]
            located = dirs.located(repo, ds, md5_now) or {}
            refs = [keyindex.PartRef(rel, p.md5, path) for rel, (p, path) in located.items()]
            pid_of = keyindex.pids(repo.index.con, refs, ["id"], {"id": "BIGINT"})
            return keyindex.holding(repo.index.con, pid_of, ["id"], {"id": "BIGINT"}, wanted)

    before = answer(a)
    assert before == {f"split={s}/part-0.parquet" for s in SPLITS}
    cli_json(a, "reindex")
    with Repo(a) as repo:
        assert not repo.index.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'part_keys%'"
        ).fetchone()[0]
    assert answer(a) == before
    got = cli_json(a, "relabel", "ds", "--set", "45=dog", "--set", "46=dog", "-m", "y")
    want = cli_json(b, "relabel", "ds", "--set", "45=dog", "--set", "46=dog", "-m", "y")
    assert outcome(a, got)["files"] == outcome(b, want)["files"] and got["transitions"] == want["transitions"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interleaved_keys_give_the_full_sessions_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Keys scattered over the parts (every part's key range overlaps the others'): random edits,
    some missing, some no-ops, load only the parts holding them and equal the full session."""
    import random

    rnd = random.Random(seed)
    owner = {k: rnd.choice(list(SPLITS)) for k in rnd.sample(range(1000), 80)}
    label = {k: rnd.choice(["cat", "dog"]) for k in owner}
    roots = []
    for name in ("a", "b"):
        root = new_repo(tmp_path / name)
        for split in SPLITS:
            ids = sorted(k for k, s in owner.items() if s == split)
            write_split(root, split, ids, label)
        with Repo(root) as repo:
            repo.track(str(root / "data" / "ds"), ["id"], ["label"])
            repo.commit(["ds"], "first version", None)
        roots.append(root)
    keys = rnd.sample(sorted(owner), rnd.randint(1, 6)) + rnd.sample(range(1000, 1100), rnd.randint(0, 2))
    edits = write_parquet(tmp_path / "edits.parquet", {"id": keys, "label": [rnd.choice(["cat", "owl"]) for _ in keys]})
    seen = loaded_parts(monkeypatch)
    got = cli_json(roots[0], "relabel", "ds", "--from", str(edits), "--skip-missing", "-m", "e")
    touched = {f"split={owner[k]}/part-0.parquet" for k in keys if k in owner}
    assert {rel for load in seen for rel in load} == touched
    full_session(monkeypatch)
    want = cli_json(roots[1], "relabel", "ds", "--from", str(edits), "--skip-missing", "-m", "e")
    assert outcome(roots[0], got) == outcome(roots[1], want)


def test_a_composite_key_with_a_partition_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyed by (split, id), where split comes from the folders and ids repeat across splits: the
    edit of (test, 5) loads and rewrites the test part only, and (val, 5) keeps its label."""
    root = new_repo(tmp_path / "r")
    for split in ("train", "val", "test"):
        write_split(root, split, list(range(10)))
    with Repo(root) as repo:
        repo.track(str(root / "data" / "ds"), ["split", "id"], ["label"])
        repo.commit(["ds"], "first version", None)
    seen = loaded_parts(monkeypatch)
    out = cli_json(root, "relabel", "ds", "--set", "test,5=dog", "-m", "one dog")
    assert out["applied"] == 1 and seen == [["split=test/part-0.parquet"]]
    assert pq.read_table(part_file(root, "test")).column("label").to_pylist()[5] == "dog"
    assert pq.read_table(part_file(root, "val")).column("label").to_pylist()[5] == "cat"
