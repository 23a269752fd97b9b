"""The DVC adapter: every call into DVC goes through this module (dvc 3.x, pinned major).

DVC's in-process `Repo` API is not promised stable, so it is used for the few things that
must match DVC exactly (`add`, `checkout`, `fetch`); cheap facts (a `.dvc` file's md5, where
a cache object lives) are read directly from DVC's documented on-disk formats.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.errors import ExternalError, MissingDataError, RemoteError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DvcOut:
    """The single output recorded in a `.dvc` file."""

    md5: str
    size: int | None
    path: str


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep DVC's hints ("To track the changes with git...") off our stdout."""
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _dvc_repo(root: Path) -> Any:
    """DVC's Repo for `root`; callers run inside `_in(root)` (DVC resolves paths from cwd)."""
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    from dvc.repo import Repo

    return Repo(str(root))


@contextlib.contextmanager
def _in(root: Path) -> Iterator[None]:
    """Quiet DVC and run it from the repository root."""
    with _quiet(), contextlib.chdir(root):
        yield


def _wrap(action: str, exc: Exception) -> ExternalError:
    text = str(exc).strip().splitlines()
    return ExternalError(f"dvc {action} failed: {text[0] if text else type(exc).__name__}")


def is_initialized(root: Path) -> bool:
    """Whether `root` holds a DVC project."""
    return (root / ".dvc").is_dir()


def init(root: Path) -> bool:
    """`dvc init` in `root` unless it is already a DVC project; True when it initialized."""
    if is_initialized(root):
        return False
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    from dvc.repo import Repo

    try:
        with _in(root):
            Repo.init(str(root))
    except Exception as exc:  # DVC raises many types; surface them as one
        raise _wrap("init", exc) from None
    return True


def add(root: Path, path: str, *, md5_hint: str | None = None) -> DvcOut:
    """`dvc add PATH` through DVC's API; returns what the new `.dvc` file records.

    `md5_hint`: the file's md5, already computed for its current stat. It is saved in DVC's
    state db (keyed by inode, mtime and size, as DVC saves its own), so DVC does not hash
    the file a second time; if the file changes before DVC looks, DVC hashes it itself.
    """
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
                if md5_hint:
                    from dvc_data.hashfile.hash_info import HashInfo

                    repo.state.save(os.fspath(root / path), repo.fs, HashInfo("md5", md5_hint))
                repo.add(path)
            finally:
                repo.close()
    except Exception as exc:
        raise _wrap("add", exc) from None
    out = read_dvcfile(root / dvcfile_for(path))
    assert out is not None
    return out


def checkout(root: Path, path: str, *, fetch_missing: bool = True) -> None:
    """Make the work-tree file match its `.dvc` file, fetching from the remote if needed."""
    target = dvcfile_for(path)
    out = read_dvcfile(root / target)
    if out and fetch_missing:
        fetch_objects(root, [out.md5], {out.md5: path})  # by hash, quietly; one line if it fails
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
                repo.checkout(targets=[target], force=True)
            finally:
                repo.close()
    except MissingDataError:
        raise
    except Exception as exc:
        raise _wrap("checkout", exc) from None


def fetch_version(root: Path, path: str, md5: str, rev: str | None = None) -> Path:
    """Bring the cache object `md5` of `path` from the default DVC remote (exactly that object,
    by its hash: `rev`, the git commit that recorded it, need not be in this clone)."""
    fetch_objects(root, [md5], {md5: path})
    return cache_path(root, md5)


def dvcfile_for(path: str) -> str:
    """The `.dvc` file DVC writes beside a data file."""
    return f"{path}.dvc"


def parse_dvcfile(text: bytes | str) -> DvcOut | None:
    """The output of a single-output `.dvc` file, or None if it has none."""
    import yaml

    data = yaml.safe_load(text) or {}
    outs = data.get("outs") or []
    if len(outs) != 1 or "md5" not in outs[0]:
        return None
    out = outs[0]
    return DvcOut(md5=str(out["md5"]), size=out.get("size"), path=str(out.get("path", "")))


