"""Issue 16 item 1: a directory of parquet files (hive `col=value/` partitions) as one dataset,
snapshotted by DVC as a directory output, through track, commit, diff, history and blame
(real git, real DVC)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from dslineage.store import parts
from tests.support import cli_json, md5, refused, run, write_parquet

SPLITS = {"train": range(0, 30), "val": range(30, 40), "test": range(40, 50)}


def part_file(root: Path, split: str) -> Path:
    """The one parquet file of partition `split=...` of dataset `data/ds`."""
    return root / "data" / "ds" / f"split={split}" / "part-0.parquet"


def write_split(root: Path, split: str, ids: list[int], labels: dict[int, str] | None = None) -> Path:
    """Write the partition `split` with these ids (label 'cat', or as given)."""
    labels = labels or {}
    return write_parquet(
        part_file(root, split), {"id": ids, "x": [i / 2 for i in ids], "label": [labels.get(i, "cat") for i in ids]}
    )


@pytest.fixture
def dirrepo(tmp_repo: Path) -> Path:
    """A repo with `data/ds` (three hive partitions, 50 rows) tracked and committed as v1."""
    for split, ids in SPLITS.items():
        write_split(tmp_repo, split, list(ids))
    with Repo(tmp_repo) as repo:
        repo.track(str(tmp_repo / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "first version", None)
    return tmp_repo


def version(root: Path, seq: int) -> dict[str, Any]:
    """The journal record of `ds@v{seq}`."""
    with Repo(root) as repo:
        return next(v for v in repo.index.records("version", "ds") if v["seq"] == seq)


def test_track_and_commit_snapshot_a_dvc_directory_output(dirrepo: Path) -> None:
    """The version's md5 is the `.dir` manifest DVC wrote, listing one part per partition."""
    root = dirrepo
    rec = version(root, 1)
    assert rec["md5"].endswith(".dir") and rec["md5"] in (root / "data" / "ds.dvc").read_text()
    found = parts.parts_of(root, rec["md5"])
    assert [p.relpath for p in found] == [
        "split=test/part-0.parquet",
        "split=train/part-0.parquet",
        "split=val/part-0.parquet",
    ]
    assert parts.manifest_md5(found) == rec["md5"]
    assert [p.size for p in found] == [part_file(root, s).stat().st_size for s in ("test", "train", "val")]
    assert rec["rows"] == 50
    assert [(c["name"], c["type"]) for c in rec["schema"]] == [
        ("id", "BIGINT"),
        ("x", "DOUBLE"),
        ("label", "VARCHAR"),
        ("split", "VARCHAR"),
    ]
    assert [(s["version"], s["dirty"]) for s in cli_json(root, "status")] == [(1, False)]


def test_diff_history_blame_see_rows_that_moved_between_partitions(dirrepo: Path) -> None:
    """A row moved from val to train (its partition column changes) and a relabel in test
    show up as one modified and one relabeled row; history and blame name the version."""
    root = dirrepo
    write_split(root, "train", [*SPLITS["train"], 30])
    write_split(root, "val", list(range(31, 40)))
    write_split(root, "test", list(SPLITS["test"]), {45: "dog"})
    with Repo(root) as repo:
        repo.commit(["ds"], "move 30 to train, 45 is a dog", None)
    d = cli_json(root, "diff", "ds@v1", "ds@v2")
    assert d["rows"] == {"added": 0, "removed": 0, "modified": 2, "relabeled": 1, "unchanged": 48}
    assert d["columns"] == {"split": 1, "label": 1}
    assert [(t["from"], t["to"], t["count"]) for t in d["label_transitions"]] == [("cat", "dog", 1)]
    h = cli_json(root, "history", "ds", "45")
    assert [(e["seq"], e["change"], e["labels"]["label"]) for e in h["events"]] == [
        (1, "added", "cat"),
        (2, "relabeled", "dog"),
    ]
    b = cli_json(root, "blame", "ds")
    assert b["seq"] == 2 and b["total"] == 1
    assert [(r["key"]["id"], r["label"], r["seq"]) for r in b["rows"]] == [(45, "dog", 2)]


