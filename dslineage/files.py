"""Where dslineage keeps its files under `.dslineage/`, and the one way it writes a file:
a new file beside the target, fsync'd, renamed over it, the directory fsync'd.

Every writer goes through `atomic_write` (or `rename_into_place` when the new file is
made earlier, e.g. before a transaction starts): a crash leaves the old bytes or the new
ones, never a torn file, and a dataset file DVC may hard-link to its cache is never
modified in place. This module sits below the transaction layer (it imports nothing of
dslineage), so `config`, `txn` and `journal` can all use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

META_DIR = ".dslineage"
JOURNAL_DIR = f"{META_DIR}/journal"
DATASETS_DIR = f"{META_DIR}/datasets"
SETTINGS_FILE = f"{META_DIR}/config.yaml"
INDEX_FILE = f"{META_DIR}/index.duckdb"
GITIGNORE = f"{META_DIR}/.gitignore"
IGNORED = ("index.duckdb", "index.duckdb.wal", "tmp/", "lock", "txn/", "merge/")

T = TypeVar("T")


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename in it) to disk; silently skipped where the
    platform cannot open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rename_into_place(new: Path, path: Path) -> None:
    """Fsync the finished file `new`, rename it over `path`, fsync the directory."""
    fsync_file(new)
    os.replace(new, path)
    fsync_dir(path.parent)


def temp_beside(path: Path, tag: str = "tmp") -> Path:
    """The temporary name a new version of `path` is written under before the rename."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


def atomic_write(path: Path, write: Callable[[Path], T], *, tmp: Path | None = None) -> T:
    """Call `write(tmp)` to create the new file beside `path`, then `rename_into_place` it;
    returns what `write` returns. On an error the temporary file is removed, `path` untouched."""
    tmp = tmp or temp_beside(path)
    tmp.unlink(missing_ok=True)
    try:
        result = write(tmp)
        rename_into_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (new file, fsync, rename, directory fsync)."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_pruning(path: Path, top: Path) -> None:
    """Delete the file `path` and every folder it leaves empty up to `top` (kept): DVC keeps
    no empty folder in a directory output."""
    path.unlink(missing_ok=True)
    for folder in path.parents:
        if folder == top or not folder.is_relative_to(top) or any(folder.iterdir()):
            break
        folder.rmdir()
