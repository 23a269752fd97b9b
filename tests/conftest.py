"""Shared fixtures: real git + real DVC repositories in temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test runs with a known git identity and no user/global git or DVC config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(home / "dvc-site"))
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Author\n\temail = author@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
    )


def run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a real command (git, or `dvc` through this interpreter) in `cwd`."""
    cmd = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=check)


def head(root: Path) -> str:
    """The sha of HEAD in a repository."""
    return run(root, "git", "rev-parse", "HEAD").stdout.strip()


def write_parquet(path: Path, data: dict[str, list[Any]]) -> Path:
    """Write a parquet file the safe way (new file, then rename: DVC may link the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table(data), tmp)
    os.replace(tmp, path)
    return path


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    """An empty repository after `dslineage init`: real git, real DVC."""
    from dslineage import Repo

    root = tmp_path / "repo"
    root.mkdir()
    Repo.init(root)
    return root


@pytest.fixture
def make_dataset(tmp_repo: Path) -> Callable[..., Path]:
    """Write `data/NAME.parquet` with ids, a feature and labels; returns its path."""

    def make(name: str = "train", n: int = 20, labels: list[str] | None = None, **extra: list[Any]) -> Path:
        ids = list(range(n))
        data: dict[str, list[Any]] = {
            "id": ids,
            "x": [float(i) / 2 for i in ids],
            "label": labels or [["cat", "dog", "bird"][i % 3] for i in ids],
        }
        data.update(extra)
        return write_parquet(tmp_repo / "data" / f"{name}.parquet", data)

    return make


@pytest.fixture
def committed(tmp_repo: Path, make_dataset: Callable[..., Path]) -> Any:
    """A repo with dataset `train` (20 rows, key id, label label) tracked and committed as v1."""
    from dslineage import Repo

    path = make_dataset()
    repo = Repo(tmp_repo)
    repo.track(str(path), ["id"], ["label"])
    repo.commit(["train"], "first version", None)
    yield repo
    repo.close()


# -- helpers shared by the core suite (tests/test_core_*.py) -----------------------------

IDENTITY = "Test Author <author@example.com>"
_NOT_WORK_FILES = (".git", ".dvc/cache", ".dvc/tmp", ".dslineage/index.duckdb", ".dslineage/lock",
                   ".dslineage/tmp")


def identity_env(mp: pytest.MonkeyPatch, home: Path) -> None:
    """The same environment `_git_identity` gives a test, for module-scoped fixtures."""
    home.mkdir(parents=True, exist_ok=True)
    for name, value in {
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.com",
        "DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
    }.items():
        mp.setenv(name, value)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Author\n\temail = author@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
    )


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A module-wide temp folder with the test git identity set (for shared, read-only repos)."""
    base = tmp_path_factory.mktemp("module")
    with pytest.MonkeyPatch.context() as mp:
        identity_env(mp, base / "home")
        yield base


def new_repo(root: Path) -> Path:
    """`dslineage init` a fresh repository at `root` and return it."""
    from dslineage import Repo

    root.mkdir(parents=True, exist_ok=True)
    Repo.init(root)
    return root


def write_text(path: Path, text: str) -> Path:
    """Write a text dataset (CSV, TSV, JSON Lines) the safe way: new file, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)
    return path


def md5(path: Path) -> str:
    """The md5 of a file's bytes (what DVC records)."""
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()


def snapshot_state(root: Path) -> dict[str, Any]:
    """What a refused command must leave alone: HEAD, `git status --porcelain`, every work file."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(rel == p or rel.startswith(p + "/") or rel.startswith(p + ".")
                                      for p in _NOT_WORK_FILES):
            files[rel] = md5(path)
    status = run(root, "git", "status", "--porcelain", "--untracked-files=all", check=False).stdout
    head_sha = run(root, "git", "rev-parse", "-q", "--verify", "HEAD", check=False).stdout.strip()
    return {"head": head_sha, "status": status, "files": files}


def invoke(root: Path | None, *args: str) -> Any:
    """Run `dslineage [-C root] ARGS` in-process with typer's CliRunner (cwd restored after)."""
    from typer.testing import CliRunner

    from dslineage.cli import app

    cwd = os.getcwd()
    try:
        return CliRunner().invoke(app, [*(["-C", str(root)] if root else []), *args])
    finally:
        os.chdir(cwd)


def cli_json(root: Path, *args: str) -> Any:
    """Run a `--json` command through the CLI, check it succeeded, parse its stdout."""
    import json

    result = invoke(root, *args, "--json")
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    return json.loads(result.stdout)


# the lineage tests' pipeline repository, built once per session (tests/lineage_support.py)
from tests.lineage_support import pipeline, pipeline_template  # noqa: E402, F401

# the S3 remote tests' SeaweedFS server and buckets (tests/s3_support.py)
from tests.s3_support import s3_remote, s3_server  # noqa: E402, F401
