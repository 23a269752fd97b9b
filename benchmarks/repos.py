"""Scratch repositories for the benchmarks: real git, real DVC, built fresh each run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from benchmarks.measure import bin_of

DATASET = "ds"
FILE = "data/ds.parquet"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def fresh(root: Path) -> Path:
    """An empty folder with `git init` and a local identity (nothing else)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.name", "Bench Runner")
    _git(root, "config", "user.email", "bench@example.com")
    _git(root, "config", "commit.gpgsign", "false")
    return root


def place(src: Path, root: Path, rel: str = FILE) -> Path:
    """Copy a generated file into a repository the safe way (new file, then rename)."""
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, target)
    return target


def dslineage_repo(root: Path, v1: Path, v2: Path | None = None) -> Path:
    """A dslineage repository with `ds` tracked and v1 (and v2, if given) committed."""
    from dslineage.repo import Repo

    fresh(root)
    Repo.init(root)
    place(v1, root)
    repo = Repo(root)
    repo.track(str(root / FILE), ["key"], ["label"])
    repo.commit([DATASET], "v1: generated", None)
    if v2 is not None:
        place(v2, root)
        repo.commit([DATASET], "v2: relabel, add, remove", None)
    repo.close()
    return root


def branched_repo(root: Path, base: Path, ours: Path, theirs: Path, branch: str) -> Path:
    """A dslineage repository with `ds` committed as `base`, then as `theirs` on branch `branch`
    and as `ours` on the starting branch (checked out): two branches ready to merge."""
    from dslineage.repo import Repo

    dslineage_repo(root, base)
    start = subprocess.run(
        ["git", "branch", "--show-current"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
    _git(root, "checkout", "-q", "-b", branch)
    for rev, src, message in ((branch, theirs, branch), (start, ours, "ours")):
        if rev == start:
            _git(root, "checkout", "-q", start)
        place(src, root)
        with Repo(root) as repo:
            repo.commit([DATASET], message, None)
    return root


def dvc_repo(root: Path, v1: Path) -> Path:
    """A plain git + DVC repository with v1 added and committed (no dslineage)."""
    fresh(root)
    dvc = bin_of("dvc")
    subprocess.run([*dvc, "init", "-q"], cwd=root, check=True, capture_output=True)
    place(v1, root)
    subprocess.run([*dvc, "add", "-q", FILE], cwd=root, check=True, capture_output=True)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "v1")
    return root


def settle() -> None:
    """Flush the setup's writes to disk before a timed step (`sync`).

    A setup writes several copies of a dataset (the placed file, DVC's cache copy and its
    relinked working copy: ~0.7 GB at 5M rows); the kernel writes them back seconds later,
    inside whichever timed command runs then, and file copies there (DVC's own) slowed 3-9x
    in a profile. Every tool's setup settles the same way, so the pairs stay fair; what a
    timed command writes itself is still written inside its own clock.
    """
    os.sync()


def tree_bytes(path: Path) -> int:
    """Total bytes of the regular files under `path` (0 if absent)."""
    if path.is_file():
        return path.stat().st_size
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