def test_commit_diffs_only_the_changed_parts(dirrepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit hands the change computation only the parts whose md5 changed, and the version
    it records (counts, rows, label distribution) equals what reading every part gives."""
    root = dirrepo
    seen: list[list[str]] = []
    real = parts.build_changes_changed

    def spy(con: Any, pairs: list[tuple[str, str | None, str | None]], *args: Any, **kw: Any) -> None:
        seen.append([rel for rel, _, _ in pairs])
        real(con, pairs, *args, **kw)

    monkeypatch.setattr(parts, "build_changes_changed", spy)
    write_split(root, "val", list(range(31, 40)), {35: "dog", 36: "dog"})  # 30 leaves val ...
    write_parquet(
        root / "data" / "ds" / "split=new" / "part-0.parquet",
        {"id": [30, 99], "x": [15.0, 1.0], "label": ["cow", "cow"]},
    )  # ... for a new partition
    with Repo(root) as repo:
        repo.commit(["ds"], "two dogs, 30 moves, 99 added", None)
    assert seen == [["split=new/part-0.parquet", "split=val/part-0.parquet"]]
    v2 = version(root, 2)
    changes = v2["changes"]
    assert (changes["added"], changes["removed"], changes["relabeled"], changes["modified"]) == (1, 0, 3, 0)
    assert v2["rows"] == 51
    assert v2["label_distribution"] == {
        "label": [{"label": "cat", "count": 47}, {"label": "cow", "count": 2}, {"label": "dog", "count": 2}]
    }
    d = cli_json(root, "diff", "ds@v1", "ds@v2")
    assert d["rows"]["unchanged"] == 47 and d["columns"] == {"label": 3, "split": 1}


def test_commit_refuses_a_key_that_an_unchanged_part_holds(dirrepo: Path) -> None:
    """A row added to one partition with a key another (unchanged) partition holds is refused
    at commit: one line with the count and an example, nothing recorded."""
    root = dirrepo
    write_split(root, "val", [*SPLITS["val"], 3])
    err = refused(root, "commit", "ds", "-m", "dup", match="duplicated")
    assert "3 ×2" in err


def files_state(root: Path) -> dict[str, tuple[int, str]]:
    """relpath -> (inode, md5) of every part file of `data/ds`."""
    top = root / "data" / "ds"
    return {p.relative_to(top).as_posix(): (p.stat().st_ino, md5(p)) for p in sorted(top.rglob("*.parquet"))}


def labels_of(root: Path) -> dict[int, str]:
    """id -> label over every part of `data/ds`."""
    out: dict[int, str] = {}
    for p in (root / "data" / "ds").rglob("*.parquet"):
        t = pq.read_table(p)
        out.update(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))
    return out


def test_relabel_revert_rollback_checkout_touch_only_the_parts_they_change(dirrepo: Path) -> None:
    """relabel rewrites the one part holding the edited keys (the others keep inode and
    bytes); revert and rollback bring the labels back the same way; checkout restores the
    version's bytes; every step is a version diff and history see."""
    root = dirrepo
    v1_files = files_state(root)
    out = cli_json(root, "relabel", "ds", "--set", "41=dog", "--set", "42=dog", "-m", "two dogs")
    assert out["applied"] == 2
    after = files_state(root)
    assert after["split=test/part-0.parquet"][1] != v1_files["split=test/part-0.parquet"][1]
    for rel in ("split=train/part-0.parquet", "split=val/part-0.parquet"):
        assert after[rel] == v1_files[rel]
    assert labels_of(root)[41] == "dog" and labels_of(root)[40] == "cat"
    rewritten = pq.read_table(part_file(root, "test"))
    assert rewritten.column_names == ["id", "x", "label"]  # no partition column written into the file
    assert rewritten.column("x").to_pylist() == [i / 2 for i in SPLITS["test"]]
    assert [(s["version"], s["dirty"]) for s in cli_json(root, "status")] == [(2, False)]
    d = cli_json(root, "diff", "ds@v1", "ds@v2")
    assert d["rows"]["relabeled"] == 2 and d["rows"]["unchanged"] == 48
    assert [e["change"] for e in cli_json(root, "history", "ds", "41")["events"]] == ["added", "relabeled"]

    cli_json(root, "revert", out["batch"][:10], "-m", "not dogs")
    reverted = files_state(root)
    assert reverted["split=test/part-0.parquet"][1] != after["split=test/part-0.parquet"][1]
    assert reverted["split=train/part-0.parquet"] == v1_files["split=train/part-0.parquet"]
    assert labels_of(root)[41] == "cat"

    cli_json(root, "relabel", "ds", "--set", "3=owl", "-m", "an owl in train")
    assert files_state(root)["split=test/part-0.parquet"] == reverted["split=test/part-0.parquet"]
    back = cli_json(root, "rollback", "ds", "--to", "v2", "-m", "back to the dogs")
    assert back["seq"] == 5
    now = files_state(root)
    assert {rel: m for rel, (_, m) in now.items()} == {rel: m for rel, (_, m) in after.items()}
    assert labels_of(root)[3] == "cat" and labels_of(root)[41] == "dog"
    assert cli_json(root, "diff", "ds@v2", "ds@v5")["rows"]["unchanged"] == 50

    val = now["split=val/part-0.parquet"]
    cli_json(root, "checkout", "ds@v1")
    assert labels_of(root)[41] == "cat"
    assert files_state(root)["split=val/part-0.parquet"] == val  # an unchanged part is not rewritten
    assert {rel: m for rel, (_, m) in files_state(root).items()} == {rel: m for rel, (_, m) in v1_files.items()}
    cli_json(root, "checkout", "ds@latest")
    assert labels_of(root)[41] == "dog"


def git(root: Path, *args: str) -> None:
    """A git command in the repository (checked)."""
    run(root, "git", *args)


def test_merge_of_branches_that_edited_different_partitions(dirrepo: Path) -> None:
    """alice relabels a row of train, bob one of test (and moves row 30 out of val): `dslineage
    merge` keeps both, with a merge version whose parents are both sides; the val part of
    bob is taken as is and train keeps alice's bytes."""
    root = dirrepo
    git(root, "checkout", "-q", "-b", "alice")
    cli_json(root, "relabel", "ds", "--set", "2=fox", "-m", "alice: a fox")
    alice = files_state(root)
    git(root, "checkout", "-q", "main")
    cli_json(root, "checkout", "ds@latest")
    git(root, "checkout", "-q", "-b", "bob")
    cli_json(root, "relabel", "ds", "--set", "44=owl", "-m", "bob: an owl")
    write_split(root, "val", list(range(31, 40)))
    write_split(root, "train", [*SPLITS["train"], 30])
    with Repo(root) as repo:
        repo.commit(["ds"], "bob: 30 moves to train", None)
    bob = files_state(root)
    git(root, "checkout", "-q", "alice")
    cli_json(root, "checkout", "ds@latest")
    out = cli_json(root, "merge", "bob")
    assert out["state"] == "merged" and [m["dataset"] for m in out["merged"]] == ["ds"]
    got = labels_of(root)
    assert (got[2], got[44], got[30], got[3]) == ("fox", "owl", "cat", "cat")
    t = pq.read_table(part_file(root, "train"))
    train = dict(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))
    assert 30 in train and train[2] == "fox"
    now = files_state(root)
    assert now["split=val/part-0.parquet"][1] == bob["split=val/part-0.parquet"][1]
    assert now["split=test/part-0.parquet"][1] == bob["split=test/part-0.parquet"][1]
    assert now["split=train/part-0.parquet"][1] not in (
        alice["split=train/part-0.parquet"][1],
        bob["split=train/part-0.parquet"][1],
    )
    log = cli_json(root, "log", "ds")
    top = log[0] if isinstance(log, list) else log["versions"][0]
    assert len(top["parents"]) == 2
    assert [(s["dirty"]) for s in cli_json(root, "status")] == [False]
    h = cli_json(root, "history", "ds", "44")
    assert [e["labels"]["label"] for e in h["events"]][-1] == "owl"


