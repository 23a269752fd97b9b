"""Directory datasets: a directory of parquet files (its parts), hive-style `col=value/`
folders read as VARCHAR columns, snapshotted by DVC as one directory output whose `.dir`
manifest lists each part's relative path and md5.

A version's parts come from its manifest in the DVC cache (`parts_of`); the working
directory's parts from `scan`. Both become one DuckDB `Source` (`source`) whose rows are
the parts' rows in manifest order with the partition columns appended, so every row-level
command reads a directory exactly as it reads a file. `manifest_md5` is the md5 DVC gives
the manifest (its `.dir` object), computed from the parts' md5s without DVC.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dslineage import dvcio
from dslineage.errors import FormatError, MissingDataError, PathError, SchemaError
from dslineage.store.rows import Source, q

PARQUET = (".parquet", ".pq")


@dataclass(frozen=True)
class Part:
    """One file of a directory dataset: its path inside the directory, md5 and size."""

    relpath: str
    md5: str
    size: int


def is_dir_md5(md5: str | None) -> bool:
    """Whether an md5 names a DVC directory object (a `.dir` manifest)."""
    return bool(md5) and str(md5).endswith(".dir")


def parts_of(repo_root: Path, dir_md5: str) -> list[Part]:
    """The parts a `.dir` manifest in the DVC cache lists, in manifest (relpath) order (a
    size is 0 when neither the manifest nor the local cache knows it)."""
    obj = dvcio.cache_path(repo_root, dir_md5)
    try:
        data = obj.read_bytes()
    except FileNotFoundError:
        raise MissingDataError(
            f"the DVC directory manifest {dir_md5} is missing from the cache: run `dvc pull` or "
            "`dslineage pull` where it exists"
        ) from None
    return parse_manifest(repo_root, dir_md5, data)


def parse_manifest(repo_root: Path, dir_md5: str, data: bytes) -> list[Part]:
    """The parts listed by the bytes of the `.dir` manifest `dir_md5` (read from the cache or
    a remote); sizes DVC leaves out come from the local cache objects, else 0."""
    try:
        entries = json.loads(data)
        found = [
            Part(str(e["relpath"]), str(e["md5"]), int(e.get("size") or _size(repo_root, str(e["md5"]))))
            for e in entries
        ]
    except (ValueError, TypeError, KeyError):
        raise MissingDataError(f"the DVC directory manifest {dir_md5} is damaged: run `dslineage fsck`") from None
    for p in found:  # a cloned repository may carry a forged manifest: its paths stay inside the directory
        if not _inside(p.relpath):
            raise MissingDataError(
                f"the DVC directory manifest {dir_md5} names {p.relpath[:80]!r}, a path outside its directory: "
                "the manifest is damaged or forged; run `dslineage fsck`"
            )
    return found


def _inside(relpath: str) -> bool:
    """Whether a manifest's relpath stays inside its directory (relative, no `..`, no `\\`)."""
    segments = relpath.split("/")
    return bool(relpath) and "\\" not in relpath and all(seg not in ("", ".", "..") for seg in segments)


def _size(repo_root: Path, md5: str) -> int:
    """A part's size from its cache object (DVC's manifest leaves sizes out); 0 when absent."""
    try:
        return dvcio.cache_path(repo_root, md5).stat().st_size
    except FileNotFoundError:
        return 0