def read_dvcfile(path: Path) -> DvcOut | None:
    """Parse the `.dvc` file at `path`, or None when it does not exist."""
    if not path.exists():
        return None
    return parse_dvcfile(path.read_bytes())


def _config_cache_dir(root: Path) -> Path | None:
    for name in ("config.local", "config"):
        cfg = root / ".dvc" / name
        if not cfg.exists():
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read_string(cfg.read_text(encoding="utf-8"))
        except configparser.Error:
            continue
        value = parser.get("cache", "dir", fallback=None)
        if value:
            value = value.strip().strip("'\"")
            return (root / ".dvc" / value).resolve()
    return None


def cache_root(root: Path) -> Path:
    """The directory of DVC's local cache (honours `cache.dir`)."""
    return _config_cache_dir(root) or root / ".dvc" / "cache"


def cache_path(root: Path, md5: str) -> Path:
    """Where DVC 3 stores the object with this md5 (refusing anything but 32 hex digits: the
    md5 comes from files a cloned repository may have forged)."""
    digits = md5[:-4] if md5.endswith(".dir") else md5  # DVC's directory objects end in .dir
    if len(digits) != 32 or not all(c in "0123456789abcdef" for c in digits):
        raise MissingDataError(
            f"{md5[:40]!r} is not an md5: a .dvc file or journal record is damaged; run `dslineage fsck`"
        )
    return cache_root(root) / "files" / "md5" / md5[:2] / md5[2:]


def has_remote(root: Path) -> bool:
    """Whether a default DVC remote is configured."""
    for name in ("config.local", "config"):
        cfg = root / ".dvc" / name
        if cfg.exists() and "remote" in cfg.read_text(encoding="utf-8"):
            return True
    return False


def file_md5(path: Path) -> str:
    """The md5 DVC 3 records for a file (of its bytes)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- pipelines: dvc.yaml stages, dvc.lock, running stages (the lineage issue) -------------

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
                        name=name, cmd=cmd, deps=list(deps or []), outs=list(outs or []),
                        params=parse_params(params or []), metrics_no_cache=list(metrics or []), force=True,
                    )
                done = repo.reproduce(name, single_item=True, force=force)
            finally:
                repo.close()
    except Exception as exc:
        raise _repro_error(
            exc, f"the command of stage {name!r} failed with exit status {{status}}: "
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
            exc, "a stage command failed with exit status {status} while re-running the "
            "pipeline: see its output above",
        ) from None
    return [getattr(s, "addressing", str(s)) for s in done or []]


def fetch_objects(
    root: Path, md5s: list[str], what: dict[str, str] | None = None, *, remote: str | None = None
) -> list[str]:
    """Bring exactly these cache objects (by md5) from the DVC remote (default: the default one).

    Returns the md5s that were fetched. An object that is missing with no remote, or that
    the remote lacks, is a MissingDataError naming it (`what` maps md5 -> a description); a
    remote that cannot be reached is a RemoteError, one line (DVC's own log lines are kept
    off stderr).
    """
    what = what or {}
    need = sorted({m for m in md5s if not cache_path(root, m).exists()})
    if not need:
        return []
    first = need[0]
    label = f"{first} ({what[first]})" if first in what else first
    if not has_remote(root):
        raise MissingDataError(
            f"DVC cache object {label} is missing and no DVC remote is configured: add one with "
            "`dvc remote add -d NAME URL`, or run `dvc pull` where the data lives"
        )
    from dvc_data.hashfile.hash_info import HashInfo

    with _remote_session(root, "fetch", remote) as (repo, name):
        repo.cloud.pull([HashInfo("md5", m) for m in need], remote=name)
    still = [m for m in need if not cache_path(root, m).exists()]
    if still:
        m = still[0]
        raise MissingDataError(
            f"DVC cache object {m}{f' ({what[m]})' if m in what else ''} is not on the DVC remote "
            f"{name!r}: run `dslineage push` on a machine that has it"
        )
    return need


# -- remotes: push, status (`dslineage push`, `pull`, `fsck --remote`) -----------------------

_DVC_LOGGERS = ("dvc", "dvc_objects", "dvc_data")


class _Collect(logging.Handler):
    """Keeps DVC's log records (warnings and errors) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first_error(self) -> str | None:
        """The first error DVC logged, with the reason of its exception (one line)."""
        for rec in self.records:
            if rec.levelno >= logging.ERROR:
                text = rec.getMessage()
                if rec.exc_info and rec.exc_info[1] is not None:
                    text += f" - {str(rec.exc_info[1]).strip() or type(rec.exc_info[1]).__name__}"
                return text.splitlines()[0] if text.strip() else None
        return None


