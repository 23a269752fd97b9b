"""cherry-pick BATCH and relabel --expect-old on real git repositories: a teammate's batch from a
branch that was never merged, a reverted batch re-applied, conflicts kept / forced / previewed,
and stale replays refused with nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dslineage import Repo
from dslineage.errors import RefError
from tests.support import cli_json, invoke, md5, new_repo, refused, run, snapshot_state, write_parquet, write_text
from tests.support.reliability import copy_repo

ANIMALS = ["cat", "dog", "bird"]
BOB_ROWS = {1: "owl", 2: "owl", 4: "owl", 10: "owl"}
CONTRACT = {"batch", "source_batch", "version", "applied", "conflicts", "conflict_keys"}


def labels_of(path: Path) -> dict[Any, Any]:
    """id → label of a parquet dataset file."""
    t = pq.read_table(path)
    return dict(zip(t.column("id").to_pylist(), t.column("label").to_pylist()))


def switch(root: Path, branch: str, *, create: bool = False) -> None:
    """`git checkout [-b] BRANCH` then `dvc checkout`, as a user switching branches would."""
    run(root, "git", "checkout", "-q", *(["-b"] if create else []), branch)
    run(root, "dvc", "checkout", "-q")


@pytest.fixture(scope="module")
def team(module_env: Path) -> dict[str, Any]:
    """main: `t` v1 (30 rows); branch bob: one batch (rows 1, 2, 4, 10 → owl, per-row annotator
    and confidence on row 1); branch alice from main, checked out, never merged with bob."""
    root = new_repo(module_env / "team")
    path = write_parquet(
        root / "data" / "t.parquet",
        {"id": list(range(30)), "x": [i / 2 for i in range(30)], "label": [ANIMALS[i % 3] for i in range(30)]},
    )
    with Repo(root) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["t"], "v1", None)
    switch(root, "bob", create=True)
    edits = write_text(
        module_env / "bob.csv",
        "id,label,annotator,confidence\n1,owl,bob-helper,0.7\n"
        + "".join(f"{k},{v},," + "\n" for k, v in BOB_ROWS.items() if k != 1),
    )
    with Repo(root) as repo:
        bob = repo.relabel("t", from_file=str(edits), by="bob", reason="owls seen")
    switch(root, "main")
    switch(root, "alice", create=True)
    return {"root": root, "bob": bob["batch"], "v1": labels_of(path)}


@pytest.fixture
def alice(team: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the team repository, on branch alice."""
    root = copy_repo(team["root"], tmp_path / "repo")
    return {**team, "root": root, "path": root / "data" / "t.parquet"}


@pytest.mark.slow
def test_batch_of_an_unmerged_branch_gives_bobs_labels_and_provenance(alice: dict[str, Any]) -> None:
    """Bob's batch applied on alice (who never merged bob): exactly bob's labels on his rows, his
    annotator/reason/confidence in history and blame, a new batch linked to the source, one commit."""
    root, path = alice["root"], alice["path"]
    head_before = run(root, "git", "rev-parse", "HEAD").stdout.strip()
    with Repo(root) as repo:
        assert bob_missing(repo, alice["bob"])
        r = repo.cherry_pick(alice["bob"][:8])
        assert (r["source_batch"], r["applied"], r["conflicts"], r["conflict_keys"]) == (alice["bob"], 4, 0, [])
        assert labels_of(path) == {**alice["v1"], **BOB_ROWS}
        rec = repo.batch(r["batch"])
        assert rec["source_batch"] == alice["bob"] and rec["op"] == "cherry-pick" and rec["state"] == "committed"
        assert rec["version"] == r["version"]
        by_key = {e["key"]["id"]: e for e in rec["edits"]}
        assert by_key[1]["annotator"] == "bob-helper" and by_key[1]["confidence"] == pytest.approx(0.7)
        assert by_key[4]["annotator"] == "bob" and by_key[4]["reason"] == "owls seen"
        event = repo.history("t", [4])["events"][-1]
        assert (event["batch"], event["annotator"], event["reason"]) == (r["batch"], "bob", "owls seen")
        assert repo.history("t", [1])["events"][-1]["annotator"] == "bob-helper"
        blame = {row["id"]: row for row in repo.blame("t")["table"].to_pylist()}
        assert blame[10]["author"] == "bob" and blame[10]["batch"] == r["batch"]
        assert blame[1]["author"] == "bob-helper" and blame[0]["batch"] is None
    assert run(root, "git", "rev-parse", "--abbrev-ref", "HEAD").stdout.strip() == "alice"
    assert run(root, "git", "rev-list", "--count", f"{head_before}..HEAD").stdout.strip() == "1"
    merged = run(root, "git", "merge-base", "--is-ancestor", "bob", "HEAD", check=False)
    assert merged.returncode == 1  # alice still never merged bob
    assert run(root, "git", "status", "--porcelain").stdout == ""


