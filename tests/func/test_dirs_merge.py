"""Issue 16 item 1: `dslineage merge` of a directory dataset whose branches edited the same
rows stops with conflicts a person can finish (`merge --conflicts`, `merge --resolve
--ours/--theirs/--from FILE`, `merge --abort`), as on a file (real git branches, real DVC)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support import cli_json, invoke, md5, refused, run, snapshot_state, write_parquet
from tests.support.partitions import SPLITS, split_part, tracked_splits


def labels_by_part(root: Path) -> dict[str, dict[int, str]]:
    """split -> {id: label} of every part of `data/ds` as the work tree holds it."""
    out = {}
    for split in SPLITS:
        t = pq.read_table(split_part(root, split))
        out[split] = dict(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))
    return out


def git(root: Path, *args: str) -> None:
    """A git command in the repository (checked)."""
    run(root, "git", *args)


@pytest.fixture
def branches(tmp_repo: Path) -> Path:
    """`data/ds` v1 on main (three hive partitions, 50 rows, all 'cat'); branch alice sets
    2=fox, 5=fox (train) and 33=emu (val); branch bob sets 2=owl, 7=owl (train) and 44=owl
    (test). Row 2 (train) conflicts; 5 and 7 are other rows of the same part. HEAD: alice."""
    tracked_splits(tmp_repo, with_x=True)
    git(tmp_repo, "checkout", "-q", "-b", "bob")
    cli_json(tmp_repo, "relabel", "ds", "--set", "2=owl", "--set", "7=owl", "--set", "44=owl", "--reason", "bob: owls")
    git(tmp_repo, "checkout", "-q", "main")
    cli_json(tmp_repo, "checkout", "ds@latest")
    git(tmp_repo, "checkout", "-q", "-b", "alice")
    cli_json(
        tmp_repo, "relabel", "ds", "--set", "2=fox", "--set", "5=fox", "--set", "33=emu", "--reason", "alice: foxes"
    )
    return tmp_repo


def stop_on_conflicts(root: Path) -> dict[str, Any]:
    """`dslineage merge bob` that stops (exit 1) on the conflicting row; its JSON."""
    done = invoke(root, "merge", "bob", "--json")
    assert done.exit_code == 1, (done.stdout, done.stderr)
    return json.loads(done.stdout)


def test_conflicting_row_stops_the_merge_with_nothing_changed(branches: Path) -> None:
    """The merge stops on the one cell both edited; the directory keeps ours (every part's
    bytes), `--conflicts` lists key, base, ours, theirs and each side's batch, status says
    merging, and relabel of the dataset is refused."""
    root = branches
    before = {s: md5(split_part(root, s)) for s in SPLITS}
    out = stop_on_conflicts(root)
    assert out["state"] == "conflicts" and out["conflicts"] == [{"dataset": "ds", "cells": 1}]
    assert {s: md5(split_part(root, s)) for s in SPLITS} == before
    listed = cli_json(root, "merge", "--conflicts", "ds")
    assert [(c["key"], c["column"], c["base"], c["ours"], c["theirs"]) for c in listed["conflicts"]] == [
        ({"id": 2}, "label", "cat", "fox", "owl")
    ]
    cell = listed["conflicts"][0]
    assert "alice" in cell["ours_batch"]["reason"] and "bob" in cell["theirs_batch"]["reason"]
    merging = cli_json(root, "status")[0]["merging"]
    assert merging is not None and "1" in json.dumps(merging)
    refused(root, "relabel", "ds", "--set", "3=dog", "-m", "no", match="middle of a merge")


@pytest.mark.parametrize(("how", "row2"), [("--ours", "fox"), ("--theirs", "owl")])
def test_resolve_ours_or_theirs_gives_each_part_its_rows(branches: Path, how: str, row2: str) -> None:
    """`--resolve --ours|--theirs` finishes the merge: the conflicting row takes that side,
    both sides' other rows of the same part are kept, the parts only one side changed come
    from that side, and one merge commit records a version with two parents."""
    root = branches
    stop_on_conflicts(root)
    out = cli_json(root, "merge", "--resolve", "ds", how)
    assert out["git_commit"] and len(out["parents"]) == 2
    got = labels_by_part(root)
    assert (got["train"][2], got["train"][5], got["train"][7]) == (row2, "fox", "owl")
    assert got["val"][33] == "emu" and got["test"][44] == "owl"
    assert sum(v != "cat" for part in got.values() for v in part.values()) == 5
    assert set(got["train"]) == set(SPLITS["train"])  # each row stays in its part
    parents = run(root, "git", "log", "-1", "--format=%P").stdout.split()
    assert len(parents) == 2
    assert run(root, "git", "status", "--porcelain").stdout == ""
    assert [s["dirty"] for s in cli_json(root, "status")] == [False]
    h = cli_json(root, "history", "ds", "7")
    assert h["events"][-1]["labels"]["label"] == "owl"
    d = cli_json(root, "diff", "ds@v2", "ds@latest")  # v2: alice's relabel; the merge adds bob's side
    assert d["rows"]["relabeled"] == (2 if how == "--ours" else 3)


def test_resolve_from_file_takes_the_chosen_value(branches: Path, tmp_path: Path) -> None:
    """`--conflicts --output FILE` writes the cells with the part holding each and an empty
    value column; filled in, `--resolve --from FILE` writes that value into that part."""
    root = branches
    stop_on_conflicts(root)
    out_file = root / "conflicts.csv"
    cli_json(root, "merge", "--conflicts", "ds", "--output", str(out_file))
    text = out_file.read_text()
    header = [c.strip('"') for c in text.splitlines()[0].split(",")]
    assert header[:7] == ["id", "column", "base", "ours", "theirs", "part", "ours_batch"]
    assert "split=train/part-0.parquet" in text
    chosen = tmp_path / "chosen.csv"
    chosen.write_text("id,column,value\n2,label,bat\n")
    out_file.unlink()
    cli_json(root, "merge", "--resolve", "ds", "--from", str(chosen))
    got = labels_by_part(root)
    assert (got["train"][2], got["train"][5], got["train"][7], got["test"][44]) == ("bat", "fox", "owl", "owl")
    assert run(root, "git", "status", "--porcelain").stdout == ""


def test_resolve_from_a_file_missing_the_cell_changes_nothing(branches: Path, tmp_path: Path) -> None:
    """A resolutions file without the conflicting cell is refused in one line; the merge stays
    stopped with the directory and the git state as they were."""
    root = branches
    stop_on_conflicts(root)
    chosen = tmp_path / "chosen.csv"
    chosen.write_text("id,column,value\n3,label,bat\n")
    before = snapshot_state(root)
    refused(root, "merge", "--resolve", "ds", "--from", str(chosen), match="have no value")
    assert snapshot_state(root) == before
    assert not list((root / ".dslineage" / "tmp").glob("merge-*"))  # no staged part left behind


def test_abort_returns_to_ours(branches: Path) -> None:
    """`merge --abort` after a stopped directory merge: HEAD, parts and status as before."""
    root = branches
    before = {s: md5(split_part(root, s)) for s in SPLITS}
    head = run(root, "git", "rev-parse", "HEAD").stdout
    stop_on_conflicts(root)
    cli_json(root, "merge", "--abort")
    assert run(root, "git", "rev-parse", "HEAD").stdout == head
    assert {s: md5(split_part(root, s)) for s in SPLITS} == before
    assert [s["dirty"] for s in cli_json(root, "status")] == [False]


def test_different_rows_of_one_part_merge_cleanly(tmp_repo: Path) -> None:
    """Two branches edit different rows of the same partition: merged in one commit, that
    part holds both edits and the other parts keep their bytes."""
    root = tmp_repo
    tracked_splits(root)
    untouched = {s: md5(split_part(root, s)) for s in ("val", "test")}
    git(root, "checkout", "-q", "-b", "bob")
    cli_json(root, "relabel", "ds", "--set", "7=owl", "-m", "bob")
    git(root, "checkout", "-q", "main")
    cli_json(root, "checkout", "ds@latest")
    cli_json(root, "relabel", "ds", "--set", "5=fox", "-m", "main")
    out = cli_json(root, "merge", "bob")
    assert out["state"] == "merged" and len(out["merged"][0]["parents"]) == 2
    assert len(run(root, "git", "log", "-1", "--format=%P").stdout.split()) == 2
    got = labels_by_part(root)
    assert (got["train"][5], got["train"][7]) == ("fox", "owl")
    assert sum(v != "cat" for part in got.values() for v in part.values()) == 2
    assert {s: md5(split_part(root, s)) for s in ("val", "test")} == untouched


@pytest.mark.parametrize("driver", [True, False], ids=["driver", "no-driver"])
def test_plain_git_merge_stops_on_the_conflict_and_resolve_finishes_it(branches: Path, driver: bool) -> None:
    """`git merge bob` (through the dslineage driver, or without it: a clone that lacks it)
    stops on the conflicting row with the parts as ours; `merge --conflicts` lists the cell
    (from the driver's state or git's conflict stages), `merge --resolve --theirs` stages the
    merged directory, and `git commit` concludes with each part's rows."""
    root = branches
    before = {s: md5(split_part(root, s)) for s in SPLITS}
    off = [] if driver else ["-c", "merge.dslineage.driver=false"]
    done = run(root, "git", *off, "merge", "bob", "-m", "merge bob", check=False)
    assert done.returncode != 0 and ("conflicting cells in ds" in done.stderr) == driver
    assert {s: md5(split_part(root, s)) for s in SPLITS} == before
    listed = cli_json(root, "merge", "--conflicts", "ds")
    assert [(c["key"], c["ours"], c["theirs"]) for c in listed["conflicts"]] == [({"id": 2}, "fox", "owl")]
    out = cli_json(root, "merge", "--resolve", "ds", "--theirs")
    assert out["git_commit"] is None and "git commit" in out["note"]
    git(root, "commit", "-q", "--no-edit")
    got = labels_by_part(root)
    assert [got[s][i] for s, i in (("train", 2), ("train", 5), ("train", 7), ("val", 33), ("test", 44))] == [
        "owl",
        "fox",
        "owl",
        "emu",
        "owl",
    ]
    assert [s["dirty"] for s in cli_json(root, "status")] == [False]
    log = cli_json(root, "log", "ds")
    top = log[0] if isinstance(log, list) else log["versions"][0]
    assert len(top["parents"]) == 2


