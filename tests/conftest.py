"""Shared fixtures: real git + real DVC repositories in temporary folders.

Helpers (run, invoke, cli_json, snapshot_state, write_parquet, ...) live in `tests.support`;
import them from there. The names below stay importable from here only for test files written
before the tiers (`from tests.conftest import run`); tests/unit/test_layout.py reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import env
from tests.support.repos import (  # noqa: F401  (old import path, see above)
    CIFAR,
    cli_json,
    head,
    invoke,
    md5,
    new_repo,
    run,
    snapshot_state,
    write_parquet,
    write_text,
)

IDENTITY = env.IDENTITY
identity_env = env.isolate  # the old name of env.isolate(mp, home)


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test runs with a known git identity and no user/global git or DVC config."""
    env.isolate(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture
def tmp_repo(tmp_path: Path) -> Path:
    """An empty repository after `dslineage init`: real git, real DVC."""
    return new_repo(tmp_path / "repo")


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


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A module-wide temp folder with the test git identity set (for shared, read-only repos)."""
    base = tmp_path_factory.mktemp("module")
    with pytest.MonkeyPatch.context() as mp:
        env.isolate(mp, base / "home")
        yield base