def bob_missing(repo: Repo, batch: str) -> bool:
    """Bob's batch is not in alice's journal (only in git, on branch bob)."""
    return all(b["id"] != batch for b in repo.batches())


@pytest.mark.slow
def test_reverted_batch_is_reapplied_with_the_same_bytes(alice: dict[str, Any]) -> None:
    """A batch of this branch that was reverted comes back with cherry-pick: same labels, same md5."""
    root, path = alice["root"], alice["path"]
    with Repo(root) as repo:
        b = repo.relabel("t", {5: "fox", 6: "fox"}, by="alice", reason="foxes")
        applied_md5 = md5(path)
        repo.revert(b["batch"])
        assert labels_of(path) == alice["v1"]
        r = repo.cherry_pick(b["batch"], by="carol")
        assert (r["applied"], r["conflicts"], r["source_batch"]) == (2, 0, b["batch"])
        assert labels_of(path) == {**alice["v1"], 5: "fox", 6: "fox"} and md5(path) == applied_md5
        event = repo.history("t", [5])["events"][-1]
        assert (event["batch"], event["annotator"], event["reason"]) == (r["batch"], "alice", "foxes")
        entry = {x["id"]: x for x in repo.batches("t")}[r["batch"]]
        assert (entry["author"], entry["source_batch"], entry["op"]) == ("carol", b["batch"], "cherry-pick")
    listed = {x["id"]: x for x in cli_json(root, "batches", "t")}
    assert listed[r["batch"]]["source_batch"] == b["batch"] and listed[b["batch"]]["source_batch"] is None
    with Repo(root) as repo:
        again = repo.cherry_pick(b["batch"])  # already applied: every row is settled, nothing to do
        assert (again["applied"], again["conflicts"], again["version"], again["settled"]) == (0, 0, None, 2)


@pytest.mark.slow
def test_conflicts_are_listed_kept_previewed_or_forced(alice: dict[str, Any]) -> None:
    """Alice changed one of bob's rows: a conflict. --dry-run changes nothing; keep leaves her label
    and applies the rest; --force then overwrites it; --json has exactly the contract's keys."""
    root, path = alice["root"], alice["path"]
    with Repo(root) as repo:
        repo.relabel("t", {4: "fox", 7: "fox"}, by="alice")
    before = snapshot_state(root)
    plan = cli_json(root, "cherry-pick", alice["bob"][:10], "--dry-run")
    assert snapshot_state(root) == before
    assert set(plan) == CONTRACT and plan["batch"] is None and plan["version"] is None
    assert (plan["applied"], plan["conflicts"], plan["conflict_keys"]) == (3, 1, [{"id": 4}])
    shown = invoke(root, "cherry-pick", alice["bob"][:10], "--dry-run")
    assert shown.exit_code == 0 and "would apply 3" in shown.stdout and "fox" in shown.stdout
    assert snapshot_state(root) == before
    kept = cli_json(root, "cherry-pick", alice["bob"][:10])
    assert set(kept) == CONTRACT and kept["source_batch"] == alice["bob"]
    assert (kept["applied"], kept["conflicts"], kept["conflict_keys"]) == (3, 1, [{"id": 4}])
    assert labels_of(path) == {**alice["v1"], **BOB_ROWS, 4: "fox", 7: "fox"}
    with Repo(root) as repo:
        rec = repo.batch(kept["batch"])
        assert rec["conflicts"] == 1 and rec["conflict_keys"] == [{"id": 4}] and rec["strategy"] == "keep"
    forced = cli_json(root, "cherry-pick", alice["bob"][:10], "--force")
    assert (forced["applied"], forced["conflicts"], forced["conflict_keys"]) == (1, 1, [{"id": 4}])
    assert labels_of(path) == {**alice["v1"], **BOB_ROWS, 7: "fox"}
    with Repo(root) as repo:
        event = repo.history("t", [4])["events"][-1]
        assert (event["labels"]["label"], event["annotator"], event["batch"]) == ("owl", "bob", forced["batch"])


