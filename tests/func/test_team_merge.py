"""Issue 10: two people relabel one dataset on two branches; `dslineage merge`, plain `git merge`,
`git pull` and `git pull --rebase` merge both sides row by row with their provenance, and
overlapping edits stop with exactly the conflicting cells listed (real git, real DVC)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dslineage import Repo, dvcio
from tests.support import cli_json, invoke, new_repo, run, snapshot_state, write_parquet

N = 2000
ALICE = [f"{i}=fox" for i in range(1, 101)]
BOB = [f"{i}=owl" for i in range(500, 601)]


def _labels(root: Path) -> dict[int, str]:
    """id → label of the work file `data/train.parquet`."""
    t = pq.read_table(root / "data" / "train.parquet")
    return dict(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))


def _clone(remote: Path, dest: Path, seed: Path) -> Path:
    """A fresh clone of `remote` sharing `seed`'s DVC cache, with its work file checked out."""
    run(remote.parent, "git", "clone", "-q", str(remote), str(dest))
    dvcio.share_cache(dest, seed)
    run(dest, "dvc", "checkout", "-q", "data/train.parquet.dvc")
    return dest


def _record(root: Path, vid: str) -> dict[str, Any]:
    """The journal record of a version."""
    with Repo(root) as repo:
        return next(r for r in repo.index.records("version", "train") if r["id"] == vid)


def _relabel(root: Path, edits: list[str], who: str, reason: str) -> dict[str, Any]:
    with Repo(root) as repo:
        return repo.relabel("train", edits, by=who, reason=reason, message=f"{who}: {reason}")


@pytest.fixture(scope="module")
def team_template(module_env: Path) -> Path:
    """Built once: main holds train v1 (2,000 rows, all 'cat'); alice relabelled 1-100 fox and
    bob 500-600 owl, each in a clone of a bare remote; bob's main is pushed to the remote."""
    tmp_path = module_env / "team"
    seed = new_repo(tmp_path / "seed")
    write_parquet(
        seed / "data" / "train.parquet", {"id": list(range(N)), "x": [i / 2 for i in range(N)], "label": ["cat"] * N}
    )
    with Repo(seed) as repo:
        repo.track(str(seed / "data" / "train.parquet"), ["id"], ["label"])
        repo.commit(["train"], "v1", None)
    remote = tmp_path / "remote.git"
    run(tmp_path, "git", "clone", "-q", "--bare", str(seed), str(remote))
    alice = _clone(remote, tmp_path / "alice", seed)
    bob = _clone(remote, tmp_path / "bob", seed)
    _relabel(alice, ALICE, "alice", "foxes in the corner")
    _relabel(bob, BOB, "bob", "owls at night")
    run(bob, "git", "push", "-q", "origin", "main")
    run(alice, "git", "fetch", "-q", str(bob), "main:bob")
    return tmp_path


@pytest.fixture
def team(team_template: Path, tmp_path: Path) -> dict[str, Path]:
    """A private copy of the team repositories (the clones share the template's DVC cache; their
    `origin` is a copy of the bare remote)."""
    dest = tmp_path / "team"
    shutil.copytree(team_template, dest, symlinks=True)
    for who in ("alice", "bob"):
        run(dest / who, "git", "remote", "set-url", "origin", str(dest / "remote.git"))
    return {"alice": dest / "alice", "bob": dest / "bob", "remote": dest / "remote.git", "seed": dest / "seed"}