@contextlib.contextmanager
def _collected(collect: _Collect) -> Iterator[_Collect]:
    """DVC's loggers write into `collect`, not to stderr, until the block ends: its raw
    `ERROR: failed to connect to s3 ...` lines become (at most) one dslineage error."""
    import dvc  # noqa: F401  (its first import adds DVC's console handlers: before they are swapped out)

    saved = []
    for name in _DVC_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers = [collect]
        logger.propagate = False
    try:
        yield collect
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers = handlers
            logger.propagate = propagate


_CREDENTIALS_HINT = (
    "check the remote's URL and endpoint (`dvc remote list`, `.dvc/config`) and your credentials "
    "(for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment)"
)


@contextlib.contextmanager
def _remote_session(root: Path, action: str, remote: str | None) -> Iterator[tuple[Any, str]]:
    """DVC's Repo and the name of the remote (`remote`, else the default) for one transfer;
    any failure (no such remote, no connection, no credentials, failed objects) is one
    RemoteError line naming the remote and what to check."""
    name = remote or ""
    log = _Collect()
    try:
        with _in(root), _collected(log):
            repo = _dvc_repo(root)
            try:
                name = remote_name(repo, remote)
                yield repo, name
            finally:
                repo.close()
    except (MissingDataError, RemoteError):
        raise
    except Exception as exc:
        reason = log.first_error() or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if type(exc).__name__ in ("NoRemoteError", "RemoteNotFoundError", "RemoteConfigError"):
            raise RemoteError(f"dvc {action}: {reason}: configure one with `dvc remote add -d NAME URL`") from None
        where = {"push": "to", "fetch": "from"}.get(action, "with") + " the DVC remote" + (f" {name!r}" if name else "")
        raise RemoteError(f"dvc {action} {where} failed ({reason}): {_CREDENTIALS_HINT}") from None
    # a transfer that "succeeds" after DVC logged an error (e.g. it could not connect) failed
    error = log.first_error()
    if error:
        raise RemoteError(f"dvc {action} with the DVC remote {name!r} failed ({error}): {_CREDENTIALS_HINT}")


def remote_name(repo: Any, remote: str | None) -> str:
    """The DVC remote `remote` (checked to exist) or the default one, by name (DVC's Repo)."""
    names = list(repo.config.get("remote", {}))
    if remote:
        if remote not in names:
            raise RemoteError(
                f"there is no DVC remote named {remote!r}"
                + (f" (there are: {', '.join(names)})" if names else "")
                + ": add it with `dvc remote add NAME URL`"
            )
        return remote
    default = repo.config.get("core", {}).get("remote")
    if not default:
        if names:
            raise RemoteError(
                f"no default DVC remote is configured (there are: {', '.join(names)}): make one the default "
                "with `dvc remote default NAME` (push and pull also take -r NAME)"
            )
        raise RemoteError("no DVC remote is configured: add one with `dvc remote add -d NAME URL`")
    return str(default)


def remote_names(root: Path) -> list[str]:
    """The names of the DVC remotes configured in `root` (every config level)."""
    with _in(root):
        repo = _dvc_repo(root)
        try:
            return sorted(repo.config.get("remote", {}))
        finally:
            repo.close()


