"""revert and rollback: undo one batch or version (conflicts kept or forced, rows gone skipped),
the original bytes come back when nothing else changed; rollback keeps history."""

from __future__ import annotations

from pathlib import Path

import pytest

from dslineage import Repo
from dslineage.errors import EditError
from tests.support import cli_json, md5, new_repo, refused, snapshot_state, write_parquet
from tests.support.labels import add_dataset, labels_of


@pytest.fixture(scope="module")
def lab(module_env: Path) -> Path:
    """One repository shared by this module's tests; each test adds its own datasets."""
    return new_repo(module_env / "lab")


@pytest.mark.slow
def test_revert_restores_labels_and_the_original_md5(lab: Path) -> None:
    """revert(relabel(x)) gives back x's labels and its exact bytes; both batches say so."""
    path = add_dataset(lab, "undo")
    original, v1 = labels_of(path), md5(path)
    with Repo(lab) as repo:
        b = repo.relabel("undo", {1: "cat", 2: "dog", 5: "bird"}, reason="oops")
        assert labels_of(path) != original
        r = repo.revert(b["batch"][:8])
        assert (r["reverted"], r["restored"], r["conflicts"], r["skipped"]) == (b["batch"], 2, 0, 0)
        assert labels_of(path) == original and md5(path) == v1
        assert r["same_md5_as"] == repo.log("undo")[-1]["id"] and r["seq"] == 3
        done = {x["id"]: x for x in repo.batches("undo")}
        assert done[b["batch"]]["reverted_by"] == r["batch"] and done[r["batch"]]["reverts"] == b["batch"]
        with pytest.raises(EditError, match="already reverted by batch"):
            repo.revert(b["batch"])
        again = repo.revert(r["batch"])  # reverting the revert re-applies the batch
        assert again["restored"] == 2 and labels_of(path)[1] == "cat"
        assert not {x["id"]: x for x in repo.batches("undo")}[b["batch"]]["reverted"]


@pytest.mark.slow
def test_conflicts_are_kept_or_forced_and_gone_rows_skipped(lab: Path) -> None:
    """Rows relabeled after the batch are conflicts (keep: listed, untouched); removed rows are skipped."""
    path = add_dataset(lab, "conf")
    with Repo(lab) as repo:
        b1 = repo.relabel("conf", {0: "dog", 1: "cat", 2: "cat", 3: "dog"}, by="alice")
        repo.relabel("conf", {1: "bird", 2: "dog"}, by="bob")
        t = labels_of(path)
        del t[3]
        write_parquet(path, {"id": list(t), "x": [i / 2 for i in t], "label": list(t.values())})
        repo.commit(["conf"], "drop row 3", None)
        before = snapshot_state(lab)
        plan = repo.revert(b1["batch"], dry_run=True)
        assert snapshot_state(lab) == before and plan["version"] is None
        assert (plan["restored"], plan["conflicts"], plan["skipped"]) == (1, 2, 1)
        assert plan["conflict_keys"] == [{"id": 1}, {"id": 2}] and plan["skipped_keys"] == [{"id": 3}]
        kept = repo.revert(b1["batch"])
        assert (kept["restored"], kept["conflicts"]) == (1, 2)
        assert labels_of(path) == {**t, 0: "cat"}
        repo.revert(kept["batch"])  # back to the state before the revert
        forced = repo.revert(b1["batch"], strategy="force")
        assert (forced["restored"], forced["conflicts"]) == (3, 2)
        assert [labels_of(path)[k] for k in (0, 1, 2)] == ["cat", "dog", "bird"]


@pytest.mark.slow
def test_revert_a_version_by_reference(lab: Path) -> None:
    """A hand-edited version is reverted through NAME@REF: its label changes undone, other rows kept."""
    path = add_dataset(lab, "byver")
    v1 = md5(path)
    t = labels_of(path)
    write_parquet(path, {"id": list(t), "x": [i / 2 for i in t], "label": ["cat" if i < 4 else t[i] for i in t]})
    with Repo(lab) as repo:
        repo.commit(["byver"], "hand edit", None)
        r = cli_json(lab, "revert", "byver@v2", "--json")
        assert set(r) >= {"reverted", "version", "restored", "conflicts", "conflict_keys", "skipped"}
        assert (r["kind"], r["restored"], r["conflicts"]) == ("version", 2, 0)
        assert md5(path) == v1
        with pytest.raises(EditError, match="already reverted"):
            repo.revert("byver@v2")
        with pytest.raises(EditError, match="first version"):
            repo.revert("byver@v1")


def test_revert_dry_run_cli_reports_the_plan_and_changes_nothing(lab: Path) -> None:
    """`revert --dry-run --json`: the contract keys, "version": null, nothing written."""
    add_dataset(lab, "dry")
    with Repo(lab) as repo:
        b = repo.relabel("dry", {1: "cat"})
    before = snapshot_state(lab)
    plan = cli_json(lab, "revert", b["batch"][:10], "--dry-run")
    assert snapshot_state(lab) == before
    assert plan["version"] is None and plan["restored"] == 1 and plan["conflict_keys"] == []
    refused(lab, "revert", b["batch"][:10], "--strategy", "maybe", match="keep or force", code=2)


@pytest.mark.slow
def test_rollback_makes_a_version_identical_to_the_target(lab: Path) -> None:
    """rollback --to v1: a new version with v1's md5; the versions in between stay in the log."""
    path = add_dataset(lab, "roll")
    with Repo(lab) as repo:
        repo.relabel("roll", {1: "cat"})
        repo.relabel("roll", {2: "dog"})
        v1 = repo.log("roll")[-1]
        r = repo.rollback("roll", "v1", "back to the audited labels")
        log = repo.log("roll")
        assert (r["seq"], r["md5"], len(log)) == (4, v1["md5"], 4) and md5(path) == v1["md5"]
        assert log[0]["md5"] == v1["md5"] and [x["seq"] for x in log] == [4, 3, 2, 1]
        assert repo.rollback("roll", "v1", "again")["version"] is None  # already identical
        d = repo.diff("roll@v3", "roll@v4")
        assert d["rows"]["relabeled"] == 2
    write_parquet(path, {"id": [0], "x": [0.0], "label": ["cat"]})
    refused(lab, "rollback", "roll", "--to", "v2", "-m", "x", match="uncommitted changes")
    with Repo(lab) as repo:
        r = repo.rollback("roll", "v2", "discard the scratch edit", force=True)
        assert md5(path) == repo.log("roll")[-2]["md5"] == r["md5"] and r["seq"] == 5
