"""Crash safety: SIGKILL every write command at every step it declares (DSLINEAGE_FAULT),
then check the repository is exactly as before the command or exactly as after it, is
consistent (fsck, `dvc status`, reindex), and that the next command works.

The killed commands run as real subprocesses, all at once in a module fixture (they are
independent copies of template repos); each case then checks its copy in-process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from dslineage import Repo, dvcio
from dslineage import faults as fault_points
from tests.support import new_repo, run, write_parquet
from tests.support.reliability import Scenario, base_repo, copy_repo, data, fork_map

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out

STEPS = dict(fault_points.registry())  # every fault point every write command declares


class Templates:
    """Template repos built once per module and copied per case (building is the slow part)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.made: dict[str, Path] = {}
        self.marks: dict[str, str] = {}  # "{name}" placeholders of scenario command lines (ids made here)

    def get(self, name: str) -> Path:
        """The template called `name`, built on first use."""
        if name not in self.made:
            dest = self.base / "tpl" / name
            getattr(self, f"_{name.replace('-', '_')}")(dest)
            self.made[name] = dest
        return self.made[name]

    def _v1(self, dest: Path) -> None:
        base_repo(dest)

    def _v2(self, dest: Path) -> None:
        copy_repo(self.get("v1"), dest)
        write_parquet(dest / "data" / "d.parquet", data(relabel={2: "dog", 5: "cat"}, extra=2))
        with Repo(dest) as repo:
            repo.commit(["d"], "v2", None)

    def _reverted(self, dest: Path) -> None:
        """A relabel batch, then its revert: cherry-pick re-applies the batch (its id is `{batch}`)."""
        copy_repo(self.get("v1"), dest)
        with Repo(dest) as repo:
            batch = repo.relabel("d", ["1=bird", "2=cat"], reason="fix")["batch"]
            repo.revert(batch)
        self.marks["{batch}"] = batch

    def argv(self, sc: Scenario) -> list[str]:
        """A scenario's command line with the ids its template made filled in."""
        self.get(sc.template)
        return [self.marks.get(a, a) for a in sc.argv]

    def _dirty(self, dest: Path) -> None:
        copy_repo(self.get("v1"), dest)
        write_parquet(dest / "data" / "d.parquet", data(relabel={0: "dog", 4: "bird"}, extra=3))

    def _relabeled(self, dest: Path) -> None:
        copy_repo(self.get("v1"), dest)
        with Repo(dest) as repo:
            repo.relabel("d", ["1=bird", "2=cat"], reason="fix")

    def _voted(self, dest: Path) -> None:
        """v1 and two committed votes files: `votes.csv` relabels key 1, confirms 3 and queues 4
        (split vote); `confirm.csv` only confirms labels (nothing to relabel)."""
        copy_repo(self.get("v1"), dest)
        votes = ["id,annotator,label"] + [f"1,{a},bird" for a in "abc"] + [f"3,{a},cat" for a in "ab"]
        votes += ["4,a,dog", "4,b,cat", "4,c,bird"]
        (dest / "votes.csv").write_text("\n".join(votes) + "\n")
        (dest / "confirm.csv").write_text("id,annotator,label\n0,a,cat\n0,b,cat\n1,a,dog\n")
        run(dest, "git", "add", "votes.csv", "confirm.csv")
        run(dest, "git", "commit", "-q", "-m", "votes")

    def _dvc_history(self, dest: Path) -> None:
        """A file DVC already tracks, with two git commits of its `.dvc` file (track adopts them)."""
        new_repo(dest)
        path = dest / "data" / "d.parquet"
        for v, rows in enumerate((data(), data(relabel={1: "bird"}, extra=2)), start=1):
            write_parquet(path, rows)
            dvcio.add(dest, "data/d.parquet")
            run(dest, "git", "add", "data/d.parquet.dvc", "data/.gitignore")
            run(dest, "git", "commit", "-q", "-m", f"dvc v{v}")

    def _empty(self, dest: Path) -> None:
        dest.mkdir(parents=True)

    def _experiment(self, dest: Path) -> None:
        """An experiment recorded at v2, then the working tree back at v1 (reproduce restores v2)."""
        copy_repo(self.get("v2"), dest)
        with Repo(dest) as repo:
            repo.exp_record("e1")
            repo.checkout("d@v1")

    def _rules(self, dest: Path) -> None:
        copy_repo(self.get("v1"), dest)
        (dest / ".dslineage" / "checks.yaml").write_text("d:\n  min_rows_per_class: 1\n  unique_key: true\n")
        run(dest, "git", "add", ".dslineage/checks.yaml")
        run(dest, "git", "commit", "-q", "-m", "rules")

    def _repro(self, dest: Path) -> None:
        """A stage the user added and ran with DVC alone (`dslineage sync` records it)."""
        copy_repo(self.get("v1"), dest)
        run(
            dest,
            "dvc",
            "stage",
            "add",
            "-q",
            "-n",
            "prep",
            "-d",
            "data/d.parquet",
            "-o",
            "data/out.parquet",
            f"{sys.executable} -c \"import shutil; shutil.copyfile('data/d.parquet', 'data/out.parquet')\"",
        )
        run(dest, "dvc", "repro", "-q")
        with Repo(dest) as repo:  # the output is a tracked dataset: sync records its version too
            repo.track(str(dest / "data" / "out.parquet"), ["id"], ["label"])

    def _branches(self, dest: Path) -> None:
        """Branch `other` (from a clone: its version's parent is v1) relabelled key 1; main key 5."""
        copy_repo(self.get("v1"), dest)
        other = self.base / "tpl" / "branches-clone"
        run(self.base, "git", "clone", "-q", str(dest), str(other))
        dvcio.share_cache(other, dest)
        run(other, "dvc", "checkout", "-q", "data/d.parquet.dvc")
        with Repo(other) as repo:
            repo.relabel("d", ["1=bird"], reason="their side")
        with Repo(dest) as repo:
            repo.relabel("d", ["5=dog"], reason="our side")
        run(dest, "git", "fetch", "-q", str(other), "main:other")

    def _predicted(self, dest: Path) -> None:
        """v2 and a model's probabilities for rows 0..29 in `.git/pred.csv` (outside the work tree)."""
        copy_repo(self.get("v2"), dest)
        lines = ["id,p_cat,p_dog,p_bird"] + [f"{i},{0.2 + i / 100:.2f},{0.5 - i / 100:.2f},0.30" for i in range(30)]
        (dest / ".git" / "pred.csv").write_text("\n".join(lines) + "\n")

    def _conflicted(self, dest: Path) -> None:
        """A `dslineage merge other` stopped on key 5, which both sides relabelled differently."""
        copy_repo(self.get("v1"), dest)
        other = self.base / "tpl" / "conflicted-clone"
        run(self.base, "git", "clone", "-q", str(dest), str(other))
        dvcio.share_cache(other, dest)
        run(other, "dvc", "checkout", "-q", "data/d.parquet.dvc")
        with Repo(other) as repo:
            repo.relabel("d", ["1=bird", "5=cat"], reason="their side")
        with Repo(dest) as repo:
            repo.relabel("d", ["5=dog"], reason="our side")
        run(dest, "git", "fetch", "-q", str(other), "main:other")
        with Repo(dest) as repo:
            assert repo.merge("other")["state"] == "conflicts"


