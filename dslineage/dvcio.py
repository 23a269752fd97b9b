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

from dslineage.errors import ExternalError, MissingDataError

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


def add(root: Path, path: str) -> DvcOut:
    """`dvc add PATH` through DVC's API; returns what the new `.dvc` file records."""
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
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
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
                out = read_dvcfile(root / target)
                if out and fetch_missing and not cache_path(root, out.md5).exists():
                    if not has_remote(root):
                        raise MissingDataError(
                            f"DVC cache object {out.md5} for {path} is missing and no DVC "
                            "remote is configured: add one with `dvc remote add -d NAME URL`"
                        )
                    repo.fetch(targets=[target])
                repo.checkout(targets=[target], force=True)
            finally:
                repo.close()
    except MissingDataError:
        raise
    except Exception as exc:
        raise _wrap("checkout", exc) from None


def fetch_version(root: Path, path: str, md5: str, rev: str | None) -> Path:
    """Bring the cache object `md5` of `path` from the DVC remote (as of git `rev`)."""
    obj = cache_path(root, md5)
    if obj.exists():
        return obj
    if not has_remote(root):
        raise MissingDataError(
            f"DVC cache object {md5} ({path}) is missing and no DVC remote is configured: "
            "add one with `dvc remote add -d NAME URL`, or `dvc pull` it from where it lives"
        )
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
                repo.fetch(targets=[dvcfile_for(path)], revs=[rev] if rev else None)
            finally:
                repo.close()
    except Exception as exc:
        raise _wrap("fetch", exc) from None
    if not obj.exists():
        raise MissingDataError(
            f"DVC cache object {md5} ({path}) is not on the DVC remote either: "
            "push it from a machine that has it with `dvc push`"
        )
    return obj


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
    """Where DVC 3 stores the object with this md5."""
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
