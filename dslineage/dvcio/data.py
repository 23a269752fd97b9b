"""Data calls into DVC: `add`, `checkout`, fetching a version, `.dvc` files, where a cache
object lives, md5s (the shared helpers of the adapter live here too)."""

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


_preloading: list[Any] = []
# what `Repo(root).add(path)` imports, DVC importing most of it lazily: `dvc.repo` alone left
# ~400 modules (networkx for its stage graph, its index, cache and SCM layers, ~0.12 s) to
# be imported on the main thread inside `add`
_PRELOAD = (
    "dvc.repo",
    "dvc_data.hashfile.hash_info",
    "networkx",
    "dvc.repo.index",
    "dvc.repo.graph",
    "dvc.repo.add",
    "dvc.repo.stage",
    "dvc.cachemgr",
    "dvc.data_cloud",
    "dvc.dvcfile",
    "dvc.output",
    "dvc.stage",
    "dvc.lock",
    "dvc.rwlock",
    "dvc.scm",
    "dvc.utils.strictyaml",
    "dvc_data.hashfile.db.local",
    "dvc_data.hashfile.status",
    "dvc_data.hashfile._progress",
    "scmrepo.git",
    "ruamel.yaml",
    "rich.console",
    "rich.status",  # `add` shows a status line (quiet, but rich builds it): ~0.06 s
)


def preload() -> None:
    """Import DVC's `Repo` on a background thread, once per process: a commit calls this before it
    hashes the file and diffs the rows, which release the GIL, so that the import (about a sixth
    of a 5M-row commit's CPU) runs beside them on the second core; `add` then finds it imported
    (Python's import lock makes it wait for an import still running; a failed one is retried)."""
    if _preloading:
        return
    import threading

    def load() -> None:
        os.environ.setdefault("DVC_NO_ANALYTICS", "1")
        import importlib

        for name in _PRELOAD:
            with contextlib.suppress(Exception):  # a failed import is retried (and raised) on use
                importlib.import_module(name)

    _preloading.append(threading.Thread(target=load, name="dslineage-dvc-import", daemon=True))
    _preloading[0].start()


def _dvc_repo(root: Path) -> Any:
    """DVC's Repo for `root`; callers run inside `_in(root)` (DVC resolves paths from cwd)."""
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    for loading in _preloading:  # DVC's modules are not imported from two threads at once
        loading.join()
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


def add(root: Path, path: str, *, md5_hint: str | None = None, part_hints: dict[str, str] | None = None) -> DvcOut:
    """`dvc add PATH` through DVC's API; returns what the new `.dvc` file records.

    `md5_hint`: the file's md5, already computed for its current stat. It is saved in DVC's
    state db (keyed by inode, mtime and size, as DVC saves its own), so DVC does not hash
    the file a second time; if the file changes before DVC looks, DVC hashes it itself.
    `part_hints` does the same for the files of a directory (relative path -> md5).
    """
    try:
        with _in(root):
            repo = _dvc_repo(root)
            try:
                from dvc_data.hashfile.hash_info import HashInfo

                if md5_hint:
                    repo.state.save(os.fspath(root / path), repo.fs, HashInfo("md5", md5_hint))
                for rel, md5 in (part_hints or {}).items():
                    repo.state.save(os.fspath(root / path / rel), repo.fs, HashInfo("md5", md5))
                repo.add(path)
            finally:
                repo.close()
    except Exception as exc:
        raise _wrap("add", exc) from None
    out = read_dvcfile(root / dvcfile_for(path))
    assert out is not None
    return out


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


_CACHE_DIRS: dict[tuple[Path, tuple[tuple[int, int] | None, ...]], Path | None] = {}


def _config_cache_dir(root: Path) -> Path | None:
    """`cache.dir` of the DVC config, parsed once per process while the config files' stat holds (a
    directory dataset asks for the cache path of every part, several times a command)."""

    def sig(name: str) -> tuple[int, int] | None:
        try:
            st = (root / ".dvc" / name).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    key = (root, (sig("config.local"), sig("config")))
    if key not in _CACHE_DIRS:
        _CACHE_DIRS[key] = _read_cache_dir(root)
    return _CACHE_DIRS[key]


def _read_cache_dir(root: Path) -> Path | None:
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


def dir_children(root: Path, md5: str) -> list[str]:
    """The md5s of the files a cached `.dir` manifest lists (none for a file object, or when
    the manifest is not cached or unreadable: DVC transfers a directory's manifest and its
    files as separate objects, so push and fetch name the files themselves)."""
    if not md5.endswith(".dir"):
        return []
    import json

    try:
        entries = json.loads(cache_path(root, md5).read_bytes())
        return [str(e["md5"]) for e in entries]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def has_remote(root: Path) -> bool:
    """Whether a default DVC remote is configured."""
    for name in ("config.local", "config"):
        cfg = root / ".dvc" / name
        if cfg.exists() and "remote" in cfg.read_text(encoding="utf-8"):
            return True
    return False


class HashingFile(io.RawIOBase):
    """A new binary file whose md5 (DVC's, of its bytes: `file_md5`) is computed while it is
    written, on a thread of its own (hashlib releases the GIL), so that no second pass reads the
    file back. `md5()` after `close()`."""

    def __init__(self, path: Path) -> None:
        """Create (truncate) `path` for writing."""
        import queue
        import threading

        super().__init__()
        self._fh = open(path, "wb")  # noqa: SIM115 (closed by close())
        self._digest = hashlib.md5()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=32)
        self._thread = threading.Thread(target=self._hash, name="dslineage-md5", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        while (data := self._queue.get()) is not None:
            self._digest.update(data)

    def writable(self) -> bool:
        """Always: the file is open for writing."""
        return True

    def write(self, data: Any) -> int:
        """Write and hash `data` (a bytes-like object); the number of bytes written."""
        chunk = bytes(data)
        self._fh.write(chunk)
        self._queue.put(chunk)
        return len(chunk)

    def close(self) -> None:
        """Finish the file and the hash."""
        if not self.closed:
            self._queue.put(None)
            self._thread.join()
            self._fh.close()
        super().close()

    def md5(self) -> str:
        """The md5 of every byte written (after `close`)."""
        return self._digest.hexdigest()


def file_md5(path: Path) -> str:
    """The md5 DVC 3 records for a file (of its bytes)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