COPY = [sys.executable, "-c", "import shutil; shutil.copyfile('data/d.parquet', 'data/out.parquet')"]


# op -> (template, command line)
SCENARIOS: dict[str, Scenario] = {
    "init": Scenario("empty", ["init", "."]),
    "track": Scenario("dvc-history", ["track", "data/d.parquet", "--key", "id", "--label", "label"]),
    "commit": Scenario("dirty", ["commit", "-m", "second"]),
    "tag": Scenario("v1", ["tag", "d@v1", "good"]),
    "checkout": Scenario("v2", ["checkout", "d@v1"]),
    "reindex": Scenario("v2", ["reindex"]),
    "relabel": Scenario("v1", ["relabel", "d", "--set", "1=bird", "--set", "5=dog"]),
    "revert": Scenario("relabeled", ["revert", "d@v2", "-m", "undo"]),
    "cherry-pick": Scenario("reverted", ["cherry-pick", "{batch}"]),
    "consensus": Scenario("voted", ["consensus", "d", "--votes", "votes.csv", "--min-agreement", "0.5"]),
    "consensus-votes": Scenario("voted", ["consensus", "d", "--votes", "confirm.csv"]),
    "rollback": Scenario("v2", ["rollback", "d", "--to", "v1", "-m", "back"]),
    "run": Scenario("v1", ["run", "-n", "prep", "-d", "data/d.parquet", "-o", "data/out.parquet", "--", *COPY]),
    "sync": Scenario("repro", ["sync"]),
    "exp-record": Scenario("v1", ["exp", "record", "e1"]),
    "check": Scenario("rules", ["check", "d@v1"]),
    "audit": Scenario("v1", ["audit", "d@v1"]),
    "reproduce": Scenario("experiment", ["reproduce", "e1"]),
    "merge": Scenario("branches", ["merge", "other", "-m", "merge other"]),
    "merge-resolve": Scenario("conflicted", ["merge", "--resolve", "d", "--theirs"]),
    "review": Scenario("predicted", ["review", "d", "--predictions", ".git/pred.csv", "--method", "margin"]),
    "eval": Scenario("predicted", ["eval", "d", "--predictions", ".git/pred.csv"]),
}

