"""Ingesting many journal files at once (a cold `reindex`, a `git pull` of many commits):
one statement per table for the records, and the change sets read in parallel.

What a bulk ingest costs is reading the change sets: one small parquet file per version,
and every page of a zstd-compressed file pays for a new decompression context (on a
virtual machine that context's CPUID instruction traps to the hypervisor: ~3x the cost
of reading the same file uncompressed). DuckDB's own threads over many small files add
CPU without saving time, so small change sets are read by `BULK_WORKERS` single-threaded
DuckDB cursors in parallel threads (DuckDB releases the GIL), while the main thread
inserts the chunks already read. Large change sets stream in one statement each.
Mixed into `store.ingest.JournalSync`, which owns the one-by-one path and the transaction.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dslineage import journal
from dslineage.store.rows import q

BULK_WORKERS = 4  # parallel readers of small change sets (at most the CPU count)
BULK_CHUNK_FILES = 400  # small change sets per read (DuckDB holds each one's metadata until the end)
BULK_CHUNK_BYTES = 16 << 20  # ... and at most this many bytes of them (their rows are held as Arrow)
BULK_BIG_FILE = 4 << 20  # a change set this large streams into its table in a statement of its own
READ_ONE = "read_parquet(?, hive_partitioning = false)"
_READ_MANY = (
    "read_parquet(from_json(?, '[\"VARCHAR\"]'), union_by_name = true, filename = true, hive_partitioning = false)"
)


def changes_table(dataset: str) -> str:
    """The quoted name of a dataset's row-change table."""
    return q(f"changes/{dataset}")


