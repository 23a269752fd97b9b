"""Versions follow the branch (issue 10, item 1): two people relabel `train` on two git
branches; each branch sees its own v2 as `latest`, `vN`, in `status` and `history`, and a
git merge resolved by hand ("keep ours") never records the other side's rows as undone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from dslineage.errors import DirtyError, RefError
from tests.support import cli_json, invoke, md5, run, write_parquet

N = 2000
ALICE = {i: "fox" for i in range(1, 101)}
BOB = {i: "owl" for i in range(500, 601)}


def _repo(root: Path) -> Repo:
    return Repo(root)


def _git(root: Path, *args: str) -> str:
    return run(root, "git", *args).stdout


@pytest.fixture
def team(tmp_repo: Path) -> dict[str, Any]:
    """main: train v1 (2,000 cat rows); branch alice relabels 1-100 to fox, branch bob
    500-600 to owl, each committing its v2; ends on alice with alice's bytes."""
    path = write_parquet(
        tmp_repo / "data" / "train.parquet",
        {"id": list(range(1, N + 1)), "x": [i / 3 for i in range(N)], "label": ["cat"] * N},
    )
    with _repo(tmp_repo) as repo:
        repo.track(str(path), ["id"], ["label"])
        [v1] = repo.commit(["train"], "import 2000 rows", None)
    _git(tmp_repo, "checkout", "-q", "-b", "alice")
    with _repo(tmp_repo) as repo:
        a = repo.relabel("train", ALICE, by="alice", reason="foxes")
    alice_md5 = md5(path)
    _git(tmp_repo, "checkout", "-q", "main")
    with _repo(tmp_repo) as repo:  # the file still holds alice's bytes: the cache has them
        repo.checkout("train@latest")
    assert md5(path) == v1["md5"]
    _git(tmp_repo, "checkout", "-q", "-b", "bob")
    with _repo(tmp_repo) as repo:
        b = repo.relabel("train", BOB, by="bob", reason="owls")
    bob_md5 = md5(path)
    _git(tmp_repo, "checkout", "-q", "alice")
    with _repo(tmp_repo) as repo:
        repo.checkout("train@latest")
    assert md5(path) == alice_md5
    return {
        "root": tmp_repo,
        "path": path,
        "v1": v1,
        "alice": a["version"],
        "bob": b["version"],
        "alice_md5": alice_md5,
        "bob_md5": bob_md5,
    }


def _merge_keep_ours(root: Path) -> None:
    """`git merge bob` without the dslineage merge driver (switched off for this merge), conflicting
    on the .dvc file, resolved the usual way: keep ours."""
    merged = run(root, "git", "-c", "merge.dslineage.driver=false", "merge", "bob", "-m", "merge bob", check=False)
    assert merged.returncode != 0 and "train.parquet.dvc" in merged.stdout + merged.stderr
    _git(root, "checkout", "--ours", "data/train.parquet.dvc")
    _git(root, "add", "data/train.parquet.dvc")
    _git(root, "commit", "-q", "--no-edit")


def _labels(path: Path) -> dict[int, str]:
    import pyarrow.parquet as pq

    t = pq.read_table(path).to_pydict()
    return dict(zip(t["id"], t["label"]))


@pytest.mark.slow
def test_each_branch_sees_its_own_v2(team):
    """On alice: train@v2 and latest are alice's, history of row 550 has no owl, status clean."""
    root = team["root"]
    with _repo(root) as repo:
        assert repo.resolve("train@v2")["id"] == team["alice"]
        assert repo.resolve("train")["id"] == repo.resolve("train@latest")["id"] == team["alice"]
        assert repo.resolve("train@latest~1")["id"] == team["v1"]["id"]
        assert [e["change"] for e in repo.history("train", "550")["events"]] == ["added"]
        assert [e["change"] for e in repo.history("train", "50")["events"]] == ["added", "relabeled"]
        [s] = repo.status()
        assert (s["version"], s["dirty"], s["worktree_version"], s["note"]) == (2, False, None, None)
        [entry, _] = repo.log("train")
    assert entry["id"] == team["alice"] and entry["parents"] == [team["v1"]["id"]]
    log = cli_json(root, "log", "train")
    assert [e["parents"] for e in log] == [[team["v1"]["id"]], []]


