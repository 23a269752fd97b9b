"""Which rows of two parquet files sorted by one integer key may differ, found without a join.

A commit diffs the new file against its parent by a FULL OUTER JOIN on the keys (`rowdiff`), and
at 5M rows that join costs more CPU than `dvc add` and `git commit` together (and holds the
parent's rows in a hash table). When both files hold their rows in strictly increasing order of
a single integer key (what `relabel` keeps and what a sorted export writes), the rows pair up by
a merge instead: both files are read one row group at a time and every compared column of each
pair of rows is compared on its raw values in numpy (strings by their dictionary codes).

The answer is the rows whose key may have changed: a key on one side only, or a pair whose values
differ in any compared column by bit pattern or validity. Equal bits are equal values in DuckDB,
so they hold every changed key; they may hold a few more (NaNs with different payloads, -0.0
against 0.0), which the exact join over those rows alone (`rowdiff.build_changes`) then drops.
None means the shortcut does not apply and the caller joins the whole files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# DuckDB types whose parquet values pyarrow reads as the same values, compared here by bit pattern
# (fixed-width numbers, bit-packed booleans, UTF-8 strings by dictionary code)
_KEYS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_COMPARABLE = _KEYS | {"FLOAT", "DOUBLE", "DATE", "BOOLEAN", "VARCHAR"}
_UNITS = {
    "bytes": 1,
    "KiB": 1 << 10,
    "MiB": 1 << 20,
    "GiB": 1 << 30,
    "TiB": 1 << 40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}


def _local_parquet(sql: str, params: tuple[Any, ...] | list[Any]) -> Path | None:
    if sql != "read_parquet(?)" or len(params) != 1 or not isinstance(params[0], str | Path):
        return None  # a list of files (a directory's parts) keeps the full join
    if "://" in str(params[0]):
        return None
    path = Path(str(params[0]))
    return path if path.is_file() else None


def _memory_limit(con: Any) -> int | None:
    text = str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0]).strip()
    m = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", text)
    if not m or m.group(2) not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2)])


# below this many rows DuckDB's hash join of the whole files is the quicker path: at 1M rows it beat
# the merge by 0.05-0.08 s (a diff, a commit), at 5M the merge won by 0.1-0.15 s and ~0.4 CPU seconds
MIN_ROWS = 2_000_000


def _rows(con: Any, path: Path) -> int:
    """A parquet file's rows, from its footer."""
    return int(con.execute("SELECT num_rows FROM parquet_file_metadata(?)", [str(path)]).fetchone()[0])


def _biggest_row_group(path: Path) -> int:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    return max((meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)), default=0)


def applies(
    con: Any,
    a: Any,
    b: Any,
    keys: list[str],
    compared: list[str],
    retyped: list[str],
    types_a: dict[str, str],
    types_b: dict[str, str],
) -> tuple[Path, Path] | None:
    """The two local parquet files when the shortcut may apply to sources A → B (the same columns
    and types, each comparable, one integer key; at least `MIN_ROWS` rows each; a few row groups
    fit DuckDB's memory limit), else None. Whether the keys are sorted shows only while they are
    read (`changed_rows`)."""
    pa_, pb_ = _local_parquet(a.sql, a.params), _local_parquet(b.sql, b.params)
    if pa_ is None or pb_ is None or len(keys) != 1 or retyped or types_a != types_b:
        return None
    if types_a.get(keys[0]) not in _KEYS or any(types_a[c] not in _COMPARABLE for c in compared):
        return None
    if _rows(con, pa_) < MIN_ROWS or _rows(con, pb_) < MIN_ROWS:  # (read by DuckDB: no pyarrow import)
        return None
    limit = _memory_limit(con)
    if limit is not None and 4 * max(_biggest_row_group(pa_), _biggest_row_group(pb_)) > limit // 2:
        return None
    return pa_, pb_