def test_audit_and_fsck_read_a_directory_version(dirrepo: Path) -> None:
    """audit reads every part of the version (its rows and label shares), and fsck --deep
    accepts the `.dir` manifest md5s and verifies the manifests' bytes."""
    root = dirrepo
    cli_json(root, "relabel", "ds", "--set", "1=dog", "--set", "45=dog", "-m", "two dogs")
    a = cli_json(root, "audit", "ds")
    assert a["seq"] == 2 and a["md5"].endswith(".dir")
    assert a["imbalance"]["rows"] == 50
    assert a["imbalance"]["shares"] == {"cat": 48 / 50, "dog": 2 / 50}
    f = cli_json(root, "fsck", "--deep")
    assert f["ok"] and f["errors"] == 0 and f["checked"]["versions"] == 2


def test_track_adopts_the_dvc_history_of_a_directory(tmp_repo: Path) -> None:
    """A directory DVC already versioned in two git commits is tracked with both versions
    imported, their row-level change set included."""
    from dslineage import dvcio

    for split, ids in SPLITS.items():
        write_split(tmp_repo, split, list(ids))
    for n, relabeled in enumerate(({}, {41: "dog", 42: "dog"}), start=1):
        write_split(tmp_repo, "test", list(SPLITS["test"]), relabeled)
        dvcio.add(tmp_repo, "data/ds")
        git(tmp_repo, "add", "data/ds.dvc", "data/.gitignore")
        git(tmp_repo, "commit", "-q", "-m", f"dvc v{n}")
    out = cli_json(tmp_repo, "track", "data/ds", "--key", "id", "--label", "label")
    assert len(out["imported_versions"]) == 2 and out["missing_objects"] == []
    d = cli_json(tmp_repo, "diff", "ds@v1", "ds@v2")
    assert d["rows"]["relabeled"] == 2 and d["rows"]["unchanged"] == 48


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changed_parts_record_equals_a_full_read(tmp_repo: Path, seed: int) -> None:
    """Random moves between partitions, relabels, adds, removes and a new partition: the
    version recorded from the changed parts only has the counts, row count and label
    distribution that diffing and profiling every part gives."""
    import random

    from dslineage.core import common
    from dslineage.store import rowdiff, rows

    rnd = random.Random(seed)
    where = {i: rnd.choice("abcd") for i in range(200)}
    label = {i: rnd.choice(["cat", "dog"]) for i in range(200)}

    def write(keys: dict[int, str]) -> None:
        top = tmp_repo / "data" / "ds"
        for p in top.rglob("*.parquet") if top.exists() else []:
            p.unlink()
        for split in sorted(set(keys.values())):
            ids = sorted(i for i, s in keys.items() if s == split)
            write_parquet(top / f"split={split}" / "p.parquet", {"id": ids, "label": [label[i] for i in ids]})

    write(where)
    with Repo(tmp_repo) as repo:
        repo.track(str(tmp_repo / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "v1", None)
    for i in rnd.sample(sorted(where), 10):
        where[i] = rnd.choice("abce")  # moves (some to a new partition e)
    for i in rnd.sample(sorted(where), 10):
        label[i] = "owl"
    for i in rnd.sample(sorted(where), 5):
        del where[i]
    for i in range(200, 205):
        where[i], label[i] = "a", "emu"
    write(where)
    with Repo(tmp_repo) as repo:
        repo.commit(["ds"], "v2", None)
        ds = repo.dataset("ds")
        v1, v2 = (next(v for v in repo.index.records("version", "ds") if v["seq"] == s) for s in (1, 2))
        con = common.row_connection(repo)
        try:
            a, b = common.version_source(repo, ds, v1), common.version_source(repo, ds, v2)
            _, full = rowdiff.compare(con, a, b, ds)
            prof = rows.profile(con, b, ds)
        finally:
            con.close()
    assert {k: v2["changes"][k] for k in ("added", "removed", "relabeled", "modified")} == {
        k: full[k] for k in ("added", "removed", "relabeled", "modified")
    }
    assert v2["changes"]["columns"] == full["columns"]
    assert v2["rows"] == prof.rows == len(where)
    assert v2["label_distribution"] == prof.label_distribution


def test_cherry_pick_reapplies_a_batch_to_its_part_only(dirrepo: Path) -> None:
    """A reverted batch cherry-picked again rewrites only the part holding its rows."""
    root = dirrepo
    batch = cli_json(root, "relabel", "ds", "--set", "33=dog", "-m", "a dog in val")["batch"]
    cli_json(root, "revert", batch[:10], "-m", "not a dog")
    before = files_state(root)
    cli_json(root, "cherry-pick", batch[:10])
    after = files_state(root)
    assert labels_of(root)[33] == "dog"
    assert [rel for rel in before if before[rel] != after[rel]] == ["split=val/part-0.parquet"]


def test_fsck_remote_counts_a_directory_version_stored_only_with_all_its_files(
    dirrepo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote holding a version's `.dir` manifest but not one of its files (what a push of the
    manifest alone left) is reported by `fsck --remote`; with every file there, nothing is."""
    from dslineage import dvcio

    root = dirrepo
    run(root, "dvc", "remote", "add", "-d", "store", str(tmp_path / "remote"))
    rec = version(root, 1)
    files = dvcio.dir_children(root, rec["md5"])
    assert len(files) == 3
    asked: list[list[str]] = []

    def holding(present: set[str]) -> Any:
        def status(_root: Path, md5s: list[str], *, remote: str | None = None) -> dvcio.RemoteStatus:
            asked.append(sorted(md5s))
            return dvcio.RemoteStatus("store", frozenset(set(md5s) & present), frozenset(), frozenset())

        return status

    with Repo(root) as repo:
        monkeypatch.setattr(dvcio, "remote_status", holding({rec["md5"], *files}))
        assert repo.fsck(remote=True).remote.versions == []  # type: ignore[union-attr]
        monkeypatch.setattr(dvcio, "remote_status", holding({rec["md5"], *files[1:]}))
        missing = repo.fsck(remote=True).remote.versions  # type: ignore[union-attr]
    assert [(v.seq, v.md5) for v in missing] == [(1, rec["md5"])]
    assert asked[0] == sorted([rec["md5"], *files])  # the files are asked about, not only the manifest
