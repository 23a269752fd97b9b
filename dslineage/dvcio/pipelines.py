"""DVC pipelines: `dvc.yaml` stage definitions, `dvc.lock` states, running stages
(`dvc repro`) and fetching the cache objects they need."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.dvcio.data import _dvc_repo, _in, _wrap

PROJECT_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"


@dataclass(frozen=True)
class LockEntry:
    """One stage as `dvc.lock` records it: command, hashed deps and outs, params used."""

    stage: str
    cmd: str
    deps: tuple[tuple[str, str], ...]  # (path, md5)
    outs: tuple[tuple[str, str], ...]  # (path, md5)
    params: dict[str, dict[str, Any]]  # params file -> {key: value}


def _cmd_text(cmd: Any) -> str:
    return " && ".join(cmd) if isinstance(cmd, list) else str(cmd or "")


def parse_lock(text: bytes | str | None) -> dict[str, LockEntry]:
    """The stages recorded in a `dvc.lock` text (schema 2.0), by stage name."""
    import yaml

    data = yaml.safe_load(text or "") or {}
    result: dict[str, LockEntry] = {}
    for name, st in (data.get("stages") or {}).items():
        st = st or {}

        def files(key: str, st: dict[str, Any] = st) -> tuple[tuple[str, str], ...]:
            return tuple(
                (str(d["path"]), str(d.get("md5") or d.get("etag") or d.get("checksum") or ""))
                for d in st.get(key) or []
            )

        result[str(name)] = LockEntry(
            stage=str(name),
            cmd=_cmd_text(st.get("cmd")),
            deps=files("deps"),
            outs=files("outs"),
            params={str(k): dict(v or {}) for k, v in (st.get("params") or {}).items()},
        )
    return result


def lock_bytes(root: Path) -> bytes | None:
    """The bytes of `dvc.lock` in the work tree, or None."""
    path = root / LOCK_FILE
    return path.read_bytes() if path.exists() else None


def read_lock(root: Path) -> dict[str, LockEntry]:
    """The stages recorded in the work tree's `dvc.lock`."""
    return parse_lock(lock_bytes(root))


def stage_output_md5(root: Path, path: str) -> str | None:
    """The md5 `dvc.lock` records for `path` if it is the output of a stage, else None."""
    if not (root / LOCK_FILE).exists():
        return None
    for entry in read_lock(root).values():
        for out_path, md5 in entry.outs:
            if out_path == path:
                return md5
    return None


def stage_definitions(root: Path) -> dict[str, dict[str, Any]]:
    """The stages defined in the work tree's `dvc.yaml` (as written, by name)."""
    path = root / PROJECT_FILE
    return parse_definitions(path.read_bytes()) if path.exists() else {}


def parse_definitions(text: bytes | str | None) -> dict[str, dict[str, Any]]:
    """The stages a `dvc.yaml` text defines (as written, by name)."""
    import yaml

    try:
        data = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): dict(v or {}) for k, v in (data.get("stages") or {}).items() if isinstance(v, dict) or v is None}


def metrics_paths(definitions: dict[str, dict[str, Any]]) -> set[str]:
    """The paths stages declare as metrics (`metrics:` in dvc.yaml, `dvc stage add -m/-M`)."""
    paths = set()
    for stage in definitions.values():
        for item in stage.get("metrics") or []:
            paths.add(str(next(iter(item))) if isinstance(item, dict) else str(item))
    return paths


def command_text(args: list[str]) -> str:
    """The shell command of a stage from CLI words: one word is taken as written (a shell
    string, as `dvc stage add` does); several are joined with POSIX quoting."""
    import shlex

    return args[0] if len(args) == 1 else shlex.join(args)


@contextlib.contextmanager
def _child_stdout_to_stderr() -> Iterator[None]:
    """Send what a stage command prints to our stderr: our stdout carries results only."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _repro_error(exc: Exception, message: str) -> Exception:
    """What a failed `dvc repro` becomes: StageFailedError with the command's exit status
    (`message` names it as `{status}`), or ExternalError when DVC itself failed."""
    from dslineage.errors import StageFailedError

    status = _exit_status(exc)
    if status is not None:
        return StageFailedError(message.format(status=status), status)
    return _wrap("repro", exc)


def _exit_status(exc: BaseException) -> int | None:
    """The exit status of a failed stage command, found in DVC's exception chain."""
    import re

    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "StageCmdFailedError":
            m = re.search(r"exited with (-?\d+)", str(seen))
            return int(m.group(1)) if m else 1
        seen = seen.__cause__ or seen.__context__
    return None


def run_stage(
    root: Path,
    name: str,
    *,
    cmd: str | None = None,
    deps: list[str] | None = None,
    outs: list[str] | None = None,
    params: list[str] | None = None,
    metrics: list[str] | None = None,
    force: bool = False,
) -> bool:
    """Write stage `name` into dvc.yaml (as `dvc stage add --force` does, when `cmd` is
    given) and reproduce that one stage, as `dvc repro -s NAME [-f]` does. `metrics` are
    metrics outputs DVC does not cache (`dvc stage add -M`).

    Returns whether DVC ran (or restored from its run cache) the stage; False when it
    was up to date. A failing command raises StageFailedError carrying its exit status.
    """

    try:
        with _in(root), _child_stdout_to_stderr():
            repo = _dvc_repo(root)
            try:
                if cmd is not None:
                    from dvc.utils.cli_parse import parse_params

                    repo.stage.add(
                        name=name,
                        cmd=cmd,
                        deps=list(deps or []),
                        outs=list(outs or []),
                        params=parse_params(params or []),
                        metrics_no_cache=list(metrics or []),
                        force=True,
                    )
                done = repo.reproduce(name, single_item=True, force=force)
            finally:
                repo.close()
    except Exception as exc:
        raise _repro_error(
            exc,
            f"the command of stage {name!r} failed with exit status {{status}}: "
            "nothing was recorded; fix the command and run again",
        ) from None
    return bool(done)


def reproduce_all(root: Path, *, force: bool = True) -> list[str]:
    """`dvc repro [-f]` of every stage in `root`'s dvc.yaml; the names of stages it ran."""

    try:
        with _in(root), _child_stdout_to_stderr():
            repo = _dvc_repo(root)
            try:
                done = repo.reproduce(force=force)
            finally:
                repo.close()
    except Exception as exc:
        raise _repro_error(
            exc, "a stage command failed with exit status {status} while re-running the pipeline: see its output above"
        ) from None
    return [getattr(s, "addressing", str(s)) for s in done or []]
