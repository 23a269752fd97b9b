"""The rewrite of one part of a directory dataset with its edited columns: the task a relabel,
revert or cherry-pick runs per part that holds an edited row, in the command's process, a pool
process or on a Dask worker (the same function everywhere, so the bytes are the same).

The task reads the whole part with pyarrow (its schema, metadata and footer as the file has
them) from a local path or, on a Dask cluster with an S3 remote, from the remote by its `s3://`
URL (its own counted s3fs filesystem, credentials from the worker's environment, as
`store.parttask` does for the diff tasks); replaces the columns the client edited (keys and
labels, that part's rows of the loaded table, cast to the file's types); and writes the result
in the part's own compression and row-group size — to a path the client named (this machine's
pool), or into memory, returned as bytes (a worker cannot write into the client's work tree).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage.dvcio.remote_read import S3Location, remote_filesystem
from dslineage.store.parttask import PathCounter, Tally, TaskReads


@dataclass(frozen=True)
class Rewritten:
    """A rewritten part: its DVC md5, size and rows, and its bytes when they were not written to a path."""

    md5: str
    size: int
    rows: int
    data: bytes | None = None


_FS: dict[S3Location, tuple[Any, PathCounter]] = {}  # this process's counted filesystem per remote
_FS_LOCK = threading.Lock()


def _remote(loc: S3Location) -> tuple[Any, PathCounter]:
    """This process's counted s3fs filesystem for `loc` (made once: an S3 client costs far more
    than one part's reads)."""
    with _FS_LOCK:
        if loc not in _FS:
            counter = PathCounter()
            _FS[loc] = (remote_filesystem(loc, counter), counter)
        return _FS[loc]


def with_columns(full: Any, piece: Any) -> Any:
    """The part's table `full` with every column `piece` holds that the file has too replaced
    by the piece's, cast to the file's type (other columns, types and schema metadata kept)."""
    for name in piece.column_names:
        i = full.schema.get_field_index(name)
        if i >= 0:
            field = full.schema.field(i)
            full = full.set_column(i, field, piece.column(name).cast(field.type))
    return full


def _read(location: str, reads: Any, tally: Tally) -> tuple[Any, Any]:
    """(the part's table, its footer) read from a local path, a given fsspec filesystem or the remote."""
    import pyarrow.parquet as pq

    if reads is None:
        f = pq.ParquetFile(location)
        return f.read(), f.metadata
    fs = reads if tally.counter is None else _remote(reads)[0]
    with fs.open(location.split("://", 1)[1] if tally.counter is not None else location, "rb") as fh:
        f = pq.ParquetFile(fh)
        return f.read(), f.metadata


def _write(table: Any, meta: Any, dest: str | None) -> Rewritten:
    """Write `table` in the style of `meta` to `dest`, or into memory when `dest` is None."""
    from dslineage import dvcio
    from dslineage.store.labels import write_parquet

    if dest is not None:
        with dvcio.HashingFile(Path(dest)) as sink:
            write_parquet(table, sink, meta)
        return Rewritten(sink.md5(), Path(dest).stat().st_size, table.num_rows)
    import hashlib

    import pyarrow as pa

    out = pa.BufferOutputStream()
    write_parquet(table, out, meta)
    data = out.getvalue().to_pybytes()
    return Rewritten(hashlib.md5(data).hexdigest(), len(data), table.num_rows, data)


def rewrite_part(relpath: str, location: str, piece: Any, dest: str | None, reads: Any) -> tuple[Rewritten, TaskReads]:
    """One task: the part at `location` with `piece`'s columns spliced in, written to `dest` (or
    returned as bytes), and what it read from the remote. `reads` says how `location` is read:
    None (a local path), an fsspec filesystem, or the S3 remote's `S3Location`."""
    from dslineage.store.partdiff import task_error

    tally = Tally()
    if isinstance(reads, S3Location):
        counter = _remote(reads)[1]
        paths = [location.split("://", 1)[1]] if location.startswith("s3://") else []
        tally = Tally(counter, paths, counter.snapshot(paths))
    try:
        full, meta = _read(location, reads, tally)
        if full.num_rows != piece.num_rows:  # the part changed since the edit loaded it
            raise ValueError(f"{full.num_rows} rows, the edit expected {piece.num_rows}")
        return _write(with_columns(full, piece), meta, dest), tally.reads()
    except (OSError, ValueError) as exc:
        raise task_error(f"rewrite part {relpath}", [location], exc, tally, reads) from None
    finally:
        if tally.counter is not None:
            tally.counter.forget(tally.paths)