def _check_merged(root: Path, merged_by_driver: bool = False) -> dict[str, Any]:
    """Both sides' labels in the work file; a merge version with two parents at HEAD; history of
    rows 50 and 550 names alice's and bob's batches."""
    labels = _labels(root)
    assert [labels[i] for i in (0, 1, 100, 101, 499, 500, 600, 601)] == [
        "cat",
        "fox",
        "fox",
        "cat",
        "cat",
        "owl",
        "owl",
        "cat",
    ]
    assert sum(v == "fox" for v in labels.values()) == 100
    assert sum(v == "owl" for v in labels.values()) == 101
    top = cli_json(root, "log", "train")[0]
    assert len(top["parents"]) == 2 and _record(root, top["id"])["parents"] == top["parents"]
    assert dvcio.read_dvcfile(root / "data" / "train.parquet.dvc").md5 == top["md5"]
    by = {}
    for key in ("50", "550"):
        h = cli_json(root, "history", "train", key)
        relabels = [e for e in h["events"] if e["change"] == "relabeled"]
        assert len({e["batch"] for e in relabels}) == 1, relabels  # its own version and the merge's
        by[key] = relabels[-1]
    assert by["50"]["annotator"] == "alice" and by["50"]["reason"] == "foxes in the corner"
    assert by["550"]["annotator"] == "bob" and by["550"]["reason"] == "owls at night"
    assert by["50"]["batch"] and by["550"]["batch"] and by["50"]["batch"] != by["550"]["batch"]
    blame = {r["key"]["id"]: r for r in cli_json(root, "blame", "train")["rows"]}
    for key, who in (("50", "alice"), ("550", "bob")):
        assert blame[int(key)]["batch"] == by[key]["batch"], blame[int(key)]
        assert who in blame[int(key)]["author"], blame[int(key)]
    status = cli_json(root, "status")
    assert not status[0]["dirty"] and status[0]["merging"] is None
    return top


@pytest.mark.slow
def test_dslineage_merge_combines_disjoint_relabels_with_provenance(team: dict[str, Path]) -> None:
    """`dslineage merge bob` in alice's clone: both sides' labels, one merge commit with two git
    parents, a merge version with parents [alice v2, bob v2], rows keep their own batches."""
    alice = team["alice"]
    ours = cli_json(alice, "log", "train")[0]["id"]
    out = cli_json(alice, "merge", "bob", "-m", "merge bob")
    assert set(out) == {"merged", "conflicts", "state"}
    assert out["state"] == "merged" and out["conflicts"] == []
    (m,) = out["merged"]
    assert set(m) == {"dataset", "version", "parents", "rows"}
    assert set(m["rows"]) == {"from_ours", "from_theirs", "added", "removed"}
    assert m["parents"][0] == ours and m["rows"]["added"] == 0 and m["rows"]["removed"] == 0
    parents = run(alice, "git", "log", "-1", "--format=%P").stdout.split()
    assert len(parents) == 2
    assert not run(alice, "git", "status", "--porcelain").stdout.strip()
    top = _check_merged(alice)
    assert top["id"] == m["version"]
    lineage = cli_json(alice, "lineage", f"train@v{top['seq']}")
    assert json.dumps(lineage).count(m["parents"][1][:10]) >= 1


@pytest.mark.slow
def test_revert_of_either_sides_batch_works_on_merged_data(team: dict[str, Path]) -> None:
    """After the merge, reverting bob's batch (made on his branch) puts rows 500-600 back to cat
    and keeps alice's foxes."""
    alice = team["alice"]
    cli_json(alice, "merge", "bob")
    h = cli_json(alice, "history", "train", "550")
    batch = [e for e in h["events"] if e["change"] == "relabeled"][-1]["batch"]
    res = cli_json(alice, "revert", batch[:12])
    assert res["restored"] == 101
    labels = _labels(alice)
    assert labels[550] == "cat" and labels[50] == "fox"
    h = cli_json(alice, "history", "train", "50")
    mine = [e for e in h["events"] if e["change"] == "relabeled"][-1]["batch"]
    assert cli_json(alice, "revert", mine[:12])["restored"] == 100
    assert set(_labels(alice).values()) == {"cat"}


def test_plain_git_merge_uses_the_driver_and_the_next_command_records(team: dict[str, Path]) -> None:
    """A fresh clone registers the driver on its first dslineage command; plain `git merge bob` then
    merges the rows and the next dslineage command records the merge version."""
    alice = team["alice"]
    assert run(alice, "git", "config", "--get", "merge.dslineage.driver", check=False).stdout.strip()
    assert "merge=dslineage" in (alice / ".gitattributes").read_text()
    res = run(alice, "git", "merge", "--no-edit", "bob", check=False)
    assert res.returncode == 0, res.stderr
    _check_merged(alice, merged_by_driver=True)
    assert not run(alice, "git", "status", "--porcelain").stdout.strip()


@pytest.mark.slow
def test_git_pull_from_a_bare_remote_merges(team: dict[str, Path]) -> None:
    """`git pull` (merge) of bob's pushed main into alice's main merges both relabels."""
    alice = team["alice"]
    res = run(alice, "git", "pull", "--no-rebase", "--no-edit", "origin", "main", check=False)
    assert res.returncode == 0, res.stderr
    _check_merged(alice, merged_by_driver=True)


