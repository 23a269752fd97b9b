"""The commands' per-partition routes on an engine (`Repo(scheduler="local:2")`, a real process
pool): the byte diff of a directory against its work tree and the audit statistics of a
directory equal the results computed without an engine, on random partitioned versions."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from dslineage.model import to_json
from dslineage.store import partdiff, partstats
from tests.support import new_repo
from tests.support.partitions import random_versions, write_version


def _canon(audit: dict[str, Any]) -> dict[str, Any]:
    """An audit with its conflict examples sorted (groups of equal size come in any order)."""
    cd = dict(audit["conflicting_duplicates"])
    cd["examples"] = sorted(cd.get("examples", []), key=repr)
    return {**audit, "conflicting_duplicates": cd}


def _repo(root: Path, seed: int, hive: bool) -> Path:
    """`parts` (random version A, committed as v1) with version B in its work tree."""
    a, b = random_versions(random.Random(seed), hive=hive)
    new_repo(root)
    write_version(root / "data" / "parts", a)
    with Repo(root) as repo:
        repo.track(str(root / "data" / "parts"), ["id"], ["label"], roles={"features": ["x"]})
        repo.commit(["parts"], "version A", None)
    shutil.rmtree(root / "data" / "parts")
    write_version(root / "data" / "parts", b)
    return root


@pytest.mark.parametrize("seed", range(4))
def test_diff_and_audit_on_a_pool_equal_the_single_query_results(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`diff parts` (work tree vs v1) and `audit parts` / `audit parts@v1` computed part by part on a
    two-process pool equal those computed in one query, and the engine really ran them."""
    calls: list[str] = []
    for mod, name in ((partdiff, "build_changes_parts"), (partstats, "conflicting_duplicates")):
        real = getattr(mod, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(mod, name, spy)
    root = _repo(tmp_path / "r", seed, hive=bool(seed % 2))
    found = {}
    for scheduler in (None, "local:2"):
        with Repo(root, scheduler=scheduler) as repo:
            found[scheduler] = (
                to_json(repo.diff("parts")),
                _canon(to_json(repo.audit("parts", record=False, examples=1000))),
                _canon(to_json(repo.audit("parts@v1", record=False, examples=1000))),
            )
    assert calls == ["build_changes_parts", "conflicting_duplicates", "conflicting_duplicates"]
    assert found["local:2"] == found[None]
