"""What every per-partition task (a part diff, a part's audit statistics) runs on: a DuckDB
cursor in the process that runs it (a pool process or a Dask worker), reading its parts by
local path, through a given fsspec filesystem, or straight from the S3 remote.

A task is handed `reads`: None (local paths), an fsspec filesystem (registered as is), or the
remote's `dvcio.S3Location` (name, URL, endpoint, region: no credentials). With a location the
task opens its own counted s3fs filesystem, its credentials from the environment of the
process that runs it (the worker's), and reports the bytes it received (`TaskReads`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dslineage.dvcio.remote_read import ReadCounter, S3Location, remote_filesystem


@dataclass(frozen=True)
class TaskReads:
    """What the tasks of one command read from the S3 remote: tasks, bytes received, ranged GETs."""

    tasks: int = 0
    bytes_read: int = 0
    requests: int = 0

    def __add__(self, other: TaskReads) -> TaskReads:
        return TaskReads(self.tasks + other.tasks, self.bytes_read + other.bytes_read, self.requests + other.requests)


_DB: dict[str, Any] = {}  # this process's database for tasks: {"key": ..., "db": ...}
_DB_LOCK = threading.Lock()


def _shared_cursor(threads: int | None, filesystem: Any) -> Any:
    """A fresh connection (own temp tables) to this process's in-memory database for tasks: opening
    a database costs 20-40 ms, a cursor on one almost nothing. A new database when the threads or
    the filesystem change (the old one closes with its last cursor)."""
    import duckdb

    key = (threads, id(filesystem) if filesystem is not None else None)
    with _DB_LOCK:
        if _DB.get("key") != key:
            db = duckdb.connect(":memory:")
            if filesystem is not None:
                db.register_filesystem(filesystem)
            if threads:
                db.execute(f"SET threads = {int(threads)}")
            db.execute("SET preserve_insertion_order = false")
            _DB.update(key=key, db=db)
        return _DB["db"].cursor()


@dataclass
class PathCounter(ReadCounter):
    """A process's count of what its tasks fetched from the remote, per object path (tasks of one
    process share one filesystem; each reports the bytes of its own objects), and the error of a
    ranged read per path."""

    per_path: dict[str, list[int]] = field(default_factory=dict)  # path -> [bytes, requests]
    failed_at: dict[str, BaseException] = field(default_factory=dict)

    def read(self, path: str, start: int, end: int, fetch: Callable[[int, int], bytes]) -> bytes:
        """Bytes `start:end` of `path` by one ranged GET, counted for `path`."""

        def counted(lo: int, hi: int) -> bytes:
            data = fetch(lo, hi)
            with self._lock:
                got = self.per_path.setdefault(path, [0, 0])
                got[0] += len(data)
                got[1] += 1
            return data

        try:
            return super().read(path, start, end, counted)
        except Exception as exc:
            self.failed_at[path] = exc
            raise

    def forget(self, paths: list[str]) -> None:
        """Drop the ranges kept for these paths (a task that read them is done)."""
        with self._lock:
            for k in [k for k in self._ranges if k[0] in paths]:
                self._kept -= len(self._ranges.pop(k))

    def snapshot(self, paths: list[str]) -> tuple[int, int]:
        """(bytes, requests) fetched so far for these paths."""
        with self._lock:
            got = [self.per_path.get(p, [0, 0]) for p in paths]
        return sum(g[0] for g in got), sum(g[1] for g in got)


_S3: dict[tuple[Any, ...], tuple[Any, PathCounter]] = {}  # (threads, location) -> (database, counter)


def _s3_cursor(threads: int | None, loc: S3Location) -> tuple[Any, PathCounter]:
    """A cursor on this process's database that reads `loc` through one counted s3fs filesystem
    (made once per process: an S3 client costs far more than a task's reads of a small part)."""
    import duckdb

    key = (threads, loc)
    with _DB_LOCK:
        if key not in _S3:
            counter = PathCounter()  # ranges kept while a task runs (its footer is read twice)
            db = duckdb.connect(":memory:")
            db.register_filesystem(remote_filesystem(loc, counter))
            if threads:
                db.execute(f"SET threads = {int(threads)}")
            db.execute("SET preserve_insertion_order = false")
            _S3[key] = (db, counter)
        db, counter = _S3[key]
        return db.cursor(), counter


@dataclass
class Tally:
    """One task's reads from the remote: its objects' paths and the process counter's figures before."""

    counter: PathCounter | None = None
    paths: list[str] = field(default_factory=list)
    before: tuple[int, int] = (0, 0)

    @property
    def failed(self) -> BaseException | None:
        """The error of a ranged read of one of this task's objects, if one failed."""
        if self.counter is None:
            return None
        return next((self.counter.failed_at[p] for p in self.paths if p in self.counter.failed_at), None)

    def reads(self) -> TaskReads:
        """What this task fetched: 1 task, bytes and GETs of its objects since it started."""
        if self.counter is None:
            return TaskReads(1)
        now = self.counter.snapshot(self.paths)
        return TaskReads(1, now[0] - self.before[0], now[1] - self.before[1])


@contextlib.contextmanager
def task_cursor(threads: int | None, reads: Any, urls: list[str | None]) -> Iterator[tuple[Any, Tally]]:
    """(cursor, tally) for one task reading `urls`: the process's shared database for local paths
    or a given filesystem; for an `S3Location`, the process's database reading the remote through
    its counted s3fs filesystem (the tally then says what this task's objects cost)."""
    if not isinstance(reads, S3Location):
        con, tally = _shared_cursor(threads, reads), Tally()
    else:
        con, counter = _s3_cursor(threads, reads)
        paths = [u.split("://", 1)[1] for u in urls if u and u.startswith("s3://")]
        tally = Tally(counter, paths, counter.snapshot(paths))
    try:
        yield con, tally
    finally:
        con.close()
        if tally.counter is not None:
            tally.counter.forget(tally.paths)