def test_git_pull_rebase_merges(team: dict[str, Path]) -> None:
    """`git pull --rebase` replays alice's relabel over bob's: both labels, a merge version."""
    alice = team["alice"]
    res = run(alice, "git", "pull", "--rebase", "origin", "main", check=False)
    assert res.returncode == 0, res.stderr
    _check_merged(alice, merged_by_driver=True)


def test_status_warns_when_a_clone_lacks_the_driver(team: dict[str, Path]) -> None:
    """`.gitattributes` names the driver but `.git/config` lacks it: status adds it and warns."""
    alice = team["alice"]
    run(alice, "git", "config", "--remove-section", "merge.dslineage")
    res = invoke(alice, "status")
    assert res.exit_code == 0 and "merge driver" in res.stderr
    assert run(alice, "git", "config", "--get", "merge.dslineage.driver").stdout.strip()


def test_init_no_merge_driver_removes_it(team: dict[str, Path]) -> None:
    """`dslineage init --no-merge-driver` drops the .gitattributes lines and the config entry."""
    alice = team["alice"]
    assert cli_json(alice, "init", "--no-merge-driver")["merge_driver"] is False
    assert not (alice / ".gitattributes").exists() or "merge=dslineage" not in (alice / ".gitattributes").read_text()
    assert run(alice, "git", "config", "--get", "merge.dslineage.driver", check=False).returncode != 0
    cli_json(alice, "init")
    assert "merge=dslineage" in (alice / ".gitattributes").read_text()


# -- overlapping edits ------------------------------------------------------------------------


@pytest.fixture
def overlap(team: dict[str, Path]) -> dict[str, Path]:
    """Bob also relabelled rows 90-95 (alice set them to fox) to owl: six conflicting cells."""
    bob = team["bob"]
    _relabel(bob, [f"{i}=owl" for i in range(90, 96)], "bob", "owls in the corner")
    run(team["alice"], "git", "fetch", "-q", str(bob), "+main:bob")
    return team


def test_overlap_stops_with_exactly_the_conflicting_cells(overlap: dict[str, Path]) -> None:
    """The merge stops: exit 1, state conflicts, git reports the .dvc conflict, the work file keeps
    ours, status shows merging, and --conflicts lists exactly rows 90-95 with both batches."""
    alice = overlap["alice"]
    before = _labels(alice)
    res = invoke(alice, "merge", "bob", "--json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["state"] == "conflicts" and out["conflicts"] == [{"dataset": "train", "cells": 6}]
    assert "data/train.parquet.dvc" in run(alice, "git", "diff", "--name-only", "--diff-filter=U").stdout
    assert _labels(alice) == before
    assert cli_json(alice, "status")[0]["merging"]["cells"] == 6
    c = cli_json(alice, "merge", "--conflicts", "train")
    assert set(c) == {"dataset", "conflicts"}
    assert sorted(x["key"]["id"] for x in c["conflicts"]) == list(range(90, 96))
    for x in c["conflicts"]:
        assert set(x) == {"key", "column", "base", "ours", "theirs", "ours_batch", "theirs_batch"}
        assert (x["column"], x["base"], x["ours"], x["theirs"]) == ("label", "cat", "fox", "owl")
        assert x["ours_batch"]["annotator"] == "alice" and x["theirs_batch"]["annotator"] == "bob"
        assert x["theirs_batch"]["reason"] == "owls in the corner"
    shown = invoke(alice, "merge", "--conflicts", "train")
    assert shown.exit_code == 0 and "6 conflicting cells in train" in shown.stdout
    assert "alice" in shown.stdout and "bob" in shown.stdout and "owl" in shown.stdout
    assert "merge stopped on 6 conflicting cells" in invoke(alice, "status").stderr


def test_commit_and_relabel_refused_while_merging(overlap: dict[str, Path]) -> None:
    """commit and relabel of a dataset in the merging state: one line saying what to do."""
    alice = overlap["alice"]
    invoke(alice, "merge", "bob")
    for args in (("commit", "train", "-m", "x"), ("relabel", "train", "--set", "1=dog")):
        res = invoke(alice, *args)
        assert res.exit_code == 1
        assert "dslineage merge --resolve train" in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["ours", "theirs", "from"])