def test_plain_git_merge_of_different_rows_merges_the_parts(tmp_repo: Path) -> None:
    """`git merge` of two branches that edited different rows of one partition: the driver
    merges that part into the work tree and the DVC cache, git commits, and the next
    dslineage command records the merge version (two parents); nothing is dirty."""
    root = tmp_repo
    tracked_splits(root)
    git(root, "checkout", "-q", "-b", "bob")
    cli_json(root, "relabel", "ds", "--set", "7=owl", "--set", "33=owl", "-m", "bob")
    git(root, "checkout", "-q", "main")
    cli_json(root, "checkout", "ds@latest")
    cli_json(root, "relabel", "ds", "--set", "5=fox", "-m", "main")
    git(root, "merge", "-q", "bob", "-m", "merge bob")
    got = labels_by_part(root)
    assert (got["train"][5], got["train"][7], got["val"][33]) == ("fox", "owl", "owl")
    log = cli_json(root, "log", "ds")  # records the merge version the driver left a note for
    top = log[0] if isinstance(log, list) else log["versions"][0]
    assert len(top["parents"]) == 2
    assert [s["dirty"] for s in cli_json(root, "status")] == [False]
    assert run(root, "dvc", "status", "data/ds.dvc").stdout.strip().endswith("up to date.")
    d = cli_json(root, "diff", "ds@v1", "ds@latest")
    assert d["rows"]["relabeled"] == 3 and d["rows"]["unchanged"] == 47