CASES = [(op, step) for op, steps in sorted(STEPS.items()) for step in steps]


def _rerun_step(op: str) -> str:
    """The last step before the commit point: where the most is written and must be undone."""
    return [s for s in STEPS[op] if s not in ("after-git-commit", "in-index-sync")][-1]


@pytest.fixture(scope="module")
def faults(module_env: Path) -> dict[str, Any]:
    """Templates, a reference run (no fault) per op, one killed run per (op, step), then what
    the next command sees in each: all prepared up front in parallel forked processes."""
    tpl = Templates(module_env)
    templates = {op: tpl.get(sc.template) for op, sc in SCENARIOS.items()}
    argv = {op: tpl.argv(sc) for op, sc in SCENARIOS.items()}
    jobs: list[tuple[str, str | None, Path]] = [(op, None, module_env / "ref" / op) for op in SCENARIOS]
    jobs += [(op, step, module_env / "case" / f"{op}-{step}") for op, step in CASES if op in SCENARIOS]
    for op, _, dest in jobs:
        copy_repo(templates[op], dest)
    ran = fork_map(
        "cli",
        [[str(dest), argv[op]] for op, _, dest in jobs],
        env=[{"DSLINEAGE_FAULT": f"{op}:{step}"} if step else {} for op, step, _ in jobs],
    )
    # what the next command sees: the templates (before), the references (after), each case
    looks = [[str(templates[op]), None] for op in SCENARIOS]
    looks += [[str(dest), argv[op] if step == _rerun_step(op) else None] for op, step, dest in jobs]
    seen = fork_map("observe", looks)
    n = len(SCENARIOS)
    return {
        "ran": {(op, step): r for (op, step, _), r in zip(jobs, ran)},
        "before": dict(zip(SCENARIOS, seen[:n])),
        "seen": {(op, step): r for (op, step, _), r in zip(jobs, seen[n:])},
    }


def test_every_write_command_has_a_fault_scenario():
    """Each operation that declares fault steps has a scenario here (new ops fail this test)."""
    missing = sorted(set(STEPS) - set(SCENARIOS))
    assert not missing, f"add a Scenario for {missing} in tests/test_reliability_faults.py"
    assert len(CASES) >= 20


def _ok(result: dict[str, Any]) -> Any:
    assert "ok" in result, result.get("traceback") or result
    return result["ok"]


@pytest.mark.parametrize(("op", "step"), CASES, ids=[f"{o}:{s}" for o, s in CASES])
def test_killed_command_leaves_before_or_after_state(faults: dict[str, Any], op: str, step: str):
    """SIGKILL at the step: the next command recovers a state equal to before or after,
    consistent by fsck (journal, .dvc files, cache, index = a rebuild) and `dvc status`."""
    if op not in SCENARIOS:
        pytest.fail(f"no scenario for {op}")
    ref_run = faults["ran"][(op, None)]
    assert _ok(ref_run) == 0, ref_run
    ran = faults["ran"][(op, step)]
    assert ran.get("exit") == -9, f"{op}:{step} was not reached: {ran}"
    before = _ok(faults["before"][op])
    after = _ok(faults["seen"][(op, None)])
    seen = _ok(faults["seen"][(op, step)])
    assert not seen["intent"]
    if op == "init" and not seen["initialized"]:
        outcome = "before"  # git and DVC initialized (idempotent steps); dslineage not yet
    elif seen["state"]["head"] != before["state"]["head"]:
        outcome = "after"
        assert seen["parent"] == before["state"]["head"]
        for key in ("files", "status", "journal_kinds"):
            assert seen["state"][key] == after["state"][key], key
        assert seen["log"] == after["log"]
        assert seen["dvc"] == after["dvc"]
    else:
        outcome = "before"
        assert seen["state"] == before["state"]
        assert seen["log"] == before["log"]
        assert seen["dvc"] == before["dvc"]
    if step in ("after-intent", "after-git-commit"):  # before and after the commit point
        assert outcome == ("before" if step == "after-intent" else "after")
    if seen["initialized"]:
        assert seen["fsck"] == []
    if step == _rerun_step(op):  # the interrupted command can simply be run again
        assert seen["rerun_exit"] == 0
        assert seen["rerun_log"] == after["log"]
        assert seen["reindex_same"]
        assert seen["rerun_fsck"] == []
