"""Concurrency with real processes: writers queue on the repository lock (or give up with
one line after --wait-for-lock seconds), readers never see a half-written state, and many
parallel relabels of disjoint rows all land."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dslineage import Repo
from dslineage.lock import RepoLock
from tests.support import head, run, snapshot_state, write_parquet
from tests.support.reliability import base_repo, copy_repo, data, fork_map

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out


@pytest.fixture(scope="module")
def template(module_env: Path) -> Path:
    """`d` committed as v1 (module-wide; each test works on a copy)."""
    return base_repo(module_env / "tpl")


@pytest.fixture
def repo_copy(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template."""
    return copy_repo(template, tmp_path / "repo")


@contextmanager
def held_lock(root: Path) -> Iterator[None]:
    """Hold the repository lock from this (test) process, as another command would."""
    fd = os.open(root / ".dslineage" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def start(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m dslineage ARGS` in `root` without waiting."""
    return subprocess.Popen(
        [sys.executable, "-m", "dslineage", *args],
        cwd=root,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def _opened_by(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open (Linux: its /proc/PID/fd links)."""
    target = str(path.resolve())
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:  # the process has ended
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(fd) == target:
                return True
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc to see the waiting process")
def test_second_writer_waits_for_the_first(repo_copy: Path, tmp_path: Path):
    """A commit started while another process holds the lock is seen waiting at the lock (its
    descriptor open, still running), takes the lock only after the holder's release (the lock
    file, which the holder stamps on taking it, is re-stamped later than the release marker)
    and then succeeds."""
    write_parquet(repo_copy / "data" / "d.parquet", data(relabel={3: "bird"}))
    lock_file = repo_copy / ".dslineage" / "lock"
    released = tmp_path / "released"
    holder = RepoLock(lock_file, wait=0)
    holder.acquire()  # writes this process's pid into the lock file once it holds the lock
    try:
        assert lock_file.read_text() == f"{os.getpid()}\n"
        proc = start(repo_copy, "--wait-for-lock", "120", "commit", "-m", "queued")
        deadline = time.monotonic() + 120
        while not _opened_by(proc.pid, lock_file):  # the child reached RepoLock.acquire()
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the second process never reached the lock"
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None  # at the lock for half a second and not through: waiting
        assert lock_file.read_text() == f"{os.getpid()}\n"
        released.write_text("released\n")  # stamped by the file system just before the release
    finally:
        holder.release()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert lock_file.read_text() == f"{proc.pid}\n"  # the second process took the lock ...
    assert lock_file.stat().st_mtime_ns >= released.stat().st_mtime_ns  # ... after the release
    assert [v["seq"] for v in Repo(repo_copy).log()] == [2, 1]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_writer_gives_up_with_one_line(repo_copy: Path, how: str):
    """--wait-for-lock (or DSLINEAGE_WAIT_FOR_LOCK) elapsed: exit 1, one line, nothing changed."""
    write_parquet(repo_copy / "data" / "d.parquet", data(relabel={3: "bird"}))
    before = snapshot_state(repo_copy)
    args = ["--wait-for-lock", "0.3"] if how == "option" else []
    env = {"DSLINEAGE_WAIT_FOR_LOCK": "0.3"} if how == "environment" else {}
    with held_lock(repo_copy):
        proc = start(repo_copy, *args, "commit", "-m", "blocked", env=env)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and out == ""
    assert err.count("\n") == 1 and "another dslineage command is using this repository" in err
    assert "--wait-for-lock" in err and "Traceback" not in err
    assert snapshot_state(repo_copy) == before


def test_two_commits_at_once_both_land(module_env: Path, tmp_path: Path):
    """Two processes committing different datasets at the same moment: both versions recorded,
    in two commits, and the repo is consistent."""
    root = copy_repo(module_env / "tpl", tmp_path / "two")
    write_parquet(root / "data" / "e.parquet", data(n=12))
    with Repo(root) as repo:
        repo.track(str(root / "data" / "e.parquet"), ["id"], ["label"])
        repo.commit(["e"], "e v1", None)
    start_head = head(root)
    write_parquet(root / "data" / "d.parquet", data(relabel={1: "cat"}))
    write_parquet(root / "data" / "e.parquet", data(n=12, relabel={2: "dog"}))
    procs = [start(root, "--wait-for-lock", "120", "commit", name, "-m", f"{name} v2") for name in ("d", "e")]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    assert run(root, "git", "rev-list", "--count", f"{start_head}..HEAD").stdout.strip() == "2"
    with Repo(root) as repo:
        assert sorted((v["dataset"], v["seq"]) for v in repo.log()) == [("d", 1), ("d", 2), ("e", 1), ("e", 2)]
        assert repo.fsck()["problems"] == []


def test_readers_never_see_partial_state(repo_copy: Path):
    """While a writer commits four relabels, three readers call `log` over and over: every
    answer is a complete prefix of the final history, each version with its git commit."""
    outcome = fork_map(
        ["relabel_many", "read_logs", "read_logs", "read_logs"],
        [[str(repo_copy), [1, 4, 7, 10], "bird"]] + [[str(repo_copy), 120]] * 3,
        workers=4,
    )
    assert outcome[0].get("ok") == 4, outcome[0]
    with Repo(repo_copy) as repo:
        final = [[v["id"], v["seq"], v["git_commit"]] for v in repo.log("d")]
    commits = set(run(repo_copy, "git", "rev-list", "HEAD").stdout.split())
    polls = 0
    for reader in outcome[1:]:
        assert "ok" in reader, reader
        for got in reader["ok"]:
            polls += 1
            assert got == final[len(final) - len(got) :]  # newest first: a suffix of the final log
            assert [v[1] for v in got] == list(range(len(got), 0, -1))
            assert all(v[2] in commits for v in got)
    assert polls >= 6


def test_parallel_relabels_of_disjoint_rows(repo_copy: Path):
    """Six processes relabel six different rows at once: all six edits land, each as its own
    batch and version, and nothing else changes."""
    keys = [2, 5, 8, 11, 14, 17]
    argv = [[str(repo_copy), ["--wait-for-lock", "300", "relabel", "d", "--set", f"{k}=fish"]] for k in keys]
    results = fork_map("cli", argv, workers=len(keys))
    assert [r.get("ok") for r in results] == [0] * len(keys), results
    table = pq.read_table(repo_copy / "data" / "d.parquet").to_pydict()
    expected = data()["label"]
    for k in keys:
        expected[k] = "fish"
    assert table["label"] == expected and table["id"] == data()["id"]
    with Repo(repo_copy) as repo:
        assert [v["seq"] for v in repo.log("d")] == list(range(len(keys) + 1, 0, -1))
        assert len(repo.batches("d")) == len(keys)
        assert repo.fsck(deep=True)["problems"] == []
    assert run(repo_copy, "dvc", "status", "-q", check=False).returncode == 0
