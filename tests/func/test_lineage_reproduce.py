"""`dslineage reproduce`: verified materialization, a teammate's fresh clone with a local DVC
remote, and `--rerun` in a temporary git worktree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dslineage import Repo, dvcio
from tests.support import head, run, write_parquet
from tests.support.lineage import cli, raw_data, snapshot


def cache_objects(root: Path) -> set[str]:
    """md5s of the file objects in a repository's DVC cache."""
    base = root / ".dvc" / "cache" / "files" / "md5"
    return {p.parent.name + p.name for p in base.glob("*/*")} if base.exists() else set()


def test_into_a_directory_verifies_each_file(pipeline, tmp_path):
    """reproduce --into DIR writes each dataset version at its path and verifies its md5."""
    with Repo(pipeline) as repo:
        e = repo.exp_record("base")
        write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={0: "zebra"}))
        repo.commit(["raw"], "later edit", None)
    r = cli(pipeline, "reproduce", "base", "--into", str(tmp_path / "out"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["experiment"] == "base" and out["rerun"] is None
    for d in out["datasets"]:
        assert d["verified"] and d["fetched"] is False
        assert dvcio.file_md5(Path(d["path"])) == d["md5"]
    raw = next(d for d in out["datasets"] if d["name"] == "raw")
    assert raw["md5"] == next(x["md5"] for x in e["datasets"] if x["name"] == "raw")
    r = cli(pipeline, "reproduce", "base", "--into", str(tmp_path / "out"))
    assert r.exit_code == 1 and "is not empty" in r.stderr and "--force" in r.stderr
    assert cli(pipeline, "reproduce", "base", "--into", str(tmp_path / "out"), "--force").exit_code == 0


@pytest.mark.slow
def test_into_the_working_tree_refuses_uncommitted_work(pipeline):
    """Default target is the working tree: uncommitted edits are refused, committed ones restored."""
    with Repo(pipeline) as repo:
        e = repo.exp_record("base")
    write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={5: "zebra"}))
    before = snapshot(pipeline)
    r = cli(pipeline, "reproduce", "base")
    assert r.exit_code == 1 and "has uncommitted changes" in r.stderr
    assert snapshot(pipeline) == before
    r = cli(pipeline, "reproduce", "base", "--force")
    assert r.exit_code == 0, r.output
    raw = next(x for x in e["datasets"] if x["name"] == "raw")
    assert dvcio.file_md5(pipeline / "data" / "raw.parquet") == raw["md5"]
    assert "up to date" in run(pipeline, "dvc", "status").stdout


@pytest.mark.slow
def test_fresh_clone_pulls_exactly_what_it_needs(pipeline, tmp_path):
    """A teammate's clone with a local-directory DVC remote: reproduce fetches exactly the
    experiment's objects; without a remote the error names the object and the fix."""
    remote = tmp_path / "remote"
    run(pipeline, "dvc", "remote", "add", "-d", "shared", str(remote))
    run(pipeline, "git", "commit", "-q", "-m", "remote", ".dvc/config")
    with Repo(pipeline) as repo:
        write_parquet(pipeline / "data" / "raw.parquet", raw_data(relabel={0: "zebra"}))
        repo.commit(["raw"], "raw v2 (not used by the experiment)", None)
        e = repo.exp_record("base", data=["raw@v1", "clean@v1"])
    assert run(pipeline, "dvc", "push", "-A").returncode == 0
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(pipeline), str(clone))
    assert cache_objects(clone) == set()
    r = cli(clone, "reproduce", "base", "--into", str(tmp_path / "mine"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["datasets"]) == len(e["datasets"]) == 2  # `all` below holds for an empty list too
    assert all(d["verified"] and d["fetched"] for d in out["datasets"])
    assert cache_objects(clone) == {d["md5"] for d in e["datasets"]}
    bare = tmp_path / "bare"
    run(tmp_path, "git", "clone", "-q", str(pipeline), str(bare))
    (bare / ".dvc" / "config").write_text("")
    r = cli(bare, "reproduce", "base", "--into", str(tmp_path / "nothing"))
    assert r.exit_code == 1 and "DVC cache object" in r.stderr and "dvc remote add" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_rerun_is_byte_identical_then_reports_row_level_differences(pipeline, monkeypatch):
    """--rerun in a temporary worktree: identical outputs say so; a run that relabels rows
    differs, with the row-level diff of the dataset output; the worktree is removed."""
    with Repo(pipeline) as repo:
        repo.exp_record("base")
    r = cli(pipeline, "reproduce", "base", "--into", str(pipeline.parent / "o1"), "--rerun", "--json")
    assert r.exit_code == 0, r.output
    rr = json.loads(r.stdout)["rerun"]
    assert rr["identical"] and rr["outputs_checked"] == 1 and rr["stages_run"] == ["prep"]
    monkeypatch.setenv("DSL_TEST_SHIFT", "7")  # the stage now relabels ids 5 and 6
    r = cli(pipeline, "reproduce", "base", "--into", str(pipeline.parent / "o2"), "--rerun", "--json")
    assert r.exit_code == 1
    [diff] = json.loads(r.stdout)["rerun"]["differences"]
    assert (diff["stage"], diff["path"], diff["dataset"]) == ("prep", "data/clean.parquet", "clean")
    assert diff["rows"]["relabeled"] == 2 and diff["rows"]["added"] == 0
    assert run(pipeline, "git", "worktree", "list").stdout.count("\n") == 1
    assert run(pipeline, "git", "status", "--porcelain").stdout == "" and head(pipeline)