def _keys(table: Any, key: str, after: Any) -> Any:
    """The key column of a block as numpy, or None when it has nulls or its keys do not strictly
    increase (within the block and after the previous block's last key `after`)."""
    import numpy as np

    col = table.column(key).combine_chunks()
    if col.null_count:
        return None
    keys = np.asarray(col.to_numpy(zero_copy_only=False))
    if keys.dtype.kind not in "iu" or (len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1]))):
        return None
    if len(keys) and after is not None and not keys[0] > after:
        return None
    return keys


def _bits(arr: Any) -> Any:
    """The values of an Arrow array as numpy: bit patterns of fixed-width values, booleans as
    booleans (what lies under a null is arbitrary: `_differs` masks it)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_boolean(t):
        return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False))
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_date(t):
        width = t.bit_width // 8
        data = np.frombuffer(arr.buffers()[1], dtype=f"u{width}", count=len(arr) + arr.offset)
        return data[arr.offset :]
    raise TypeError(f"no bitwise comparison for {t}")


def _codes(x: Any, y: Any) -> tuple[Any, Any, Any, Any]:
    """Two columns as numpy (values, validity): dictionary-encoded strings as codes into one
    dictionary both share (equal codes: equal strings), other types as `_bits`."""
    import numpy as np
    import pyarrow as pa

    if pa.types.is_dictionary(x.type) and pa.types.is_dictionary(y.type):
        both = pa.chunked_array(x.chunks + y.chunks).unify_dictionaries().chunks
        n = x.num_chunks
        x, y = (pa.chunked_array(part).combine_chunks().indices for part in (both[:n], both[n:]))
    else:
        x, y = x.combine_chunks(), y.combine_chunks()
        if pa.types.is_dictionary(x.type) or pa.types.is_dictionary(y.type) or x.type != y.type:
            raise TypeError(f"cannot compare {x.type} with {y.type}")
    vx = np.asarray(x.is_valid().to_numpy(zero_copy_only=False)) if x.null_count else None
    vy = np.asarray(y.is_valid().to_numpy(zero_copy_only=False)) if y.null_count else None
    return _bits(x), _bits(y), vx, vy


def _differs(x: Any, y: Any, in_b: Any, in_a: Any) -> Any:
    """Per pair of rows (the rows of x at positions `in_b`, in order, against the rows of y at
    positions `in_a`): whether two Arrow columns' values differ by bits or by validity."""
    import numpy as np

    xv, yv, vx, vy = _codes(x, y)
    out = xv.take(in_b) != yv.take(in_a)
    if vx is None and vy is None:
        return out
    va = vx.take(in_b) if vx is not None else np.ones(len(out), dtype=bool)
    vb = vy.take(in_a) if vy is not None else np.ones(len(out), dtype=bool)
    return (va != vb) | (va & vb & out)


def _pairs(a: Any, b: Any) -> tuple[Any, Any]:
    """Which values of `a` are in `b` and which of `b` are in `a`, both strictly increasing: one
    binary search of `a` in `b` answers both (np.isin sorts both again)."""
    import numpy as np

    in_a = np.zeros(len(b), dtype=bool)
    if not len(b):
        return np.zeros(len(a), dtype=bool), in_a
    pos = np.minimum(np.searchsorted(b, a), len(b) - 1)
    in_b = np.asarray(b[pos] == a)
    in_a[pos[in_b]] = True
    return in_b, in_a


