"""The transaction protocol itself: ordinary failures roll back in-process, big uncommitted
files are restored from their hard-link backup, recovery is idempotent, one commit point."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dslineage import Repo, recovery, txn
from tests.support import head, invoke, md5, snapshot_state, write_parquet
from tests.support.reliability import base_repo, copy_repo, data, dslineage


@pytest.fixture(scope="module")
def template(module_env: Path) -> Path:
    """`d` committed as v1 and v2."""
    return base_repo(module_env / "tpl", versions=2)


@pytest.fixture
def repo_copy(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template."""
    return copy_repo(template, tmp_path / "repo")


@pytest.mark.slow
def test_failed_git_commit_rolls_everything_back(repo_copy: Path):
    """git refuses to commit (a stale index.lock): one line, exit 1, nothing changed, no intent."""
    write_parquet(repo_copy / "data" / "d.parquet", data(relabel={9: "dog"}))
    before = snapshot_state(repo_copy)
    (repo_copy / ".git" / "index.lock").touch()
    result = invoke(repo_copy, "commit", "-m", "blocked")
    (repo_copy / ".git" / "index.lock").unlink()
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "git" in result.stderr
    assert snapshot_state(repo_copy) == before
    assert not (repo_copy / txn.INTENT).exists()
    assert invoke(repo_copy, "commit", "-m", "now").exit_code == 0


def test_big_uncommitted_file_restored_from_its_hard_link(repo_copy: Path):
    """`checkout --force` over 2 MB of uncommitted bytes, killed after DVC replaced the file:
    the next command puts those exact bytes back (they were in no cache: a hard link kept them)."""
    path = repo_copy / "data" / "d.parquet"
    big = data(n=120_000)
    write_parquet(path, big)
    assert path.stat().st_size > txn.INLINE_LIMIT
    wanted = md5(path)
    killed = dslineage(repo_copy, "checkout", "d@v1", "--force", env={"DSLINEAGE_FAULT": "checkout:after-dvc-checkout"})
    assert killed.returncode == -9 and md5(path) != wanted
    with Repo(repo_copy) as repo:
        repo.status()
        assert repo.recovered and repo.recovered[0]["action"] == "rolled back"
    assert md5(path) == wanted
    assert not any((repo_copy / txn.TXN_DIR).iterdir())


def test_recovery_is_idempotent(repo_copy: Path):
    """A recovery cut short (one file already restored, the created ones still there) is
    simply run again by the next command, and ends in the same state."""
    write_parquet(repo_copy / "data" / "d.parquet", data(relabel={4: "fish"}))
    before = snapshot_state(repo_copy)
    killed = dslineage(repo_copy, "commit", "-m", "x", env={"DSLINEAGE_FAULT": "commit:after-git-add"})
    assert killed.returncode == -9
    state = txn.pending(repo_copy)
    assert state is not None and state["op"] == "commit" and state["commit_paths"]
    rel, rec = next(iter(state["files"].items()))
    recovery._restore(repo_copy, rel, rec, repo_copy / txn.TXN_DIR / state["id"])  # the first attempt
    with Repo(repo_copy) as repo:
        repo.status()  # the next command recovers over what the first attempt did
        assert repo.recovered[0]["action"] == "rolled back"
    assert snapshot_state(repo_copy) == before


def test_one_commit_point_per_transaction(repo_copy: Path):
    """A second commit inside one transaction is a programming error, and is rolled back."""
    with Repo(repo_copy) as repo, pytest.raises(RuntimeError, match="one commit point"):
        with txn.begin(repo.root, repo.git, "test") as t:
            (repo.root / "a.txt").write_text("a")
            t.create("a.txt")
            t.commit(["a.txt"], "first")
            t.commit(["a.txt"], "second")
    assert (repo_copy / "a.txt").exists()  # the first commit stands: the operation completed
    assert not (repo_copy / txn.INTENT).exists()


def test_exception_before_commit_restores_files(repo_copy: Path):
    """An exception inside a transaction puts recorded files back and deletes created ones."""
    reg = repo_copy / ".dslineage" / "datasets" / "d.yaml"
    original, start = reg.read_bytes(), head(repo_copy)
    with Repo(repo_copy) as repo, pytest.raises(KeyError):
        with txn.begin(repo.root, repo.git, "test") as t:
            t.backup(reg)
            reg.write_text("damaged")
            t.create("new.txt")
            (repo_copy / "new.txt").write_text("x")
            os.replace(repo_copy / "new.txt", repo_copy / "new.txt")
            raise KeyError("boom")
    assert reg.read_bytes() == original and not (repo_copy / "new.txt").exists()
    assert head(repo_copy) == start