@pytest.mark.slow
def test_branch_switch_then_checkout_latest_without_force(team):
    """After `git checkout bob`, `checkout train@latest` restores bob's bytes without --force;
    a genuinely edited work file is still refused."""
    root, path = team["root"], team["path"]
    _git(root, "checkout", "-q", "bob")
    with _repo(root) as repo:
        [s] = repo.status(counts=False)
        assert s["dirty"] and s["version"] == 2 and s["worktree_version"] is None
        assert "no version on this branch records" in s["note"] and "checkout train@latest" in s["note"]
        with pytest.raises(DirtyError, match="holds another version's bytes.*checkout train@latest"):
            repo.relabel("train", {3: "dog"})
        out = repo.checkout("train@latest")
        assert out["version"] == team["bob"] and out["changed"]
    assert md5(path) == team["bob_md5"]
    assert _labels(path)[550] == "owl" and _labels(path)[50] == "cat"
    with _repo(root) as repo:
        assert [e["change"] for e in repo.history("train", "550")["events"]] == ["added", "relabeled"]
        assert [e["change"] for e in repo.history("train", "50")["events"]] == ["added"]
    edited = _labels(path)
    write_parquet(
        path,
        {
            "id": list(edited),
            "x": [i / 3 for i in range(N)],
            "label": ["dog" if k == 7 else v for k, v in edited.items()],
        },
    )
    _git(root, "checkout", "-q", "alice")
    before = md5(path)
    with _repo(root) as repo, pytest.raises(DirtyError, match="uncommitted changes"):
        repo.checkout("train@latest")
    assert md5(path) == before


@pytest.mark.slow
def test_status_says_when_the_work_tree_holds_another_version(team):
    """`checkout train@v1` on alice: status names both (work tree v1, HEAD v2) and counts vs v2."""
    root = team["root"]
    with _repo(root) as repo:
        repo.checkout("train@v1")
        [s] = repo.status()
    assert (s["version"], s["worktree_version"], s["dirty"]) == (2, 1, True)
    assert "work tree holds v1, HEAD records v2" in s["note"]
    assert s["rows"] == {"added": 0, "removed": 0, "modified": 100}
    shown = invoke(root, "status")
    assert shown.exit_code == 0 and "train: work tree holds v1, HEAD records v2" in shown.stdout


@pytest.mark.slow
def test_keep_ours_merge_follows_head(team):
    """After a keep-ours git merge: latest/v2 are alice's, history shows no owl, status is
    clean, and a commit builds on alice's v2 without recording bob's rows as owl → cat."""
    root, path = team["root"], team["path"]
    _merge_keep_ours(root)
    with _repo(root) as repo:
        assert {v["id"] for v in repo.log("train")} == {team["v1"]["id"], team["alice"], team["bob"]}
        assert repo.resolve("train@v2")["id"] == repo.resolve("train@latest")["id"] == team["alice"]
        assert repo.resolve(f"train@{team['bob'][:12]}")["id"] == team["bob"]
        assert [e["change"] for e in repo.history("train", "550")["events"]] == ["added"]
        blamed = repo.blame("train")
        assert blamed["by_version"] == {"v1": N - 100, "v2": 100} and "bob" not in blamed["by_author"]
        [s] = repo.status()
        assert (s["version"], s["dirty"], s["rows"]["modified"]) == (2, False, 0)
        assert repo.commit(["train"], "after the merge", None) == []
        repo.relabel("train", {700: "dog"}, by="carol", commit=False)
        [v3] = repo.commit(["train"], "one more", None)
    assert (v3["seq"], v3["parent"], v3["parents"]) == (3, team["alice"], [team["alice"]])
    assert v3["relabeled"] == 1 and v3["added"] == v3["removed"] == v3["modified"] == 0
    changes = _change_rows(root, v3["id"])
    assert [(r["k0"], r["o0"], r["n0"]) for r in changes] == [(700, "cat", "dog")]
    labels = _labels(path)
    assert labels[50] == "fox" and labels[550] == "cat" and labels[700] == "dog"
    assert run(root, "git", "status", "--porcelain").stdout == ""