class _Stream:
    """A parquet file read one row group at a time (only the columns compared), the next row group
    decoded on a thread of its own meanwhile (pyarrow releases the GIL: the two files and the
    comparison share both cores)."""

    def __init__(self, path: Path, columns: list[str], strings: list[str]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path, read_dictionary=strings)
        self.columns, self.next = columns, 0
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="dslineage-rowalign")
        self.ahead = self._fetch()

    def _fetch(self) -> Any:
        if self.next >= self.file.num_row_groups:
            return None
        i, self.next = self.next, self.next + 1
        return self.pool.submit(self.file.read_row_group, i, columns=self.columns, use_threads=False)

    def read(self) -> Any:
        """The next row group as an Arrow table, None after the last."""
        if self.ahead is None:
            return None
        table = self.ahead.result()
        self.ahead = self._fetch()
        if table.column_names != self.columns:  # a name pyarrow resolves differently from DuckDB
            raise LookupError(", ".join(self.columns))
        return table

    def close(self) -> None:
        """Stop reading ahead."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _plain(tables: list[Any], like: Any) -> Any:
    """The rows kept, as one table with strings decoded (the types DuckDB reads from parquet)."""
    import pyarrow as pa

    if not tables:
        return like.schema.empty_table()
    table = pa.concat_tables(tables)
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def changed_rows(files: tuple[Path, Path], key: str, columns: dict[str, str]) -> tuple[Any, Any] | None:
    """The rows of A and of B whose keys may differ (a superset of the changed keys; see the
    module docstring), as two Arrow tables of the key and `columns` (the compared columns and their
    DuckDB types), or None when a key column is not strictly increasing.

    A streaming merge: each row group of A against the rows of B up to A's last key, so memory
    holds about two row groups (fresh memory is dear: page faults cost more than comparing)."""
    names = [key, *columns]
    strings = [c for c, t in columns.items() if t == "VARCHAR"]
    sa, sb = _Stream(files[0], names, strings), _Stream(files[1], names, strings)
    try:
        return _merge(sa, sb, key, columns)
    finally:
        sa.close()
        sb.close()


def _merge(sa: _Stream, sb: _Stream, key: str, columns: dict[str, str]) -> tuple[Any, Any] | None:
    """The body of `changed_rows` over its two open streams."""
    import numpy as np
    import pyarrow as pa

    out_a: list[Any] = []
    out_b: list[Any] = []
    held: Any = None  # rows of B not yet settled, and their keys
    held_keys: Any = np.zeros(0, dtype=np.int64)
    last_a = last_b = None
    while (ta := sa.read()) is not None:
        ka = _keys(ta, key, last_a)
        if ka is None:
            return None
        if not len(ka):
            continue
        last_a = ka[-1]
        while (held is None or not len(held_keys) or held_keys[-1] < last_a) and (tb := sb.read()) is not None:
            kb = _keys(tb, key, last_b)
            if kb is None:
                return None
            if len(kb):
                last_b = kb[-1]
                held = tb if held is None else pa.concat_tables([held, tb])
                held_keys = np.concatenate([held_keys, kb]) if len(held_keys) else kb
        settled = int(np.searchsorted(held_keys, last_a, side="right"))
        in_b, in_a = _pairs(ka, held_keys[:settled])  # sorted: pairs in order
        keep_a, keep_b = ~in_b, ~in_a
        if settled and in_b.any():
            block = held.slice(0, settled)
            at_a, at_b = np.flatnonzero(in_b), np.flatnonzero(in_a)  # the paired rows' positions, once
            changed = np.zeros(len(at_a), dtype=bool)
            for name in columns:
                changed |= _differs(ta.column(name), block.column(name), at_a, at_b)
            keep_a[at_a[changed]] = True
            keep_b[at_b[changed]] = True
        out_a.append(ta.filter(pa.array(keep_a)))
        if settled:
            out_b.append(held.slice(0, settled).filter(pa.array(keep_b)))
            held, held_keys = held.slice(settled), held_keys[settled:]
    if held is not None:
        out_b.append(held)
    while (tb := sb.read()) is not None:  # rows of B after A's last key
        kb = _keys(tb, key, last_b)
        if kb is None:
            return None
        if len(kb):
            last_b = kb[-1]
        out_b.append(tb)
    empty = sa.file.schema_arrow.empty_table().select([key, *columns])
    return _plain(out_a, empty), _plain(out_b, empty)