def default_remote(root: Path) -> str | None:
    """The name of the default DVC remote (`core.remote` at any config level), or None."""
    with _in(root):
        repo = _dvc_repo(root)
        try:
            name = repo.config.get("core", {}).get("remote")
        finally:
            repo.close()
    return str(name) if name else None


@dataclass(frozen=True)
class RemoteStatus:
    """Where a set of cache objects (md5s) are, compared with one remote."""

    remote: str
    present: frozenset[str]  # on the remote
    local_only: frozenset[str]  # in the local cache, not on the remote
    missing: frozenset[str]  # neither in the local cache nor on the remote


def remote_status(root: Path, md5s: list[str], *, remote: str | None = None) -> RemoteStatus:
    """Which of these objects the DVC remote (default: the default one) holds."""
    from dvc_data.hashfile.hash_info import HashInfo

    want = sorted(set(md5s))
    for m in want:
        cache_path(root, m)  # refuses anything but an md5 (the journal may be forged)
    with _remote_session(root, "status", remote) as (repo, name):
        st = repo.cloud.status([HashInfo("md5", m) for m in want], remote=name)
    values = {k: frozenset(h.value for h in getattr(st, k)) for k in ("ok", "deleted", "new", "missing")}
    return RemoteStatus(name, values["ok"] | values["deleted"], values["new"], values["missing"])


@dataclass(frozen=True)
class PushResult:
    """What `push_objects` did: objects sent, already there, and missing everywhere."""

    remote: str
    pushed: frozenset[str]
    present: frozenset[str]
    missing: frozenset[str]


def push_objects(root: Path, md5s: list[str], *, remote: str | None = None) -> PushResult:
    """Push these cache objects (by md5) to the DVC remote (default: the default one), as
    `dvc push` does for the objects of the work tree's `.dvc` files. Objects already on the
    remote are not sent again; objects in neither place are reported, not an error."""
    from dvc_data.hashfile.hash_info import HashInfo

    st = remote_status(root, md5s, remote=remote)
    pushed: set[str] = set()
    if st.local_only:
        with _remote_session(root, "push", st.remote) as (repo, name):
            result = repo.cloud.push([HashInfo("md5", m) for m in sorted(st.local_only)], remote=name)
        pushed = {h.value for h in result.transferred}
        failed = sorted(h.value for h in result.failed)
        if failed:
            raise RemoteError(
                f"dvc push to the DVC remote {st.remote!r} failed for {len(failed)} object(s) "
                f"(first: {failed[0]}): {_CREDENTIALS_HINT}"
            )
    return PushResult(st.remote, frozenset(pushed), st.present, st.missing)


def share_cache(worktree: Path, main: Path) -> None:
    """Make the DVC project in `worktree` use `main`'s cache and local remote settings."""
    parser = configparser.ConfigParser()
    local = main / ".dvc" / "config.local"
    if local.exists():
        with contextlib.suppress(configparser.Error):
            parser.read_string(local.read_text(encoding="utf-8"))
    if not parser.has_section("cache"):
        parser.add_section("cache")
    parser.set("cache", "dir", str(cache_root(main).resolve()))
    buf = io.StringIO()
    parser.write(buf)
    (worktree / ".dvc").mkdir(exist_ok=True)
    (worktree / ".dvc" / "config.local").write_text(buf.getvalue(), encoding="utf-8")


def dvcfile_outs(root: Path) -> dict[str, str]:
    """Every `.dvc` file in the work tree (outside .git/.dvc) and the md5 it records."""
    result: dict[str, str] = {}
    for path in root.rglob("*.dvc"):
        rel = path.relative_to(root)
        if rel.parts[0] in (".git", ".dvc") or not path.is_file():
            continue
        out = read_dvcfile(path)
        if out is not None:
            result[rel.as_posix()] = out.md5
    return result


def checkout_dvcfiles(root: Path, targets: list[str]) -> None:
    """`dvc checkout --force` of these `.dvc` files (their objects must be in the cache)."""
    if not targets:
        return
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
                repo.checkout(targets=targets, force=True)
            finally:
                repo.close()
    except Exception as exc:
        raise _wrap("checkout", exc) from None
