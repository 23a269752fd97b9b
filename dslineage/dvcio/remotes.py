"""DVC remotes: which are configured, what a remote holds, pushing objects to it, and
sharing the cache with a temporary git worktree (`push`, `pull`, `fsck --remote`,
`reproduce --rerun`)."""

from __future__ import annotations

import configparser
import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.dvcio.data import (
    _dvc_repo,
    _in,
    _wrap,
    cache_path,
    cache_root,
    dir_children,
    dvcfile_for,
    has_remote,
    read_dvcfile,
)
from dslineage.errors import MissingDataError, RemoteError

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
    `dvc push` does for the objects of the work tree's `.dvc` files. A directory object's
    files go with its `.dir` manifest. Objects already on the remote are not sent again;
    objects in neither place are reported, not an error."""
    from dvc_data.hashfile.hash_info import HashInfo

    md5s = [*md5s, *(c for m in md5s for c in dir_children(root, m))]
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


def fetch_objects(
    root: Path, md5s: list[str], what: dict[str, str] | None = None, *, remote: str | None = None
) -> list[str]:
    """Bring exactly these cache objects (by md5) from the DVC remote (default: the default one);
    a directory object's files come after its `.dir` manifest.

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
        children = {m: dir_children(root, m) for m in need}  # each fetched manifest read once
        files = sorted({c for cs in children.values() for c in cs if not cache_path(root, c).exists()})
        if files:
            repo.cloud.pull([HashInfo("md5", m) for m in files], remote=name)
            what.update({c: f"a file of {what.get(m, m)}" for m, cs in children.items() for c in cs})
            need += files
    still = [m for m in need if not cache_path(root, m).exists()]
    if still:
        m = still[0]
        raise MissingDataError(
            f"DVC cache object {m}{f' ({what[m]})' if m in what else ''} is not on the DVC remote "
            f"{name!r}: run `dslineage push` on a machine that has it"
        )
    return need


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
