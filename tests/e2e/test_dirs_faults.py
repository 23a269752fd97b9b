"""Crash safety of directory datasets: a relabel, a rollback, a commit, a checkout, a merge and the
resolution of a stopped merge (`merge --resolve`) of a partitioned
dataset are SIGKILLed at every step they declare (DSLINEAGE_FAULT); the next command leaves
the repository exactly as before the command or exactly as after it (the parts a relabel
or rollback had renamed in are put back from the DVC cache), with fsck clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo
from dslineage import faults as fault_points
from tests.support import new_repo, run, write_parquet
from tests.support.reliability import copy_repo, dslineage, parent_of, work_state

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out

STEPS = dict(fault_points.registry())
COMMANDS = {
    "relabel": ["relabel", "ds", "--set", "3=dog", "--set", "45=owl", "-m", "two parts"],
    "rollback": ["rollback", "ds", "--to", "v1", "-m", "back"],
    "commit": ["commit", "-m", "val grows"],
    "checkout": ["checkout", "ds@v1"],
    "merge": ["merge", "other", "-m", "merge other"],
    "merge-resolve": ["merge", "--resolve", "ds", "--theirs"],
}
CASES = [(op, step) for op in COMMANDS for step in STEPS[op]]


def _split(root: Path, split: str, ids: list[int], labels: dict[int, str] | None = None) -> None:
    write_parquet(
        root / "data" / "ds" / f"split={split}" / "p.parquet",
        {"id": ids, "label": [(labels or {}).get(i, "cat") for i in ids]},
    )


@pytest.fixture(scope="module")
def templates(module_env: Path) -> dict[str, Path]:
    """Per command, the repo it starts from: v1 (relabel), v2 (rollback), v2 + a dirty part (commit)."""
    v1 = new_repo(module_env / "tpl" / "v1")
    for split, ids in (("train", range(0, 30)), ("val", range(30, 40)), ("test", range(40, 50))):
        _split(v1, split, list(ids))
    with Repo(v1) as repo:
        repo.track(str(v1 / "data" / "ds"), ["id"], ["label"])
        repo.commit(["ds"], "v1", None)
    v2 = copy_repo(v1, module_env / "tpl" / "v2")
    with Repo(v2) as repo:
        repo.relabel("ds", ["3=dog", "45=owl", "31=fox"], reason="three parts")
    dirty = copy_repo(v2, module_env / "tpl" / "dirty")
    _split(dirty, "val", [*range(30, 40), 77])
    _split(dirty, "new", [88])
    new = copy_repo(v2, module_env / "tpl" / "new")  # v3 adds a partition: checkout of v1 removes it
    _split(new, "extra", [90, 91])
    with Repo(new) as repo:
        repo.commit(["ds"], "v3", None)
    both = copy_repo(v1, module_env / "tpl" / "both")  # branch other relabels train, main test (and val)
    run(both, "git", "checkout", "-q", "-b", "other")
    with Repo(both) as repo:
        repo.relabel("ds", ["2=fox"], reason="their side")
    run(both, "git", "checkout", "-q", "main")
    with Repo(both) as repo:
        repo.checkout("ds@latest")
        repo.relabel("ds", ["44=owl", "33=emu"], reason="our side")
    stopped = copy_repo(v1, module_env / "tpl" / "stopped")  # both sides relabel row 2: the merge stops
    run(stopped, "git", "checkout", "-q", "-b", "other")
    with Repo(stopped) as repo:
        repo.relabel("ds", ["2=fox", "44=owl"], reason="their side")
    run(stopped, "git", "checkout", "-q", "main")
    with Repo(stopped) as repo:
        repo.checkout("ds@latest")
        repo.relabel("ds", ["2=emu", "33=emu"], reason="our side")
        assert repo.merge("other")["state"] == "conflicts"
    return {"relabel": v1, "rollback": v2, "commit": dirty, "checkout": new, "merge": both, "merge-resolve": stopped}


@pytest.fixture(scope="module")
def reference(templates: dict[str, Path], module_env: Path) -> dict[str, dict[str, Any]]:
    """What each command leaves when nothing kills it."""
    out = {}
    for op, argv in COMMANDS.items():
        root = copy_repo(templates[op], module_env / "ref" / op)
        done = dslineage(root, *argv)
        assert done.returncode == 0, done.stderr
        out[op] = work_state(root)
    return out


@pytest.mark.parametrize(("op", "step"), CASES, ids=[f"{o}:{s}" for o, s in CASES])
def test_killed_dir_command_leaves_before_or_after(
    op: str, step: str, templates: dict[str, Path], reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Killed at `step`, the next command finds the repository as before or as after, fsck clean."""
    root = copy_repo(templates[op], tmp_path / "r")
    before = work_state(root)
    killed = dslineage(root, *COMMANDS[op], env={"DSLINEAGE_FAULT": f"{op}:{step}"})
    assert killed.returncode != 0
    check = dslineage(root, "status", "--json")
    assert check.returncode == 0, check.stderr
    with Repo(root) as repo:
        problems = [p for p in repo.fsck()["problems"] if p["level"] == "error"]
    assert problems == []
    now = work_state(root)
    if now["head"] == before["head"]:
        assert now == before, (step, now["status"])
    else:  # committed: the reference's state (its own commit has another sha: times differ)
        assert parent_of(root) == before["head"]
        assert {**now, "head": None} == {**reference[op], "head": None}, (step, now["status"])
    assert not list((root / "data" / "ds").rglob(".*"))  # no stray temporary file among the parts