def manifest_md5(parts: list[Part]) -> str:
    """The md5 DVC 3 gives a directory with these parts (`dvc_data` `Tree.digest`: the md5
    of the JSON list of {md5, relpath} sorted by relpath), with its `.dir` suffix."""
    import hashlib

    entries = sorted(({"md5": p.md5, "relpath": p.relpath} for p in parts), key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


def hive_values(relpath: str) -> dict[str, str]:
    """The `col=value` folders of a part's path, as {column: value} (outermost first)."""
    out: dict[str, str] = {}
    for seg in relpath.split("/")[:-1]:
        col, eq, value = seg.partition("=")
        if eq and col:
            out[col] = value
    return out


def hive_columns(relpaths: list[str]) -> list[str]:
    """The partition folders' columns of these parts, in order of first appearance."""
    found: list[str] = []
    for relpath in relpaths:
        found += [c for c in hive_values(relpath) if c not in found]
    return found


def scan(repo_root: Path, rel: str) -> list[tuple[str, Path]]:
    """The working directory's parts as (relpath, path), sorted by relpath; refuses (one
    line) an empty directory, a file that is not parquet and a link leading outside."""
    top = repo_root / rel
    found: list[tuple[str, Path]] = []
    root_real = repo_root.resolve()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for fname in filenames:
            path = Path(dirpath) / fname
            relpath = path.relative_to(top).as_posix()
            if path.is_symlink() and not path.resolve().is_relative_to(root_real):
                raise PathError(f"{rel}/{relpath} links outside the repository: replace the link with the file")
            if not fname.lower().endswith(PARQUET):
                raise FormatError(
                    f"{rel}/{relpath} is not a parquet file: a directory dataset holds only .parquet "
                    "files; move it out of the directory"
                )
            found.append((relpath, path))
    if not found:
        raise FormatError(f"{rel} holds no parquet files: add some, or track a file instead")
    found.sort(key=lambda item: item[0])
    return found


def working_parts(repo_root: Path, rel: str, md5_of: Callable[[str, Path], str | None]) -> list[Part] | None:
    """The working directory `rel`'s parts with their md5s (`md5_of(path in the repository,
    file)`: cached by stat in the index), None when it is missing or an md5 is unknown."""
    if not (repo_root / rel).is_dir():
        return None
    out = []
    for relpath, path in scan(repo_root, rel):
        md5 = md5_of(f"{rel}/{relpath}", path)
        if md5 is None:
            return None
        out.append(Part(relpath, md5, path.stat().st_size))
    return out


def check_schemas(items: list[tuple[str, Path]], label: str) -> None:
    """Refuse parts whose schemas (column names and types) differ from the first part's,
    naming the first differing file (footers only are read)."""
    first: Any = None
    for relpath, path in items:
        sch = _schema(relpath, path, label)
        if first is None:
            first = (relpath, sch)
        elif not sch.equals(first[1]):
            raise SchemaError(
                f"{label}/{relpath} has another schema than {label}/{first[0]} "
                f"({_schema_text(sch)} vs {_schema_text(first[1])}): rewrite it with the same columns and types"
            )
        clash = [c for c in hive_values(relpath) if c in sch.names]
        if clash:
            raise SchemaError(
                f"{label}/{relpath} has a column {clash[0]!r} that its partition folder also names: "
                "drop the column from the file or rename the folder"
            )


_SCHEMAS: dict[tuple[str, str], Any] = {}  # (path, stat signature) -> schema: a command checks its directory twice


def _schema(relpath: str, path: Path, label: str) -> Any:
    """A part's schema without its metadata (its footer read once per process while its stat holds)."""
    import pyarrow.parquet as pq

    st = path.stat()
    key = (str(path), f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
    if key not in _SCHEMAS:
        try:
            _SCHEMAS[key] = pq.read_schema(path).remove_metadata()
        except Exception as exc:  # pyarrow raises its own types
            raise FormatError(
                f"cannot read {label}/{relpath}: {str(exc).splitlines()[0][:200]} — is it parquet?"
            ) from None
    return _SCHEMAS[key]


def _schema_text(sch: Any) -> str:
    return ", ".join(f"{f.name} {f.type}" for f in sch)[:200]


def source(items: list[tuple[str, Path]] | list[tuple[str, Path | str]], label: str) -> Source:
    """A DuckDB source over parts (relpath, local path or s3:// URL): their rows in this order, with one
    VARCHAR column per hive partition folder (`col=value/`) appended.

    With partition folders it is a UNION ALL of one scan per part, each adding its folders'
    values as constants (a CASE on each row's file name was 6x slower to join)."""
    paths = [str(p) for _, p in items]
    hive = hive_columns([relpath for relpath, _ in items])
    if not hive:
        return Source("read_parquet(?, hive_partitioning = false)", (paths,), label)
    scans, params = [], []
    for relpath, path in items:
        values = hive_values(relpath)
        cols = ", ".join(f"CAST(? AS VARCHAR) AS {q(c)}" for c in hive)
        scans.append(f"SELECT *, {cols} FROM read_parquet(?, hive_partitioning = false)")
        params += [*(values.get(c) for c in hive), str(path)]
    return Source(f"({' UNION ALL '.join(scans)})", tuple(params), label)


def working_source(repo_root: Path, rel: str) -> Source:
    """A DuckDB source over the working directory `rel`'s parts, after checking them (see
    `scan` and `check_schemas`)."""
    items = scan(repo_root, rel)
    check_schemas(items, rel)
    return source(items, rel)


def empty_source(types: dict[str, str], label: str) -> Source:
    """A source with these columns (name -> DuckDB type) and no rows: the side of a change
    that has no part (every part new, or every part deleted)."""
    from dslineage.store.labels import sql_type

    cols = ", ".join(f"CAST(NULL AS {sql_type(c, t)}) AS {q(c)}" for c, t in types.items())
    return Source(f"(SELECT {cols} LIMIT 0)", (), label)


def build_changes_changed(
    con: Any,
    pairs: list[tuple[str, str | None, str | None]],
    p: Any,
    cols_a: dict[str, str],
    cols_b: dict[str, str],
    *,
    table: str = "_chg",
    digests: bool = False,
) -> None:
    """The `_chg` table of `rowdiff.build_changes` for a directory dataset, computed from its
    CHANGED parts only: `pairs` lists (relpath, old location | None, new location | None) of
    every part whose md5 differs. Unchanged parts hold identical rows on both sides, so the
    union of the old changed parts against the union of the new ones gives exactly the
    whole-dataset change set (a row that moved between partitions is in both unions).

    Same arguments as `store.partdiff.build_changes_parts` (less `engine`), which
    `ops.dirs.diff_changed_parts` calls instead when an engine is chosen (`--scheduler`)."""
    from dslineage.store import rowdiff

    old = [(rel, Path(a)) for rel, a, _ in pairs if a is not None]
    new = [(rel, Path(b)) for rel, _, b in pairs if b is not None]
    src_a = source(old, "the changed parts before") if old else empty_source(cols_a, "no part before")
    src_b = source(new, "the changed parts after") if new else empty_source(cols_b, "no part after")
    rowdiff.build_changes(con, src_a, src_b, p, cols_a, cols_b, table, digests=digests)


def row_count(paths: list[Path]) -> int:
    """The rows of these parquet files, from their footers (no data page read)."""
    import pyarrow.parquet as pq

    total = 0
    for path in paths:
        st = path.stat()
        key = (str(path), f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
        if key not in _ROWS:
            _ROWS[key] = pq.ParquetFile(path).metadata.num_rows
        total += _ROWS[key]
    return total


_ROWS: dict[tuple[str, str], int] = {}  # (path, stat signature) -> rows: footers read once per process


def keys_clash(con: Any, unchanged: list[tuple[str, Path]], keys: list[str], table: str = "_chg") -> bool:
    """Whether any key the change set adds also occurs in the unchanged parts (so keys would
    repeat across partitions); reads the key columns only, pruned by the added keys' range."""
    if not unchanged:
        return False
    src = source(unchanged, "unchanged parts")
    k0 = q(keys[0])
    lo, hi = con.execute(f"SELECT min(k0), max(k0) FROM {q(table)} WHERE change = 'added'").fetchone()
    if lo is None:
        return False
    on = " AND ".join(f"u.{q(k)} = c.k{i}" for i, k in enumerate(keys))
    sel = ", ".join(q(k) for k in keys)
    hit = con.execute(
        f"SELECT count(*) FROM (SELECT {sel} FROM {src.sql} WHERE {k0} BETWEEN ? AND ?) AS u "
        f"SEMI JOIN (SELECT * FROM {q(table)} WHERE change = 'added') AS c ON {on}",
        [*src.params, lo, hi],
    ).fetchone()[0]
    return bool(hit)


@dataclass(frozen=True)
class Span:
    """Where one part's rows sit in a loaded directory table, and the part's own schema."""

    relpath: str
    path: Path
    start: int
    rows: int
    schema: Any  # pyarrow Schema of the file (with its metadata)


def load(items: list[tuple[str, Path]], columns: list[str] | None = None) -> tuple[Any, list[Span]]:
    """Every part's rows in order as one pyarrow Table (partition columns appended, as in
    `source`; only `columns` of them when given, e.g. keys and labels), and each part's span
    in it: for label edits, which rewrite only the parts whose spans hold edited rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    hive = [c for c in hive_columns([relpath for relpath, _ in items]) if columns is None or c in columns]
    tables, spans, start = [], [], 0
    for relpath, path in items:
        f = pq.ParquetFile(path)
        schema = f.schema_arrow
        t = f.read(columns=[c for c in schema.names if columns is None or c in columns])
        spans.append(Span(relpath, path, start, t.num_rows, schema))
        values = hive_values(relpath)
        for col in hive:
            t = t.append_column(col, pa.repeat(pa.scalar(values.get(col), pa.string()), t.num_rows))
        tables.append(t.replace_schema_metadata(None))
        start += t.num_rows
    return pa.concat_tables(tables), spans


def empty(item: tuple[str, Path], columns: list[str]) -> Any:
    """A table with the columns `load(items, columns)` gives (those of the part `item`, its partition
    columns appended as text) and no rows, from the part's footer only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(item[1]).remove_metadata()
    fields = [f for f in schema if f.name in columns]
    fields += [pa.field(c, pa.string()) for c in hive_values(item[0]) if c in columns and c not in schema.names]
    return pa.schema(fields).empty_table()


def spans_holding(spans: list[Span], positions: Any) -> list[Span]:
    """The spans that hold any of these row positions (a sorted-or-not integer array)."""
    import numpy as np

    starts = np.array([s.start for s in spans], dtype=np.int64)
    hit = np.unique(np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1)
    return [spans[i] for i in hit if spans[i].rows]