def test_resolve_gives_the_expected_file(overlap: dict[str, Path], how: str) -> None:
    """--ours keeps alice's fox on 90-95, --theirs takes bob's owl, --from takes the file's values;
    each records a merge version and (the merge started by dslineage) makes the merge commit."""
    alice = overlap["alice"]
    invoke(alice, "merge", "bob")
    args: list[str] = ["--ours"] if how == "ours" else ["--theirs"] if how == "theirs" else []
    if how == "from":
        out = alice / "conflicts.csv"
        assert invoke(alice, "merge", "--conflicts", "train", "--output", str(out)).exit_code == 0
        t = pacsv.read_csv(out)
        vals = ["dog" if k % 2 else "owl" for k in t.column("id").to_pylist()]
        t = t.drop_columns(["value"]).append_column("value", __import__("pyarrow").array(vals))
        pacsv.write_csv(t, out)
        args = ["--from", str(out)]
    res = cli_json(alice, "merge", "--resolve", "train", *args)
    (alice / "conflicts.csv").unlink(missing_ok=True)
    assert len(res["parents"]) == 2 and res["git_commit"]
    labels = _labels(alice)
    expect = {"ours": lambda k: "fox", "theirs": lambda k: "owl", "from": lambda k: "dog" if k % 2 else "owl"}[how]
    assert [labels[k] for k in range(90, 96)] == [expect(k) for k in range(90, 96)]
    assert labels[50] == "fox" and labels[550] == "owl" and labels[96] == "fox"
    assert len(run(alice, "git", "log", "-1", "--format=%P").stdout.split()) == 2
    assert not run(alice, "git", "status", "--porcelain").stdout.strip()
    assert cli_json(alice, "log", "train")[0]["id"] == res["version"]


def test_abort_restores(overlap: dict[str, Path]) -> None:
    """`merge --abort` leaves the repository as it was before the merge."""
    alice = overlap["alice"]
    before = snapshot_state(alice)
    invoke(alice, "merge", "bob")
    res = invoke(alice, "merge", "--abort")
    assert res.exit_code == 0, res.stderr
    after = snapshot_state(alice)
    assert after == before
    assert cli_json(alice, "status")[0]["merging"] is None


@pytest.mark.slow
def test_plain_git_merge_with_overlap_stops_and_resolves(overlap: dict[str, Path]) -> None:
    """Plain `git merge` of overlapping edits: the driver reports the conflict (ours kept), the
    dataset is merging; --resolve --theirs stages the result and leaves the commit to the user."""
    alice = overlap["alice"]
    res = run(alice, "git", "merge", "--no-edit", "bob", check=False)
    assert res.returncode != 0
    assert cli_json(alice, "status")[0]["merging"]["cells"] == 6
    assert _labels(alice)[90] == "fox"
    out = cli_json(alice, "merge", "--resolve", "train", "--theirs")
    assert out["git_commit"] is None and "git commit" in out["note"]
    run(alice, "git", "commit", "-q", "--no-edit")
    labels = _labels(alice)
    assert labels[90] == "owl" and labels[50] == "fox" and labels[550] == "owl"
    assert len(cli_json(alice, "log", "train")[0]["parents"]) == 2


def test_merge_refuses_bad_input_without_changes(team: dict[str, Path]) -> None:
    """An unknown branch is one line, exit 1, nothing changed."""
    alice = team["alice"]
    before = snapshot_state(alice)
    res = invoke(alice, "merge", "nosuch")
    assert res.exit_code == 1 and "unknown branch" in res.stderr
    assert snapshot_state(alice) == before
    shutil.rmtree(alice / ".dslineage" / "tmp", ignore_errors=True)


