"""Helpers for tests on real repositories: run a command, write a dataset the safe way, make a
repository, snapshot what a refused command must leave alone, run the CLI in-process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PROJECT = Path(__file__).resolve().parents[2]
CIFAR = PROJECT.parent / "shared" / "data" / "cifar10"

_NOT_WORK_FILES = (".git", ".dvc/cache", ".dvc/tmp", ".dslineage/index.duckdb", ".dslineage/lock", ".dslineage/tmp")


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


def write_text(path: Path, text: str) -> Path:
    """Write a text dataset (CSV, TSV, JSON Lines) the safe way: new file, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)
    return path


def md5(path: Path) -> str:
    """The md5 of a file's bytes (what DVC records)."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def new_repo(root: Path) -> Path:
    """`dslineage init` a fresh repository at `root` and return it."""
    from dslineage import Repo

    root.mkdir(parents=True, exist_ok=True)
    Repo.init(root)
    return root


def snapshot_state(root: Path) -> dict[str, Any]:
    """What a refused command must leave alone: HEAD, `git status --porcelain`, every work file."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(
            rel == p or rel.startswith(p + "/") or rel.startswith(p + ".") for p in _NOT_WORK_FILES
        ):
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
    result = invoke(root, *args, "--json")
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    return json.loads(result.stdout)


def refused(root: Path, *args: str, match: str, code: int = 1) -> str:
    """A CLI command that must fail: one stderr line containing `match`, nothing changed."""
    before = snapshot_state(root)
    result = invoke(root, *args)
    err = result.stderr
    assert result.exit_code == code, (result.exit_code, err, result.stdout)
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert "unexpected" not in err, err
    assert match.lower() in err.lower(), err
    assert snapshot_state(root) == before
    return err
