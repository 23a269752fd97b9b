"""Helpers for the reliability suites: template repos copied per case, the CLI in real
processes (one per job, forked by multiprocessing's fork server), and the state a command must
leave behind (exactly before, or exactly after)."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.repos import new_repo, run, snapshot_state, write_parquet

LABELS = ["cat", "dog", "bird"]


def data(n: int = 30, relabel: dict[int, str] | None = None, extra: int = 0) -> dict[str, list[Any]]:
    """`n` rows (id, x, label), some labels overridden, `extra` rows appended."""
    ids = list(range(n + extra))
    labels = [LABELS[i % 3] for i in ids]
    for i, lab in (relabel or {}).items():
        labels[i] = lab
    return {"id": ids, "x": [i / 2 for i in ids], "label": labels}


def dslineage(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (`python -m dslineage ARGS`) in `root` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "dslineage", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


# imported once by multiprocessing's fork server, so that each job starts with them loaded (a
# fresh interpreter per job spends most of its time importing): what a relabel, a commit and
# `observe` load, found by diffing sys.modules around one run
PRELOAD = [
    "dslineage.cli",
    "dslineage.repo",
    "dslineage.ops.commit",
    "dslineage.ops.relabel",
    "dslineage.ops.track",
    "dslineage.ops.fsck",
    "dslineage.ops.log",
    "dslineage.ops.reindex",
    "dslineage.quality.check",
    "dvc.repo",
    "dvc.repo.add",
    "dvc.repo.index",
    "dvc.output",
    "dvc.scm",
    "dvc.lock",
    "dvc_data.index",
    "scmrepo.git.backend.dulwich",
    "scmrepo.git.backend.pygit2",
    "git",
    "networkx",
    "duckdb",
    "pyarrow.parquet",
    "pyarrow.compute",
    "pyarrow.dataset",
    "ruamel.yaml",
    "yaml",
    "rich.table",
    "tests.support.reliability",
]
_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload(PRELOAD)


def fork_map(
    func: str | list[str], arglist: list[list[Any]], env: list[dict[str, str]] | None = None, workers: int = 4
) -> list[dict[str, Any]]:
    """Run `tests.support.reliability.<func>(*args)` for each args in its own process, `workers`
    at a time (`func` may name one function per job), forked by multiprocessing's fork server
    from an interpreter that imported PRELOAD once. Each job's environment is this process's
    plus `env[i]`. Each result is {"ok": value}, {"error": text, "traceback": text}, or
    {"exit": code} for a process that died without answering (-9: killed by SIGKILL)."""
    funcs = func if isinstance(func, list) else [func] * len(arglist)
    results: list[dict[str, Any]] = [{} for _ in arglist]
    todo = list(range(len(arglist)))
    running: dict[int, tuple[int, Any, Path]] = {}  # sentinel -> (job, process, answer file)
    with tempfile.TemporaryDirectory() as outdir:
        while todo or running:
            while todo and len(running) < workers:
                i = todo.pop(0)
                out = Path(outdir) / f"{i}.json"
                job_env = {**os.environ, **(env[i] if env else {})}
                proc = _FORKSERVER.Process(target=_job, args=(funcs[i], arglist[i], job_env, str(out)))
                proc.start()
                running[proc.sentinel] = (i, proc, out)
            for sentinel in multiprocessing.connection.wait(list(running)):
                i, proc, out = running.pop(sentinel)  # type: ignore[index]
                proc.join()
                results[i] = json.loads(out.read_text()) if out.exists() else {"exit": proc.exitcode}
    return results


def _job(func: str, args: list[Any], env: dict[str, str], out: str) -> None:
    """One job in a forked child: its environment, no output, its answer written to `out` as JSON."""
    os.environ.clear()
    os.environ.update(env)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        answer: dict[str, Any] = {"ok": globals()[func](*args)}
    except BaseException as exc:  # reported to the test, which fails with it
        answer = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    Path(out).write_text(json.dumps(answer, default=str), encoding="utf-8")


def cli(root: str, argv: list[str]) -> int:
    """`dslineage ARGV` run in-process in `root` (in a forked worker); its exit code."""
    os.chdir(root)
    sys.argv = ["dslineage", *argv]
    from dslineage.cli import main

    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def base_repo(root: Path, versions: int = 1) -> Path:
    """A repo with `data/d.parquet` (key id, label label) tracked and committed `versions` times."""
    from dslineage import Repo

    new_repo(root)
    path = write_parquet(root / "data" / "d.parquet", data())
    with Repo(root) as repo:
        repo.track(str(path), ["id"], ["label"])
        repo.commit(["d"], "v1", None)
        for v in range(2, versions + 1):
            write_parquet(path, data(relabel={v: "dog", v + 3: "cat"}, extra=v))
            repo.commit(["d"], f"v{v}", None)
    return root


def copy_repo(template: Path, dest: Path) -> Path:
    """A private copy of a template repo (git, DVC cache, index and all)."""
    shutil.copytree(template, dest, symlinks=True)
    return dest


@dataclass
class Scenario:
    """The template repo a write command starts from, and the command line that runs it."""

    template: str
    argv: list[str]


def work_state(root: Path) -> dict[str, Any]:
    """What a command may change: HEAD, git status, every work file; journal names aside."""
    snap = snapshot_state(root)
    files = snap["files"]
    journal = sorted(k for k in files if k.startswith(".dslineage/journal/"))
    return {
        "head": snap["head"],
        "status": snap["status"],
        "files": {k: v for k, v in files.items() if not k.startswith(".dslineage/journal/")},
        "journal": len(journal),
        "journal_kinds": sorted(
            k.rsplit("-", 2)[-2] if k.endswith(".json") else k.rsplit(".", 2)[-2]
            for k in journal
            if not k.endswith(".gitkeep")
        ),
    }


def parent_of(root: Path) -> str:
    """The sha of HEAD's first parent ('' for a root commit)."""
    return run(root, "git", "rev-parse", "-q", "--verify", "HEAD^", check=False).stdout.strip()