def read_records(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """Parse journal records: with orjson where it accepts the file (the same dict `json`
    returns), else with `journal.read` (the same result, or its one-line damaged error)."""
    import orjson

    records = []
    base = str(folder)
    for name in names:
        try:
            with open(os.path.join(base, name), "rb") as fh:
                data = orjson.loads(fh.read())
        except (OSError, ValueError):
            data = None
        records.append(data if isinstance(data, dict) else journal.read(folder / name))
    return records


def change_set_name(rec: dict[str, Any]) -> str | None:
    """The change-set file a version record names, if it is a plain name in the journal folder."""
    file = (rec.get("changes") or {}).get("file")
    if not file or not isinstance(file, str) or "/" in file or "\\" in file or file.startswith("."):
        return None  # none, or not a plain file name in the journal folder (fsck reports it)
    return file


class BulkSync:
    """The bulk half of `JournalSync` (its state and helpers are set and defined there)."""

    root: Path
    _touched: set[str]

    @property
    def con(self) -> Any:
        """The DuckDB connection (`Index.con`)."""
        raise NotImplementedError

    def _has_table(self, name: str) -> bool:
        raise NotImplementedError

    def _widen(self, dataset: str, source: str, params: list[Any]) -> None:
        raise NotImplementedError

    def _insert_bulk(
        self,
        rows: dict[str, list[list[Any]]],
        changes: dict[str, list[tuple[str, Any, Any]]],
        sizes: dict[str, int | None],
    ) -> None:
        """Insert the rows of many records (computed by `ingest._rows`) and append the change sets
        `changes` names (dataset → (file, version id, seq), journal order; `sizes`: file → bytes)
        to the change tables."""
        import pyarrow as pa

        con, folder = self.con, journal.folder(self.root)
        con.execute("SET enable_external_file_cache = false")  # it would keep every file read
        sources: list[tuple[str, str, Any, Any]] = []  # (dataset, path, version, seq) to insert
        for dataset, named in changes.items():
            self._touched.add(dataset)
            if not self._has_table(f"changes/{dataset}"):
                first, vid, seq = named.pop(0)  # the table takes the first change set's types
                con.execute(
                    f"CREATE TABLE {changes_table(dataset)} AS SELECT ? AS version, ? AS seq, * FROM {READ_ONE}",
                    [vid, seq, str(folder / first)],
                )
            sources += [(dataset, str(folder / f), vid, seq) for f, vid, seq in named]
        size = {str(folder / f): n or 0 for f, n in sizes.items()}
        # each file's rows get its version's id and seq (a file two versions name, twice). JSON
        # text and an Arrow table, not list parameters: the client probes each list element
        columns: list[Any] = list(zip(*sources, strict=True)) or [(), (), (), ()]
        con.register(
            "_bulk_sources",
            pa.table(
                {
                    "dataset": pa.array(columns[0], pa.string()),
                    "file": pa.array(columns[1], pa.string()),
                    "version": pa.array(columns[2]),
                    "seq": pa.array(columns[3]),
                }
            ),
        )
        order = list(dict.fromkeys((d, path) for d, path, _, _ in sources))  # first named first
        chunks = _chunks([(d, path, size[path]) for d, path in order])
        with _Reader(con, [paths for _, paths, big in chunks if not big]) as reader:
            self._insert_tables(rows)  # while the first chunks are read
            parts = iter(reader)
            for dataset, paths, big in chunks:  # in journal order: new columns are added in it
                if big:  # a large change set streams into the table in a statement of its own
                    self._widen(dataset, _READ_MANY, [json.dumps(paths)])
                    con.execute(_insert_sql(dataset, _READ_MANY), [json.dumps(paths), dataset])
                    continue
                con.register("_bulk_part", next(parts))
                self._widen(dataset, "_bulk_part", [])
                con.execute(_insert_sql(dataset, "_bulk_part"), [dataset])
                con.unregister("_bulk_part")
        con.unregister("_bulk_sources")

    def _insert_tables(self, rows: dict[str, list[list[Any]]]) -> None:
        """Insert each table's rows in one statement from Arrow."""
        import pyarrow as pa

        con = self.con
        for table, schema in _bulk_schemas().items():
            if not rows[table]:
                continue
            columns = list(zip(*rows[table], strict=True))
            # strict conversion: a value of another type (DuckDB would cast it) is a _BulkFailed
            arrow = pa.table(
                [pa.array(c, type=t) for c, t in zip(columns, schema, strict=True)],
                names=[f"c{i}" for i in range(len(schema))],
            )
            con.register("_bulk_rows", arrow)
            con.execute(f"INSERT INTO {table} SELECT * FROM _bulk_rows")
            con.unregister("_bulk_rows")

    def _bulk_cleanup(self) -> None:
        """Undo what the bulk path set on the connection (after a failure: once rolled back)."""
        con = self.con
        for setting in ("enable_external_file_cache", "threads", "arrow_lossless_conversion"):
            con.execute(f"RESET {setting}")
        for view in ("_bulk_rows", "_bulk_sources", "_bulk_part"):
            with contextlib.suppress(Exception):  # not registered (any more)
                con.unregister(view)


def _insert_sql(dataset: str, source: str) -> str:
    """Append the rows of `source` (change sets with `filename`) to a dataset's change table
    (BY NAME casts to the table's types, as the one-by-one path does)."""
    return (
        f"INSERT INTO {changes_table(dataset)} BY NAME SELECT m.version, m.seq, p.* EXCLUDE (filename) "
        "FROM {} p JOIN _bulk_sources m ON p.filename = m.file AND m.dataset = ?".replace("{}", source)
    )


def size_of(folder: Path, name: str) -> int | None:
    """The size of a file in the journal folder, None if it does not exist (`Path.exists()`)."""
    try:
        return os.stat(os.path.join(folder, name)).st_size
    except (OSError, ValueError):
        return None


def _chunks(files: list[tuple[str, str, int]]) -> list[tuple[str, list[str], bool]]:
    """(dataset, path, size), in order, grouped into reads: (dataset, paths, big) where a big one
    is a single file of at least BULK_BIG_FILE bytes, the others one dataset's files, at most
    BULK_CHUNK_FILES of them and BULK_CHUNK_BYTES bytes."""
    chunks: list[tuple[str, list[str], bool]] = []
    size = 0
    for dataset, path, n in files:
        if n >= BULK_BIG_FILE:
            chunks.append((dataset, [path], True))
            continue
        last = chunks[-1] if chunks else None
        if (
            last is None
            or last[2]
            or last[0] != dataset
            or len(last[1]) >= BULK_CHUNK_FILES
            or size + n > BULK_CHUNK_BYTES
        ):
            chunks.append((dataset, [], False))
            size = 0
        chunks[-1][1].append(path)
        size += n
    return chunks


class _Reader:
    """Reads chunks of change sets as Arrow tables (with `filename`), from construction on, by
    up to BULK_WORKERS single-threaded DuckDB cursors in threads, a few chunks ahead of the
    consumer; iterating yields them in order. A context manager: leaving it stops the reads."""

    def __init__(self, con: Any, chunks: list[list[str]]) -> None:
        import queue
        from concurrent.futures import ThreadPoolExecutor

        self.con, self.chunks = con, chunks
        self.workers = max(1, min(BULK_WORKERS, os.cpu_count() or 1, len(chunks)))
        self.ahead = 2 * self.workers  # chunks read ahead of the consumer (their rows are held in memory)
        self.pending: collections.deque[Any] = collections.deque()
        self.cursors: list[Any] = []
        self.free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dslineage-ingest") if chunks else None
        if self.pool is None:
            return
        # one thread per query (DuckDB's threads over many small files cost CPU, save no time);
        # Arrow export as the parquet reader's own DuckDB types
        con.execute("SET threads = 1")
        con.execute("SET arrow_lossless_conversion = true")
        for _ in range(self.workers):
            cur = con.cursor()
            cur.execute("SET enable_external_file_cache = false")
            self.cursors.append(cur)
            self.free.put(cur)
        for chunk in chunks[: self.ahead]:
            self.pending.append(self.pool.submit(self._read, chunk))

    def _read(self, chunk: list[str]) -> Any:
        cur = self.free.get()
        try:
            return cur.execute(f"SELECT * FROM {_READ_MANY}", [json.dumps(chunk)]).to_arrow_table()
        finally:
            self.free.put(cur)

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self.chunks)):
            part = self.pending.popleft().result()
            if self.pool is not None and i + self.ahead < len(self.chunks):
                self.pending.append(self.pool.submit(self._read, self.chunks[i + self.ahead]))
            yield part

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is None:
            return
        for fut in self.pending:
            fut.cancel()
        self.pool.shutdown(wait=True)
        for cur in self.cursors:
            cur.close()
        with contextlib.suppress(Exception):  # a failed insert aborted the transaction: reset later
            for setting in ("threads", "arrow_lossless_conversion"):
                self.con.execute(f"RESET {setting}")


def _bulk_schemas() -> dict[str, list[Any]]:
    """The Arrow type of each column of the tables `ingest._rows` fills, in the tables' order."""
    import pyarrow as pa

    text, big = pa.string(), pa.int64()
    return {
        "journal_files": [text] * 4,
        "versions": [
            text,
            text,
            pa.int32(),
            text,
            text,
            pa.list_(text),
            text,
            text,
            text,
            text,
            big,
            text,
            text,
            big,
            big,
            big,
            big,
            pa.bool_(),
            text,
            text,
            text,
            text,
        ],
        "tags": [text] * 5,
        "records": [text] * 6,
    }