@pytest.mark.slow
def test_git_pull_rebase_with_overlap_stops_and_resolves(overlap: dict[str, Path]) -> None:
    """`git pull --rebase` over overlapping edits stops on the driver's conflict; during a rebase
    git's "theirs" is the replayed commit (alice's), so --resolve --theirs keeps her foxes, and
    `git rebase --continue` finishes with a merge version of two parents."""
    alice, bob = overlap["alice"], overlap["bob"]
    run(bob, "git", "push", "-q", "origin", "main")
    res = run(alice, "git", "pull", "--rebase", "origin", "main", check=False)
    assert res.returncode != 0
    assert cli_json(alice, "status")[0]["merging"]["cells"] == 6
    out = cli_json(alice, "merge", "--resolve", "train", "--theirs")
    assert "rebase --continue" in out["note"]
    done = subprocess.run(
        ["git", "-c", "core.editor=true", "rebase", "--continue"],
        cwd=alice,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_EDITOR": "true"},
    )
    assert done.returncode == 0, done.stderr
    labels = _labels(alice)
    assert [labels[k] for k in range(90, 96)] == ["fox"] * 6
    assert labels[50] == "fox" and labels[550] == "owl"
    top = cli_json(alice, "log", "train")[0]
    assert len(top["parents"]) == 2 and top["id"] == out["version"]
    assert not run(alice, "git", "status", "--porcelain").stdout.strip()


@pytest.mark.slow
def test_dataset_changed_on_one_side_takes_that_side(team: dict[str, Path]) -> None:
    """A dataset only bob changed: `dslineage merge` takes his version (its work file follows),
    records no merge version; a pure fast-forward moves the branch."""
    bob, seed = team["bob"], team["seed"]
    fresh = _clone(team["remote"], bob.parent / "carol", seed)  # bob's main was pushed: train@v2 (owl)
    run(fresh, "git", "reset", "-q", "--hard", "HEAD~1")
    run(fresh, "dvc", "checkout", "-q", "-f", "data/train.parquet.dvc")
    (fresh / "notes.txt").write_text("carol's notes\n")
    run(fresh, "git", "add", "notes.txt")
    run(fresh, "git", "commit", "-q", "-m", "notes")
    run(fresh, "git", "fetch", "-q", str(bob), "main:bob")
    out = cli_json(fresh, "merge", "bob")
    assert out == {"merged": [], "conflicts": [], "state": "merged"}
    assert _labels(fresh)[550] == "owl" and (fresh / "notes.txt").exists()
    assert len(run(fresh, "git", "log", "-1", "--format=%P").stdout.split()) == 2
    assert cli_json(fresh, "status")[0]["dirty"] is False
    other = _clone(team["remote"], bob.parent / "dave", seed)
    run(other, "git", "reset", "-q", "--hard", "HEAD~1")
    run(other, "dvc", "checkout", "-q", "-f", "data/train.parquet.dvc")
    run(other, "git", "fetch", "-q", str(bob), "main:bob")
    assert cli_json(other, "merge", "bob")["state"] == "merged"
    assert _labels(other)[550] == "owl"
    assert run(other, "git", "rev-parse", "HEAD").stdout == run(bob, "git", "rev-parse", "HEAD").stdout


@pytest.mark.slow
def test_dslineage_merge_in_one_repository(tmp_repo: Path) -> None:
    """Issue 10's scenario in one repository (branches alice and bob): `dslineage merge bob` on
    alice gives both sides' labels, a two-parent merge version and each side's provenance."""
    path = write_parquet(
        tmp_repo / "data" / "train.parquet",
        {"id": list(range(N)), "x": [i / 2 for i in range(N)], "label": ["cat"] * N},
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["train"], "v1", None)
    run(tmp_repo, "git", "checkout", "-q", "-b", "alice")
    _relabel(tmp_repo, ALICE, "alice", "foxes in the corner")
    run(tmp_repo, "git", "checkout", "-q", "main")
    with Repo(tmp_repo) as repo:
        repo.checkout("train@latest")
    run(tmp_repo, "git", "checkout", "-q", "-b", "bob")
    _relabel(tmp_repo, BOB, "bob", "owls at night")
    run(tmp_repo, "git", "checkout", "-q", "alice")
    with Repo(tmp_repo) as repo:
        repo.checkout("train@latest")
        out = repo.merge("bob")
    assert out["state"] == "merged" and len(out["merged"]) == 1
    _check_merged(tmp_repo)


def test_git_merge_abort_after_the_driver_leaves_nothing_behind(overlap: dict[str, Path]) -> None:
    """A plain `git merge` the driver stopped, then `git merge --abort`: the next command forgets
    the merging state, so commits are allowed again and the work file is ours."""
    alice = overlap["alice"]
    run(alice, "git", "merge", "--no-edit", "bob", check=False)
    run(alice, "git", "merge", "--abort")
    entry = cli_json(alice, "status")[0]
    assert entry["merging"] is None and not entry["dirty"]
    assert not (alice / ".dslineage" / "merge").exists()