def versions_digest(log: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A log compared across runs: everything but ids, times and commits."""
    return sorted((v["dataset"], v["seq"], v["md5"], v["message"], v["rows"], v["label_changes"]) for v in log)


def dvc_status(root: Path) -> Any:
    """`dvc status` of the repo, through DVC's API (the same answer as the command)."""
    import contextlib

    from dvc.repo import Repo as DvcRepo

    if not (root / ".dvc").is_dir():
        return None
    with contextlib.chdir(root), DvcRepo(str(root)) as d:
        return d.status()


def observe(root_text: str, rerun: list[str] | None = None) -> dict[str, Any]:
    """Everything a crash test compares, seen by the next command (which recovers first):
    the log, the work tree, `dvc status`, fsck; with `rerun`, the same after running the
    command again (and after a reindex)."""
    from dslineage import Repo
    from dslineage.errors import NotARepoError

    root = Path(root_text)
    seen: dict[str, Any] = {"log": []}
    if (root / ".dslineage").is_dir():
        try:
            with Repo(root) as repo:
                seen["log"] = versions_digest(repo.log())
        except NotARepoError:  # recovery rolled back a half-made `init`
            pass
    seen["initialized"] = (root / ".dslineage").is_dir()
    seen["intent"] = (root / ".dslineage" / "txn" / "intent.json").exists()
    seen["state"] = work_state(root)
    seen["parent"] = parent_of(root)
    seen["dvc"] = dvc_status(root)
    if seen["initialized"]:
        with Repo(root) as repo:
            seen["fsck"] = repo.fsck()["problems"]
    if rerun is not None:
        seen["rerun_exit"] = cli(root_text, rerun)
        with Repo(root) as repo:
            logged = repo.log()
            seen["rerun_log"] = versions_digest(logged)
            repo.reindex()
            seen["reindex_same"] = repo.log() == logged
            seen["rerun_fsck"] = repo.fsck(deep=True)["problems"]
    from dslineage.model import json_default

    return json.loads(json.dumps(seen, default=json_default))  # typed records (fsck's problems) as their JSON


def relabel_many(root_text: str, keys: list[int], label: str) -> int:
    """A writer (in a worker process): one relabel-and-commit per key, in sequence; then
    drops a `done` marker beside the repo. Returns the number of versions made."""
    from dslineage import Repo

    made = 0
    for key in keys:
        with Repo(root_text, wait_for_lock=120) as repo:
            made += bool(repo.relabel("d", [f"{key}={label}"], reason=f"key {key}")["version"])
    Path(root_text).with_name("done").touch()
    return made


def read_logs(root_text: str, limit: float) -> list[list[Any]]:
    """A reader (in a worker process): `log` again and again until the writer is done (or
    `limit` seconds); each answer as [(id, seq, git_commit), ...]."""
    import time

    from dslineage import Repo

    seen: list[list[Any]] = []
    done = Path(root_text).with_name("done")
    end = time.monotonic() + limit
    while time.monotonic() < end:
        finished = done.exists()
        with Repo(root_text, wait_for_lock=120) as repo:
            seen.append([(v["id"], v["seq"], v["git_commit"]) for v in repo.log("d")])
        if finished:
            break
    return seen
