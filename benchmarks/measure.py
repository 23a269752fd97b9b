"""Timing harness: every measurement runs in a child process, so peak RSS is its own.

Two kinds: `task()` runs a function of `benchmarks.worker` in a fresh interpreter
(imports done before the clock starts; the child times the call itself and reports its
peak RSS from `resource.getrusage`), and `command()` times a whole command line from
outside (wall clock, peak RSS from `os.wait4`), as a user at a terminal sees it.
Results are the median of several runs; all runs are kept.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# the folder holding the `benchmarks` package (the repository root): children started with
# `-m benchmarks.worker` import it from there whatever their working directory
ROOT = Path(__file__).resolve().parent.parent


class TaskFailed(RuntimeError):
    """A measured child process exited non-zero."""


def _env(extra: dict[str, str] | None, *, importable: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DVC_NO_ANALYTICS", "1")
    if importable:  # the benchmarks package is not installed: put its folder on the child's path
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def task(name: str, /, *, task_env: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run worker task `name` once in a child; returns {"seconds", "rss", "result"}."""
    argv = [sys.executable, "-m", "benchmarks.worker", name, json.dumps(kwargs)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=_env(task_env, importable=True), check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise TaskFailed(f"bench task {name} failed: {' | '.join(tail)}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def command(
    argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True
) -> dict[str, Any]:
    """Run a command line once; returns wall seconds, peak RSS (bytes), exit code, output."""
    with tempfile.TemporaryDirectory(prefix="dslineage-bench-") as tmp:
        out, err = Path(tmp) / "out", Path(tmp) / "err"
        # launch.py by its path (it needs only the standard library): the measured command
        # gets this process's environment unchanged, from any working directory
        launcher = [sys.executable, str(Path(__file__).with_name("launch.py")), str(out), str(err)]
        proc = subprocess.run(
            [*launcher, *map(str, argv)], cwd=cwd, env=_env(env), capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise TaskFailed(f"launcher failed: {proc.stderr.strip()[-300:]}")
        res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        res["stdout"] = out.read_text(errors="replace")
        res["stderr"] = err.read_text(errors="replace")
    if check and res["code"] != 0:
        raise TaskFailed(f"{' '.join(map(str, argv[:4]))} failed: {res['stderr'].strip()[-300:]}")
    return res


def repeat(fn: Any, runs: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a measuring function `runs` times; the median and every run's seconds and RSS."""
    samples = [fn(*args, **kwargs) for _ in range(max(1, runs))]
    return summarize(samples)


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds and RSS of several runs (plus all runs, and the last run's result)."""
    secs = [s["seconds"] for s in samples]
    rss = [s["rss"] for s in samples if s.get("rss") is not None]
    cpu = [s["cpu"] for s in samples if s.get("cpu") is not None]
    return {
        "median_s": statistics.median(secs),
        # CPU seconds (all threads): far steadier than wall time when other jobs share the cores
        "median_cpu_s": statistics.median(cpu) if cpu else None,
        "min_s": min(secs),
        "runs_s": [round(x, 4) for x in secs],
        "rss_bytes": int(statistics.median(rss)) if rss else None,
        "max_rss_bytes": max(rss) if rss else None,
        "result": samples[-1].get("result"),
    }


def skipped(what: str, why: str) -> dict[str, Any]:
    """Record (and print) that a measurement was skipped, and why."""
    print(f"SKIPPED {what}: {why}", flush=True)
    return {"skipped": why}


def have(module: str) -> bool:
    """Whether an optional peer can be imported (without importing it here)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def bin_of(name: str) -> list[str]:
    """How to start a console script of this environment (beside the interpreter)."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    module = {"dslineage": "dslineage", "dvc": "dvc"}.get(name, name)
    return [sys.executable, "-m", module]