def test_a_row_moved_on_one_side_and_relabeled_on_the_other(tmp_repo: Path, tmp_path: Path) -> None:
    """main moves row 31 from val to train, bob relabels it in val: a `*row*` conflict in
    val; `--theirs` (both copies) is refused in one line naming the key with nothing
    changed; `--from FILE` dropping the val copy keeps the moved row once, in train."""
    root = tmp_repo
    tracked_splits(root)
    git(root, "checkout", "-q", "-b", "bob")
    cli_json(root, "relabel", "ds", "--set", "31=owl")
    git(root, "checkout", "-q", "main")
    cli_json(root, "checkout", "ds@latest")
    write_parquet(split_part(root, "val"), {"id": [i for i in SPLITS["val"] if i != 31], "label": ["cat"] * 9})
    write_parquet(split_part(root, "train"), {"id": [*SPLITS["train"], 31], "label": ["cat"] * 31})
    cli_json(root, "commit", "ds", "-m", "31 moves to train")
    done = invoke(root, "merge", "bob", "--json")
    assert done.exit_code == 1
    listed = cli_json(root, "merge", "--conflicts", "ds")
    assert [(c["key"], c["column"], c["ours"]) for c in listed["conflicts"]] == [({"id": 31}, "*row*", None)]
    before = snapshot_state(root)
    err = refused(root, "merge", "--resolve", "ds", "--theirs", match="two parts")
    assert "31 ×2" in err
    assert snapshot_state(root) == before
    chosen = tmp_path / "drop.csv"
    chosen.write_text("id,column,value\n31,*row*,null\n")
    cli_json(root, "merge", "--resolve", "ds", "--from", str(chosen))
    got = labels_by_part(root)
    assert 31 in got["train"] and 31 not in got["val"]
    assert run(root, "git", "status", "--porcelain").stdout == ""


def test_git_rebase_merges_the_parts_the_work_tree_holds_from_the_replayed_side(tmp_repo: Path) -> None:
    """`git rebase main` on bob: git checks out main's `.dvc` while the directory still holds
    bob's parts (the replayed side), and the driver makes it the merge anyway: train merged,
    val as main has it; the next command records the merge version and nothing is dirty."""
    root = tracked_splits(tmp_repo)
    git(root, "checkout", "-q", "-b", "bob")
    cli_json(root, "relabel", "ds", "--set", "7=owl", "-m", "bob")
    git(root, "checkout", "-q", "main")
    cli_json(root, "checkout", "ds@latest")
    cli_json(root, "relabel", "ds", "--set", "5=fox", "--set", "33=emu", "-m", "main")
    git(root, "checkout", "-q", "bob")
    cli_json(root, "checkout", "ds@latest")
    git(root, "rebase", "-q", "main")
    got = labels_by_part(root)
    assert {(s, i): v for s, part in got.items() for i, v in part.items() if v != "cat"} == {
        ("train", 5): "fox",
        ("train", 7): "owl",
        ("val", 33): "emu",
    }
    assert [s["dirty"] for s in cli_json(root, "status")] == [False]
    log = cli_json(root, "log", "ds")
    top = log[0] if isinstance(log, list) else log["versions"][0]
    assert len(top["parents"]) == 2