def test_a_dirty_work_file_is_refused(alice: dict[str, Any]) -> None:
    """Uncommitted edits in the dataset file: refused with one line naming the fix, nothing changed."""
    root, path = alice["root"], alice["path"]
    labels = {**alice["v1"], 0: "zebra"}
    write_parquet(path, {"id": list(labels), "x": [i / 2 for i in labels], "label": list(labels.values())})
    refused(root, "cherry-pick", alice["bob"][:8], match="uncommitted changes")


def test_unknown_or_malformed_batch_is_a_one_line_error(alice: dict[str, Any]) -> None:
    """An id no journal and no git ref holds, or not an id at all: one line, exit 1, nothing changed."""
    root = alice["root"]
    refused(alice["root"], "cherry-pick", "deadbeef", match="unknown batch 'deadbeef'")
    refused(root, "cherry-pick", "not-an-id", match="unknown batch")
    with Repo(root) as repo, pytest.raises(RefError, match="in neither this branch's journal nor any git ref"):
        repo.cherry_pick("deadbeef")


def test_ambiguous_or_incomplete_batch_in_git_is_a_one_line_error(alice: dict[str, Any], tmp_path: Path) -> None:
    """Two batch records in another ref share the prefix: ambiguous, both listed; one without its
    edits file in git: refused; nothing changed either time (the ref is made without a checkout)."""
    root = alice["root"]
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "forged.index")}

    def git(*args: str, stdin: str | None = None) -> str:
        """Run git plumbing on a private index (the work tree and its index stay untouched)."""
        return subprocess.run(
            ["git", *args], cwd=root, env=env, input=stdin, capture_output=True, text=True, check=True
        ).stdout.strip()

    for digit in "12":
        rec = {
            "kind": "batch",
            "id": "abcd" + digit * 36,
            "dataset": "t",
            "column": "label",
            "keys": ["id"],
            "timestamp": f"2026-01-0{digit}T00:00:00.000000+00:00",
            "edits": f"abcd{digit * 8}.edits.parquet",
        }
        blob = git("hash-object", "-w", "--stdin", stdin=json.dumps(rec))
        name = f".dslineage/journal/2026010{digit}T000000000000-batch-abcd{digit * 8}.json"
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
    commit = git("commit-tree", git("write-tree"), "-m", "forged batches")
    git("update-ref", "refs/heads/forged", commit)
    err = refused(root, "cherry-pick", "abcd", match="ambiguous batch 'abcd'")
    assert "abcd11111111" in err and "abcd22222222" in err
    refused(root, "cherry-pick", "abcd2", match="has no edits file")


# -- relabel --expect-old: the "overlapping edits: 51 rows lost" -------------------------


@pytest.fixture
def overlap(tmp_path: Path) -> dict[str, Any]:
    """`o` v1 (200 rows); a replay file for rows 0–99 exported against v1 (with each row's old
    label); then another batch relabelled rows 49–149 — 51 of them overlap the replay."""
    root = new_repo(tmp_path / "repo")
    n = 200
    v1 = {i: ANIMALS[i % 3] for i in range(n)}
    path = write_parquet(
        root / "data" / "o.parquet", {"id": list(v1), "x": [i / 2 for i in v1], "label": list(v1.values())}
    )
    with Repo(root) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["o"], "v1", None)
        repo.relabel("o", {i: "owl" for i in range(49, 150)}, by="bob", reason="owls")
    replay = write_text(
        tmp_path / "replay.csv", "id,label,old_label\n" + "".join(f"{i},fox,{v1[i]}\n" for i in range(100))
    )
    plain = write_text(tmp_path / "plain.csv", "id,label\n" + "".join(f"{i},fox\n" for i in range(100)))
    return {"root": root, "path": path, "replay": replay, "plain": plain, "v1": v1}


