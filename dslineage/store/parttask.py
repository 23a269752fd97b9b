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
from collections.abc import Iterator
from dataclasses import dataclass
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


@contextlib.contextmanager
def task_cursor(threads: int | None, reads: Any) -> Iterator[tuple[Any, ReadCounter | None]]:
    """(cursor, counter) for one task: the process's shared database for local paths or a given
    filesystem (counter None); for an `S3Location`, a database of the task's own with a counted
    s3fs filesystem registered (one task's bytes are its own to report)."""
    if not isinstance(reads, S3Location):
        con = _shared_cursor(threads, reads)
        try:
            yield con, None
        finally:
            con.close()
        return
    import duckdb

    counter = ReadCounter(keep=0)  # a task reads each range once: nothing kept
    db = duckdb.connect(":memory:")
    try:
        db.register_filesystem(remote_filesystem(reads, counter))
        if threads:
            db.execute(f"SET threads = {int(threads)}")
        db.execute("SET preserve_insertion_order = false")
        yield db, counter
    finally:
        db.close()


def reads_of(counter: ReadCounter | None) -> TaskReads:
    """One task's `TaskReads` from its counter (nothing read remotely: zeros but the task)."""
    if counter is None:
        return TaskReads(1)
    return TaskReads(1, counter.bytes_read, counter.requests)
