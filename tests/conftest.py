"""Shared fixtures: real git + real DVC repositories in temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

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