@pytest.mark.slow
def test_expect_old_refuses_a_replay_over_rows_another_batch_changed(overlap: dict[str, Any]) -> None:
    """The replay would overwrite bob's 51 overlapping rows: refused whole, counted, keys listed,
    nothing changed — with --expect-old and also whenever the file has an old column."""
    root = overlap["root"]
    err = refused(root, "relabel", "o", "--from", str(overlap["replay"]), "--expect-old", match="51 row(s)")
    assert "49: now owl, expected" in err and "old label" in err
    refused(root, "relabel", "o", "--from", str(overlap["replay"]), match="51 row(s)")
    old_only = write_text(overlap["replay"].with_name("old.csv"), "id,label,old\n49,fox,cat\n")
    refused(root, "relabel", "o", "--from", str(old_only), match="1 row(s)")


def test_expect_old_needs_an_old_column_and_a_file(overlap: dict[str, Any]) -> None:
    """--expect-old with a file lacking the old column, or with --set: refused, nothing changed."""
    root = overlap["root"]
    refused(root, "relabel", "o", "--from", str(overlap["plain"]), "--expect-old", match="old_label")
    refused(root, "relabel", "o", "--set", "1=fox", "--expect-old", match="--expect-old", code=2)


@pytest.mark.slow
def test_expect_old_applies_when_every_old_label_matches(overlap: dict[str, Any]) -> None:
    """A replay whose old labels are all current applies normally; the plain file still overwrites."""
    root, path, v1 = overlap["root"], overlap["path"], overlap["v1"]
    fresh = write_text(
        overlap["replay"].with_name("fresh.csv"),
        "id,label,old_label\n" + "".join(f"{i},fox,{v1[i]}\n" for i in range(49)) + "60,fox,owl\n",
    )
    out = cli_json(root, "relabel", "o", "--from", str(fresh), "--expect-old")
    assert out["applied"] == 50
    assert labels_of(path)[60] == "fox" and labels_of(path)[61] == "owl"
    with Repo(root) as repo:
        r = repo.relabel("o", from_file=str(overlap["plain"]), by="carol")
    assert r["applied"] == 50  # no old column, no check: rows 49–99 but 60 (already fox) overwritten


# -- property: cherry-pick against a brute-force model ------------------------------------------

N = 16
LETTERS = ["a", "b", "c", "d"]
EDITS = st.dictionaries(st.integers(0, N - 1), st.sampled_from(LETTERS), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def prop_repo(module_env: Path) -> Path:
    """A repo with dataset `p` (16 rows, labels a-d) committed as v1."""
    root = new_repo(module_env / "props")
    path = write_parquet(
        root / "data" / "p.parquet", {"id": list(range(N)), "label": [LETTERS[i % 4] for i in range(N)]}
    )
    with Repo(root) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(None, "v1", None)
    return root


@pytest.mark.slow
@settings(max_examples=6, deadline=None, database=None)
@given(first=EDITS, later=EDITS, force=st.booleans())
def test_cherry_pick_matches_a_brute_force_model(
    prop_repo: Path, first: dict[int, str], later: dict[int, str], force: bool
) -> None:
    """Batch, revert, another batch, cherry-pick the first: a row with the batch's old label gets
    its new one, a row with its new one is settled, any other is a conflict (kept, or forced)."""
    path = prop_repo / "data" / "p.parquet"
    with Repo(prop_repo) as repo:
        b = repo.relabel("p", first)
        if b["batch"] is None:
            return
        edits = {e["key"]["id"]: (e["old"], e["new"]) for e in repo.batch(b["batch"])["edits"]}
        repo.revert(b["batch"])
        repo.relabel("p", later)
        now = labels_of(path)
        r = repo.cherry_pick(b["batch"], force=force)
    clash = sorted(k for k, (old, new) in edits.items() if now[k] not in (old, new))
    todo = [k for k, (old, _) in edits.items() if now[k] == old or (force and k in clash)]
    assert [c["id"] for c in r["conflict_keys"]] == clash and r["conflicts"] == len(clash)
    assert r["applied"] == len(todo)
    assert labels_of(path) == {**now, **{k: edits[k][1] for k in todo}}