def test_merge_bad_input_is_one_line_and_changes_nothing(team: dict[str, Path]) -> None:
    """No mode, no resolution choice, nothing merging, an uncommitted work file: one line each,
    the right exit code, nothing changed."""
    alice = team["alice"]
    before = snapshot_state(alice)
    for args, code, words in (
        ((), 2, "exactly one of"),
        (("--resolve", "train"), 2, "exactly one of --ours"),
        (("--resolve", "train", "--ours"), 1, "not in the middle of a merge"),
        (("--conflicts", "train"), 1, "not in the middle of a merge"),
        (("--abort",), 1, "no merge is in progress"),
    ):
        res = invoke(alice, "merge", *args)
        assert res.exit_code == code and words in res.stderr, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
    assert snapshot_state(alice) == before
    write_parquet(alice / "data" / "train.parquet", {"id": [1], "x": [0.5], "label": ["dog"]})
    before = snapshot_state(alice)
    res = invoke(alice, "merge", "bob")
    assert res.exit_code == 1 and "uncommitted changes" in res.stderr
    assert snapshot_state(alice) == before


def test_resolve_a_git_merge_made_without_the_driver(overlap: dict[str, Path]) -> None:
    """A merge git ran without the driver (a clone that had not registered it): --conflicts and
    --resolve work from git's conflict stages of the .dvc file."""
    alice = overlap["alice"]
    res = run(alice, "git", "-c", "merge.dslineage.driver=false", "merge", "--no-edit", "bob", check=False)
    assert res.returncode != 0
    c = cli_json(alice, "merge", "--conflicts", "train")
    assert sorted(x["key"]["id"] for x in c["conflicts"]) == list(range(90, 96))
    out = cli_json(alice, "merge", "--resolve", "train", "--ours")
    assert out["git_commit"] is None
    run(alice, "git", "commit", "-q", "--no-edit")
    labels = _labels(alice)
    assert labels[90] == "fox" and labels[550] == "owl" and labels[50] == "fox"
    assert len(cli_json(alice, "log", "train")[0]["parents"]) == 2


@pytest.mark.slow
def test_two_datasets_one_conflicting_make_one_merge_commit(tmp_path: Path) -> None:
    """Dataset a merges cleanly, b conflicts: the merge stops with a staged and b merging;
    resolving b makes one merge commit holding both merge versions."""
    seed = new_repo(tmp_path / "seed")
    for name in ("a", "b"):
        write_parquet(seed / "data" / f"{name}.parquet", {"id": list(range(30)), "label": ["cat"] * 30})
        with Repo(seed) as repo:
            repo.track(str(seed / "data" / f"{name}.parquet"), ["id"], ["label"])
    with Repo(seed) as repo:
        repo.commit([], "v1", None)
    other = tmp_path / "other"
    run(tmp_path, "git", "clone", "-q", str(seed), str(other))
    dvcio.share_cache(other, seed)
    run(other, "dvc", "checkout", "-q")
    with Repo(other) as repo:
        repo.relabel("a", ["1=fox"], by="bob", reason="r")
        repo.relabel("b", ["2=owl"], by="bob", reason="r")
    with Repo(seed) as repo:
        repo.relabel("a", ["5=dog"], by="alice", reason="r")
        repo.relabel("b", ["2=dog"], by="alice", reason="r")
    run(seed, "git", "fetch", "-q", str(other), "main:other")
    res = invoke(seed, "merge", "other", "--json")
    out = json.loads(res.stdout)
    assert res.exit_code == 1 and [m["dataset"] for m in out["merged"]] == ["a"]
    assert out["conflicts"] == [{"dataset": "b", "cells": 1}]
    done = cli_json(seed, "merge", "--resolve", "b", "--theirs")
    assert done["git_commit"]
    assert len(run(seed, "git", "log", "-1", "--format=%P").stdout.split()) == 2
    for name, key, label in (("a", 1, "fox"), ("a", 5, "dog"), ("b", 2, "owl")):
        t = pq.read_table(seed / "data" / f"{name}.parquet").to_pydict()
        assert dict(zip(t["id"], t["label"]))[key] == label
        assert len(cli_json(seed, "log", name)[0]["parents"]) == 2
    assert not run(seed, "git", "status", "--porcelain").stdout.strip()
    assert cli_json(seed, "fsck")["problems"] == []