def _change_rows(root: Path, vid: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    [rec] = [
        json.loads(p.read_text())
        for p in (root / ".dslineage" / "journal").glob("*-version-*.json")
        if json.loads(p.read_text())["id"] == vid
    ]
    return pq.read_table(root / ".dslineage" / "journal" / rec["changes"]["file"]).to_pylist()


@pytest.mark.slow
def test_unreachable_versions_sharing_a_number_are_ambiguous(team):
    """With HEAD back at v1 after the merge, neither v2 is reachable: `train@v2` lists both."""
    root = team["root"]
    _merge_keep_ours(root)
    _git(root, "checkout", "main", "--", "data/train.parquet.dvc")
    _git(root, "commit", "-q", "-m", "back to v1")
    with _repo(root) as repo:
        assert repo.resolve("train@latest")["id"] == team["v1"]["id"]
        with pytest.raises(RefError, match="ambiguous") as err:
            repo.resolve("train@v2")
    assert team["alice"][:10] in str(err.value) and team["bob"][:10] in str(err.value)


@pytest.mark.slow
def test_fsck_reports_unrecorded_head_md5_and_missing_parent(team):
    """fsck warns about a HEAD .dvc md5 no version has, and errors on a version whose
    parent (any of `parents`) is not in the journal."""
    root, path = team["root"], team["path"]
    with _repo(root) as repo:
        assert repo.fsck()["ok"]
    edited = _labels(path)
    write_parquet(
        path,
        {
            "id": list(edited),
            "x": [i / 3 for i in range(N)],
            "label": ["dog" if k == 9 else v for k, v in edited.items()],
        },
    )
    run(root, "dvc", "add", "-q", "data/train.parquet")
    _git(root, "commit", "-q", "-m", "dvc add outside dslineage", "--", "data/train.parquet.dvc")
    with _repo(root) as repo:
        problems = repo.fsck()["problems"]
    [head] = [p for p in problems if "HEAD's" in p["message"]]
    assert head["severity"] == "warning" and "dslineage commit train" in head["fix"]
    assert "dslineage merge" in head["fix"]
    folder = root / ".dslineage" / "journal"
    [rec_path] = [p for p in folder.glob("*-version-*.json") if json.loads(p.read_text())["id"] == team["alice"]]
    rec = json.loads(rec_path.read_text())
    rec["parents"] = [rec["parent"], "f" * 40]
    rec_path.write_text(json.dumps(rec))
    with _repo(root) as repo:
        problems = repo.fsck()["problems"]
    assert any("parent ffffffffff" in p["message"] and p["severity"] == "error" for p in problems)


@pytest.mark.slow
def test_a_merge_version_counts_each_change_once(team):
    """A merge version (parents [alice's v2, bob's v2], change set against alice's): history
    of an owl row shows the merge's event once, not bob's as well; vN and ~N follow first
    parents; lineage shows both parent edges."""
    from dslineage.ops.commit import snapshot

    root, path = team["root"], team["path"]
    _merge_keep_ours(root)
    merged = {k: ("owl" if k in BOB else v) for k, v in _labels(path).items()}
    write_parquet(path, {"id": list(merged), "x": [i / 3 for i in range(N)], "label": list(merged.values())})
    with _repo(root) as repo:
        [v3] = snapshot(
            repo, [repo.dataset("train")], "merge bob", None, extra={"train": {"parents": [team["alice"], team["bob"]]}}
        )
    assert (v3["seq"], v3["parent"], v3["parents"]) == (3, team["alice"], [team["alice"], team["bob"]])
    with _repo(root) as repo:
        assert repo.resolve("train")["id"] == v3["id"]
        assert repo.resolve("train@v2")["id"] == repo.resolve("train@latest~1")["id"] == team["alice"]
        owl = repo.history("train", "550")["events"]
        assert [(e["change"], e["seq"], e["version"]) for e in owl][1:] == [("relabeled", 3, v3["id"])]
        fox = repo.history("train", "50")["events"]
        assert [(e["change"], e["version"]) for e in fox][1:] == [("relabeled", team["alice"])]
        [s] = repo.status()
        assert (s["version"], s["dirty"]) == (3, False)
        graph = repo.lineage("train@v3", direction="upstream", depth=1)
    parents = {e["from"] for e in graph["edges"] if e["kind"] == "parent" and e["to"] == v3["id"]}
    assert parents == {team["alice"], team["bob"]}
    assert cli_json(root, "log", "train")[0]["parents"] == [team["alice"], team["bob"]]
