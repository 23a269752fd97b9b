"""`dslineage demo`: all four jobs (commit, label diff, reproduce an experiment, revert a bad batch)
in under 60 s, each step's command printed before its output; `--keep DIR` leaves the repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import invoke

pytestmark = pytest.mark.slow  # the e2e tier: `pytest -m "not slow"` leaves it out


@pytest.fixture(scope="module")
def kept(module_env: Path) -> dict:
    """One real `dslineage demo --keep DIR` run (a subprocess, timed)."""
    keep = module_env / "kept"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dslineage", "demo", "--keep", str(keep)],
        capture_output=True,
        text=True,
        timeout=300,
        env=None,
    )
    return {"proc": proc, "seconds": time.monotonic() - start, "dir": keep}


def _steps(stdout: str) -> list[tuple[str, str]]:
    """The printed steps: (command line after `$ dslineage `, the output that follows it)."""
    parts = re.split(r"^\$ dslineage (.*)$", stdout, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def test_demo_runs_under_a_minute_and_keeps_the_repo(kept):
    """The demo exits 0 within 60 s and `--keep DIR` leaves a dslineage repository there."""
    proc = kept["proc"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert kept["seconds"] < 60, kept["seconds"]
    assert (kept["dir"] / ".git").is_dir() and (kept["dir"] / ".dslineage").is_dir()
    assert str(kept["dir"]) in proc.stdout


def test_demo_prints_each_command_before_its_output(kept):
    """Every step is a `$ dslineage CMD` line followed by that command's output, in job order."""
    steps = _steps(kept["proc"].stdout)
    commands = [c.split()[0] for c, _ in steps]
    for verb in ("init", "track", "commit", "diff", "run", "exp", "relabel", "reproduce", "revert", "batches"):
        assert verb in commands, (verb, commands)
    order = [commands.index(v) for v in ("commit", "diff", "run", "reproduce", "revert")]
    assert order == sorted(order)
    for job in ("1/4", "2/4", "3/4", "4/4"):
        assert job in kept["proc"].stdout


def test_demo_job_commit(kept):
    """Job 1: the first commit prints the new version pets@v1 with its row count."""
    out = dict(_steps(kept["proc"].stdout))
    [commit] = [o for c, o in _steps(kept["proc"].stdout) if c.startswith("commit") and "import" in c]
    assert "pets@v1" in commit and "240 rows" in commit
    assert any(c.startswith("track") for c in out)


def test_demo_job_label_diff_has_transition_table(kept):
    """Job 2: `diff pets@v1 pets@v2` shows the label transitions table with the five fixes."""
    [diff] = [o for c, o in _steps(kept["proc"].stdout) if c.startswith("diff pets@v1 pets@v2")]
    assert "label transitions" in diff
    assert re.search(r"dog\s+cat", diff) and re.search(r"cat\s+dog", diff)


def test_demo_job_reproduce_restores_the_experiments_data(kept):
    """Job 3: a run stage and an experiment, a relabel, then reproduce puts back the exact bytes."""
    steps = _steps(kept["proc"].stdout)
    [run] = [o for c, o in steps if c.startswith("run ")]
    assert "features" in run
    [exp] = [o for c, o in steps if c.startswith("exp record")]
    assert "pets@v2" in exp
    [repro] = [o for c, o in steps if c.startswith("reproduce")]
    assert "pets@v2" in repro and "md5 verified" in repro


def test_demo_job_revert_bad_batch_keeps_the_good_one(kept):
    """Job 4: reverting the bad batch restores its rows; the later good batch stays applied."""
    steps = _steps(kept["proc"].stdout)
    [revert] = [o for c, o in steps if c.startswith("revert")]
    assert re.search(r"restored 12 row", revert) or "12 row" in revert
    [batches] = [o for c, o in steps if c.startswith("batches")]
    assert "reverted" in batches and "committed" in batches  # the bad batch, the good one
    root = kept["dir"]
    listed = json.loads(invoke(root, "batches", "pets", "--json").stdout)
    bad = next(b for b in listed if b["author"] == "intern")
    good = next(b for b in listed if b["author"] == "alice")
    assert bad["reverted"] is True and good["reverted"] is False and good["state"] == "committed"
    show = json.loads(invoke(root, "show", "pets@latest", "--json").stdout)
    assert show["seq"] >= 5
    history = json.loads(invoke(root, "history", "pets", "3", "--json").stdout)
    assert history["events"][-1]["labels"]["label"] == "bird"  # alice's fix of row 3 is still there


def test_demo_without_keep_removes_its_repo_and_dir_still_works(tmp_path):
    """`--dir` still names the folder (an alias of --keep): a non-empty one is refused in one line."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    r = invoke(None, "demo", "--dir", str(tmp_path / "full"))
    assert r.exit_code == 1 and "not empty" in r.stderr and r.stderr.count("\n") == 1
    r = invoke(None, "demo", "--keep", str(tmp_path / "full"))
    assert r.exit_code == 1 and "not empty" in r.stderr