@pytest.mark.slow
def test_git_pull_rebase_of_two_commits_records_each_merge(team: dict[str, Path]) -> None:
    """Alice relabelled twice (two commits) before `git pull --rebase`: each replayed commit is
    merged by the driver, and the next command records both merge versions, in order."""
    alice = team["alice"]
    _relabel(alice, ["1000=bat"], "alice", "a bat")
    res = run(alice, "git", "pull", "--rebase", "origin", "main", check=False)
    assert res.returncode == 0, res.stderr
    log = cli_json(alice, "log", "train")
    merges = [v for v in log if len(v["parents"]) == 2]
    assert len(merges) == 2 and merges[0]["parents"][0] == merges[1]["id"]
    assert log[0]["id"] == merges[0]["id"]
    labels = _labels(alice)
    assert (labels[1000], labels[50], labels[550]) == ("bat", "fox", "owl")
    h = cli_json(alice, "history", "train", "1000")
    assert [e for e in h["events"] if e["change"] == "relabeled"][-1]["annotator"] == "alice"
    assert cli_json(alice, "status")[0]["dirty"] is False


@pytest.mark.slow
def test_merge_change_set_from_the_engine_equals_a_full_diff(tmp_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A label-only merge builds its change set from the engine's changed rows without diffing the
    merged file (`rowdiff.compare` is never called), and it equals the full diff against ours: counts,
    columns, rows, schema, label distribution and the change-set file's rows."""
    from dslineage.core import common
    from dslineage.ops.commit import build_record
    from dslineage.store import rowdiff

    path = write_parquet(
        tmp_repo / "data" / "train.parquet",
        {"id": list(range(N)), "x": [i / 2 for i in range(N)], "label": ["cat"] * N},
    )
    with Repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["train"], "v1", None)
    run(tmp_repo, "git", "checkout", "-q", "-b", "alice")
    _relabel(tmp_repo, ALICE, "alice", "foxes in the corner")
    run(tmp_repo, "git", "checkout", "-q", "main")
    with Repo(tmp_repo) as repo:
        repo.checkout("train@latest")
    run(tmp_repo, "git", "checkout", "-q", "-b", "bob")
    _relabel(tmp_repo, BOB, "bob", "owls at night")
    run(tmp_repo, "git", "checkout", "-q", "alice")
    compare = rowdiff.compare

    def no_compare(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the merge diffed the whole merged file")

    with Repo(tmp_repo) as repo:
        repo.checkout("train@latest")
        monkeypatch.setattr(rowdiff, "compare", no_compare)
        out = repo.merge("bob")
        monkeypatch.setattr(rowdiff, "compare", compare)
    fast = _record(tmp_repo, out["merged"][0]["version"])
    import hashlib  # the md5 hashed while the file was written is the file's

    assert hashlib.md5((tmp_repo / "data" / "train.parquet").read_bytes()).hexdigest() == fast["md5"]
    with Repo(tmp_repo) as repo:
        ds = repo.dataset("train")
        ours = _record(tmp_repo, fast["parents"][0])
        con = common.row_connection(repo)
        try:
            full, full_file = build_record(
                repo,
                con,
                ds,
                common.version_source(repo, ds, fast),
                fast["md5"],
                ours,
                common.version_source(repo, ds, ours),
                message="full",
                author="x",
                timestamp=fast["timestamp"],
            )
        finally:
            con.close()
    assert full_file is not None
    fast_changes = {k: v for k, v in fast["changes"].items() if k != "file"}
    assert fast_changes == {k: v for k, v in full["changes"].items() if k != "file"}
    assert fast_changes["relabeled"] == 101 and fast_changes["columns"] == {"label": 101}  # bob's rows
    for k in ("rows", "schema", "label_distribution"):
        assert fast[k] == full[k], k
    fast_file = full_file.parent / fast["changes"]["file"]
    a, b = pq.read_table(fast_file), pq.read_table(full_file)
    assert sorted(a.column_names) == sorted(b.column_names)
    assert a.select(b.column_names).to_pylist() == b.to_pylist()
    full_file.unlink()
